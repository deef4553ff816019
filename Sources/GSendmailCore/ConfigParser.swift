// SPDX-License-Identifier: MIT
// Turns config.toml text into a validated Configuration (gsendmail.conf(5)). TOML syntax
// is TOMLCore's; everything after that — key names, types, ranges, the nearest
// valid key for a typo, line numbers for our own errors — is here. Accounts keep
// the order of the file. Pure: the caller reads the file.
// One file over 400 lines on purpose: every key is checked here, in the order of
// gsendmail.conf(5), so that one reading shows what the file may say.

import Codecs
import TOMLCore

/// Parses and validates the configuration file.
public enum ConfigParser {
  package static let topKeys = [
    "default", "aliases", "local_recipient", "max_message_size", "queue", "queue_lifetime", "failed_lifetime",
    "log", "timeout", "delivery", "trusted_users", "account",
  ]
  package static let accountKeys = [
    "from", "name", "route", "auth", "host", "port", "tls", "tls_ca_file", "helo", "mechanism",
    "client_secret_file", "client_id", "client_secret", "auth_url", "token_url", "revoke_url", "api_url",
    "service_account_file", "user", "password_file", "password_command",
    "max_messages_per_day", "max_recipients_per_day", "max_messages_per_minute", "allowed_senders",
  ]
  /// Every key, for the man page test.
  public static var allKeys: [String] { topKeys.filter { $0 != "account" } + accountKeys }

  /// Parses a configuration file's bytes, which must be UTF-8 (TOML's encoding): a byte
  /// that is not is reported where it is, never replaced.
  public static func parse(
    utf8 bytes: [UInt8], path: String, home: String, isSystem: Bool = false
  ) throws(ConfigError) -> Configuration {
    guard let text = String(validating: bytes, as: UTF8.self) else {
      do throws(TOMLError) {
        _ = try TOML.parse(utf8: bytes)
      } catch {
        throw .syntax(path: path, line: error.line, column: error.column, message: error.message)
      }
      throw .syntax(path: path, line: 1, column: 1, message: "invalid UTF-8")
    }
    return try parse(text, path: path, home: home, isSystem: isSystem)
  }

  /// Parses configuration text.
  /// - Parameters:
  ///   - text: The file's content.
  ///   - path: The file's path, for messages and for resolving relative paths.
  ///   - home: The home directory, for `~/` in paths.
  ///   - isSystem: Whether this is the system-wide file.
  /// - Throws: `ConfigError`.
  public static func parse(
    _ text: String, path: String, home: String, isSystem: Bool = false
  ) throws(ConfigError) -> Configuration {
    let table: TOMLTable
    do throws(TOMLError) {
      table = try TOML.parse(text)
    } catch {
      throw .syntax(path: path, line: error.line, column: error.column, message: error.message)
    }
    var config = Configuration(path: path, isSystem: isSystem)
    let directory = path.directoryPart ?? ""
    func expand(_ p: String) -> String { expandPath(p, home: home, relativeTo: directory) }

    for key in table.keys where !topKeys.contains(key) {
      throw .unknownKey(path: path, line: table.line(of: key), key: key, suggestion: nearest(key, in: topKeys))
    }
    let top = Reader(table: table, path: path, section: nil)
    config.defaultAccount = try top.string("default")
    config.aliasesFile = try top.path("aliases", expand, isSystem: isSystem)
    config.localRecipient = try top.string("local_recipient")
    if let catchAll = config.localRecipient, !isValidFrom(catchAll) || catchAll.hasPrefix("*@") {
      throw top.invalid("local_recipient", "expected an address such as admin@example.com")
    }
    if let size = try top.size("max_message_size") { config.maxMessageSize = size }
    if let queue = try top.bool("queue") { config.queue = queue }
    if let life = try top.duration("queue_lifetime") { config.queueLifetime = life }
    if let life = try top.duration("failed_lifetime") { config.failedLifetime = life }
    if let timeout = try top.duration("timeout") {
      guard timeout > 0, timeout <= 86_400 else { throw top.invalid("timeout", "must be between 1s and 1d") }
      config.timeout = timeout
    }
    if let delivery = try top.string("delivery") {
      switch delivery {
      case "interactive": config.deliversInBackground = false
      case "background": config.deliversInBackground = true
      default: throw top.invalid("delivery", "expected \"interactive\" or \"background\"")
      }
    }
    if let log = try top.string("log") {
      switch log {
      case "syslog": config.log = .syslog
      case "none": config.log = .none
      case _ where log.hasPrefix("file:") && log.count > 5: config.log = .file(expand(String(log.dropFirst(5))))
      default: throw top.invalid("log", "expected \"syslog\", \"none\" or \"file:/path\"")
      }
    }
    config.trustedUsers = try top.trustedUsers("trusted_users")
    if let accounts = table["account"] {
      guard let accountTable = accounts.table else {
        throw top.invalid("account", "must be a table of [account.NAME] tables")
      }
      for name in accountTable.keys {
        guard let one = accountTable[name]?.table else {
          throw Reader(table: accountTable, path: path, section: "account").invalid(
            name, "must be a table ([account.\(name)])")
        }
        config.accounts.append(try parseAccount(name: name, table: one, path: path, isSystem: isSystem, expand: expand))
      }
    }
    if config.accounts.isEmpty {
      throw .missingKey(path: path, table: "account.NAME", key: "from")
    }
    if let name = config.defaultAccount, config.account(named: name) == nil {
      throw top.invalid("default", "no [account.\(name)] table")
    }
    return config
  }

  private static func parseAccount(
    name: String, table: TOMLTable, path: String, isSystem: Bool, expand: (String) -> String
  ) throws(ConfigError) -> Account {
    let section = "account.\(name)"
    for key in table.keys where !accountKeys.contains(key) {
      throw .unknownKey(path: path, line: table.line(of: key), key: key, suggestion: nearest(key, in: accountKeys))
    }
    let r = Reader(table: table, path: path, section: section)
    guard let from = try r.string("from") else { throw .missingKey(path: path, table: section, key: "from") }
    guard isValidFrom(from) else {
      throw r.invalid("from", "expected an address such as alice@example.com or a pattern *@example.com")
    }
    let route = try r.choice("route", Route.self) ?? .gmail
    var host: String
    var port = 587
    var tls = TLSMode.starttls
    switch route {
    case .gmail: host = "smtp.gmail.com"
    case .relay: host = "smtp-relay.gmail.com"
    case .gmailAPI:
      host = "gmail.googleapis.com"
      port = 443
    case .custom:
      guard let h = try r.string("host") else { throw .missingKey(path: path, table: section, key: "host") }
      host = h
    }
    if let h = try r.string("host") { host = h }
    guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }) else {
      throw r.invalid("host", "not a host name")
    }
    if let t = try r.choice("tls", TLSMode.self) {
      tls = t
      if t == .implicit { port = 465 }
    }
    if let p = try r.int("port") {
      guard (1...65535).contains(p) else { throw r.invalid("port", "must be 1-65535") }
      port = p
    }
    var account = Account(name: name, from: from, host: host, port: port, tls: tls)
    account.route = route
    account.displayName = try r.string("name")
    account.auth = try r.choice("auth", AuthMethod.self) ?? .oauth
    account.tlsCAFile = try r.path("tls_ca_file", expand, isSystem: isSystem)
    account.helo = try r.string("helo")
    if let helo = account.helo, helo.isEmpty || helo.contains(where: { $0 == " " || $0.isNewline }) {
      throw r.invalid("helo", "must be a host name")
    }
    account.mechanism = try r.choice("mechanism", OAuthMechanism.self) ?? .xoauth2
    account.clientSecretFile = try r.path("client_secret_file", expand, isSystem: isSystem)
    account.clientID = try r.string("client_id")
    account.clientSecret = try r.string("client_secret")
    for key in ["auth_url", "token_url", "revoke_url", "api_url"] {
      guard let url = try r.string(key) else { continue }
      guard isAllowedEndpoint(url) else {
        throw r.invalid(key, "must be an https:// URL (http:// only on 127.0.0.1, ::1 or localhost)")
      }
      switch key {
      case "auth_url": account.authURL = url
      case "token_url": account.tokenURL = url
      case "api_url": account.apiURL = url.hasSuffix("/") ? String(url.dropLast()) : url
      default: account.revokeURL = url
      }
    }
    account.serviceAccountFile = try r.path("service_account_file", expand, isSystem: isSystem)
    account.user = try r.string("user")
    account.passwordFile = try r.path("password_file", expand, isSystem: isSystem)
    account.passwordCommand = try r.string("password_command")
    account.allowedSenders = try r.allowedSenders("allowed_senders")
    for key in ["max_messages_per_day", "max_recipients_per_day", "max_messages_per_minute"] {
      guard let limit = try r.int(key) else { continue }
      guard limit >= 1 else { throw r.invalid(key, "must be at least 1") }
      switch key {
      case "max_messages_per_day": account.maxMessagesPerDay = limit
      case "max_recipients_per_day": account.maxRecipientsPerDay = limit
      default: account.maxMessagesPerMinute = limit
      }
    }
    switch account.auth {
    case .password:
      guard account.passwordFile != nil || account.passwordCommand != nil else {
        throw .missingKey(path: path, table: section, key: "password_file' or 'password_command")
      }
    case .serviceAccount:
      guard account.serviceAccountFile != nil else {
        throw .missingKey(path: path, table: section, key: "service_account_file")
      }
    case .oauth, .none: break
    }
    if route == .gmailAPI {
      guard account.auth == .oauth || account.auth == .serviceAccount else {
        throw r.invalid(
          "auth",
          "route \"gmail-api\" needs auth \"oauth\" or \"service-account\" (the Gmail API takes OAuth tokens only)")
      }
      account.host = hostOf(account.apiURL)
    }
    return account
  }

  package static func isValidFrom(_ from: String) -> Bool {
    let parts = from.split(separator: "@", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[1].contains(".") || parts[1] == "localhost"
    else { return false }
    return !from.contains(where: { $0 == " " || $0 == "<" || $0 == ">" || $0.isNewline })
  }

  /// The host of an endpoint URL (without port or brackets).
  static func hostOf(_ url: String) -> String {
    String(host(ofAuthority: url.drop { $0 != "/" }.drop { $0 == "/" }))
  }

  /// The host at the start of what follows `scheme://`: up to the path, query or fragment,
  /// without the port, and without the brackets of an IPv6 literal.
  static func host(ofAuthority rest: Substring) -> Substring {
    let hostPort = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
    if hostPort.hasPrefix("[") { return hostPort.dropFirst().prefix { $0 != "]" } }
    return hostPort.prefix { $0 != ":" }
  }

  /// `https://…`, or `http://` to a loopback host (gsendmail.conf(5)).
  package static func isAllowedEndpoint(_ url: String) -> Bool {
    if url.hasPrefix("https://") { return url.count > 8 }
    guard url.hasPrefix("http://") else { return false }
    let host = host(ofAuthority: url.dropFirst(7))
    return host == "127.0.0.1" || host == "::1" || host == "localhost"
  }

  /// The valid key nearest to `key`: one a small typo away (Levenshtein distance ≤ 3),
  /// else the one sharing the most words with it (`password` → `password_file`,
  /// `client_secret_path` → `client_secret_file`), the closer on a tie; nil when none does.
  package static func nearest(_ key: String, in candidates: [String]) -> String? {
    let lower = key.lowercased()
    var typo: (key: String, distance: Int)?
    var related: (key: String, shared: Int, distance: Int)?
    for c in candidates {
      let d = editDistance(Array(lower.utf8), Array(c.utf8))
      if d <= max(2, min(3, c.count / 3)), d < (typo?.distance ?? Int.max) { typo = (c, d) }
      let shared = c.split(separator: "_").filter { $0.count >= 3 && lower.containsText(String($0)) }.count
      if shared > 0, shared > (related?.shared ?? 0) || (shared == related?.shared && d < related!.distance) {
        related = (c, shared, d)
      }
    }
    return typo?.key ?? related?.key
  }

  /// Edits (insert, delete, replace, or swap two neighbours: `prot` is one from `port`)
  /// that turn `a` into `b` (the optimal string alignment distance).
  package static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var beforePrevious = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      current[0] = i
      for j in 1...b.count {
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
          current[j] = min(current[j], beforePrevious[j - 2] + 1)
        }
      }
      (beforePrevious, previous, current) = (previous, current, beforePrevious)
    }
    return previous[b.count]
  }
}

/// Expands `~/` and makes a relative path relative to `directory`.
package func expandPath(_ path: String, home: String, relativeTo directory: String) -> String {
  if path == "~" { return home }
  if path.hasPrefix("~/") { return home + path.dropFirst(1) }
  if path.hasPrefix("/") || directory.isEmpty { return path }
  return directory.hasSuffix("/") ? directory + path : directory + "/" + path
}

/// Typed reads from one TOML table, with errors that name file, line and key.
package struct Reader {
  package let table: TOMLTable
  package let path: String
  package let section: String?

  package func invalid(_ key: String, _ message: String) -> ConfigError {
    let name = section.map { "\($0).\(key)" } ?? key
    return .invalidValue(path: path, line: table.line(of: key), key: name, message: message)
  }

  package func string(_ key: String) throws(ConfigError) -> String? {
    guard let value = table[key] else { return nil }
    guard let s = value.string else { throw invalid(key, "expected a string") }
    return s
  }

  /// A file path, `~/` expanded; in the system configuration, which gsendmail reads for
  /// every local user, `~` (each caller's own home) is refused.
  package func path(_ key: String, _ expand: (String) -> String, isSystem: Bool) throws(ConfigError) -> String? {
    guard let text = try string(key) else { return nil }
    if isSystem && text.hasPrefix("~") {
      let name = text.split(separator: "/").last ?? ""
      throw invalid(
        key,
        "~ is the home of whoever runs gsendmail; the system configuration needs an absolute path "
          + "such as /etc/gsendmail/\(name)")
    }
    return expand(text)
  }

  package func int(_ key: String) throws(ConfigError) -> Int? {
    guard let value = table[key] else { return nil }
    guard let i = value.int else { throw invalid(key, "expected an integer") }
    return i
  }

  package func bool(_ key: String) throws(ConfigError) -> Bool? {
    guard let value = table[key] else { return nil }
    guard let b = value.bool else { throw invalid(key, "expected true or false") }
    return b
  }

  package func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type) throws(ConfigError) -> T?
  where T.RawValue == String {
    guard let s = try string(key) else { return nil }
    guard let v = T(rawValue: s) else {
      throw invalid(key, "expected one of " + T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
    }
    return v
  }

  /// A list of strings.
  func strings(_ key: String, in value: TOMLValue? = nil) throws(ConfigError) -> [String]? {
    guard let value = value ?? table[key] else { return nil }
    guard case .array(let items) = value else { throw invalid(key, "expected a list of strings") }
    var out: [String] = []
    for item in items {
      guard let s = item.string else { throw invalid(key, "expected a list of strings") }
      out.append(s)
    }
    return out
  }

  /// `trusted_users = ["deploy", "@admins"]`: user names, or `@group`.
  func trustedUsers(_ key: String) throws(ConfigError) -> [String] {
    let names = try strings(key) ?? []
    for name in names where !SenderPolicy.isName(name.hasPrefix("@") ? String(name.dropFirst()) : name) {
      throw invalid(key, "\"\(name)\" is not a user name or @group")
    }
    return names
  }

  /// `allowed_senders = { "www-data" = ["web@example.com"], "*" = ["%u@example.com"] }`.
  func allowedSenders(_ key: String) throws(ConfigError) -> [String: [String]] {
    guard let value = table[key] else { return [:] }
    guard let grants = value.table else {
      throw invalid(key, "expected a table of user names (or \"*\") to lists of addresses")
    }
    var out: [String: [String]] = [:]
    for user in grants.keys {
      guard user == "*" || SenderPolicy.isName(user) else {
        throw invalid(key, "\"\(user)\" is not a user name or \"*\"")
      }
      let addresses = try strings(key, in: grants[user]) ?? []
      for address in addresses where !SenderPolicy.isGrant(address) {
        throw invalid(key, "\"\(address)\" is not an address or a pattern such as *@example.com or %u@example.com")
      }
      out[user] = addresses
    }
    return out
  }

  /// `"35MB"`, `"512KiB"`, or an integer number of bytes.
  package func size(_ key: String) throws(ConfigError) -> Int? {
    if let i = table[key]?.int {
      guard i > 0 else { throw invalid(key, "must be more than 0") }
      return i
    }
    guard let s = try string(key) else { return nil }
    guard let v = Units.bytes(s), v > 0 else { throw invalid(key, "expected a size such as \"35MB\" or \"512KB\"") }
    return v
  }

  /// `"60s"`, `"5m"`, `"4h"`, `"5d"`, or an integer number of seconds.
  package func duration(_ key: String) throws(ConfigError) -> Int? {
    if let i = table[key]?.int {
      guard i >= 0 else { throw invalid(key, "must not be negative") }
      return i
    }
    guard let s = try string(key) else { return nil }
    guard let v = Units.seconds(s) else {
      throw invalid(key, "expected a duration such as \"60s\", \"5m\", \"4h\" or \"5d\"")
    }
    return v
  }
}

/// Size and duration units of the configuration file.
package enum Units {
  package static func bytes(_ text: String) -> Int? {
    let digits = text.prefix { $0.isASCII && $0.isNumber }
    guard let n = Int(digits) else { return nil }
    let unit = text.dropFirst(digits.count).trimmingSpaces().lowercased()
    let scale: Int
    switch unit {
    case "", "b": scale = 1
    // Powers of 1024, as gsendmail.conf(5) says; the IEC spellings mean the same.
    case "k", "kb", "kib": scale = 1 << 10
    case "m", "mb", "mib": scale = 1 << 20
    case "g", "gb", "gib": scale = 1 << 30
    default: return nil
    }
    let (v, overflow) = n.multipliedReportingOverflow(by: scale)
    return overflow ? nil : v
  }

  package static func seconds(_ text: String) -> Int? {
    let digits = text.prefix { $0.isASCII && $0.isNumber }
    guard let n = Int(digits) else { return nil }
    let scale: Int
    switch text.dropFirst(digits.count).trimmingSpaces() {
    case "", "s": scale = 1
    case "m": scale = 60
    case "h": scale = 3600
    case "d": scale = 86_400
    default: return nil
    }
    let (v, overflow) = n.multipliedReportingOverflow(by: scale)
    return overflow ? nil : v
  }
}

extension StringProtocol {
  package func trimmingSpaces() -> String {
    String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
  }
}
