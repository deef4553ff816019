// SPDX-License-Identifier: MIT
// Which configuration file is used (gsendmail.conf(5)): -C, $GSENDMAIL_CONFIG, the user's
// XDG file, then /etc/gsendmail/config.toml. Also where that choice puts the
// queue and the token cache, and reading the aliases file it names.

import GSendmailCore

#if canImport(Glibc)
  import Glibc
#endif

/// Finds and loads the configuration.
public enum ConfigLocator {
  /// The system-wide configuration file.
  public static let systemPath = "/etc/gsendmail/config.toml"

  /// The places searched, in order, for this invocation.
  public static func candidates(configFile: String?, environment env: Environment) -> [(path: String, explicit: Bool)] {
    if let file = configFile { return [(file, true)] }
    var list: [(String, Bool)] = []
    if let file = env.nonEmpty("GSENDMAIL_CONFIG") { list.append((file, true)) }
    list.append((env.configHome + "/gsendmail/config.toml", false))
    list.append((systemPath, false))
    return list
  }

  /// Loads the first configuration file that exists.
  /// - Throws: `ConfigError` for a missing or invalid file, or a secret file others can read.
  public static func load(configFile: String?, environment env: Environment) throws(ConfigError) -> Configuration {
    let places = candidates(configFile: configFile, environment: env)
    for (path, explicit) in places {
      let isSystem = path == systemPath
      // Under setgid (gsendmail.conf(5)) only the system file is looked at with the gsendmail group;
      // the caller's own files are looked at with the caller's rights, and once one of
      // them is chosen the group is given up for good, so that nothing done for a
      // per-user configuration (its password_command, its queue) can use it.
      guard Files.exists(path, asCaller: !isSystem) else {
        if explicit { throw .unreadable(path: path, reason: "no such file") }
        continue
      }
      if !isSystem { Files.dropSetgidGroup() }
      let bytes: [UInt8]
      do {
        bytes = try Files.read(path)
      } catch {
        // The system file is root:gsendmail 0640: gsendmail reads it set-group-ID, but
        // gsendmailctl runs with the caller's own groups.
        if isSystem && error.errno == EACCES { throw .systemConfigDenied(path: path, reason: error.reason) }
        throw .unreadable(path: path, reason: error.reason)
      }
      let config = try ConfigParser.parse(utf8: bytes, path: path, home: env.home, isSystem: isSystem)
      if config.accounts.contains(where: { $0.clientSecret != nil }), let problem = Files.secretFileProblem(path) {
        throw problem
      }
      return config
    }
    throw .notFound(searched: places.map(\.path))
  }

  /// The queue directory for a configuration (gsendmail(8), "QUEUE" and "EXIT STATUS").
  public static func queueDirectory(for config: Configuration, environment env: Environment) -> String {
    config.isSystem ? "/var/spool/gsendmail" : env.stateHome + "/gsendmail/queue"
  }

  /// The token cache directory for a configuration (docs/design.md, "Token cache").
  public static func tokenDirectory(for config: Configuration, environment env: Environment) -> String {
    config.isSystem ? "/var/lib/gsendmail/tokens" : env.stateHome + "/gsendmail/tokens"
  }
}

// MARK: - The aliases file

// The aliases file named by a configuration, read with the caller's rights.

extension Configuration {
  /// Reads the aliases file named by the configuration (an empty table when none is set),
  /// with the caller's rights for a per-user configuration.
  /// - Throws: `ConfigError.unreadable`, `AliasError.syntax`.
  func loadAliases() throws -> AliasTable {
    guard let path = aliasesFile else { return AliasTable() }
    let text: String
    do {
      text = try Files.readText(path, asCaller: !isSystem)
    } catch {
      throw ConfigError.unreadable(path: path, reason: error.reason)
    }
    return try AliasTable(parsing: text, path: path)
  }
}
