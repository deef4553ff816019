// SPDX-License-Identifier: MIT
// The aliases file named by a configuration, read with the caller's rights.

import GSendmailCore

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
