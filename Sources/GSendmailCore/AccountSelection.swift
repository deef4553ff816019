// SPDX-License-Identifier: MIT
// Which account sends a message (SPEC §5 "Account choice") and which envelope
// sender it uses (SPEC §4). Pure.

extension Configuration {
  /// Picks the account: `--account`; else the account whose `from` matches the envelope
  /// sender, else the `From:` header's address (an exact address beats a pattern); else
  /// `default`; else the only account when there is just one.
  /// - Throws: `ConfigError.unknownAccount` or `.noAccountMatches`.
  public func chooseAccount(named: String?, sender: String?, headerFrom: String?) throws(ConfigError) -> Account {
    if let name = named {
      guard let account = account(named: name) else { throw .unknownAccount(name) }
      return account
    }
    for address in [sender, headerFrom].compactMap({ $0 }) where !address.isEmpty {
      if let exact = accounts.first(where: { !$0.isPattern && $0.from.lowercased() == address.lowercased() }) {
        return exact
      }
      if let pattern = accounts.first(where: { $0.isPattern && Self.matches(pattern: $0.from, address) }) {
        return pattern
      }
    }
    if let name = defaultAccount, let account = account(named: name) { return account }
    if accounts.count == 1 { return accounts[0] }
    throw .noAccountMatches(sender: sender ?? headerFrom ?? "")
  }

  /// Whether `address` matches a `*@domain` pattern (domain compared without case).
  package static func matches(pattern: String, _ address: String) -> Bool {
    guard pattern.hasPrefix("*@"), let at = address.lastIndex(of: "@") else { return false }
    return address[address.index(after: at)...].lowercased() == pattern.dropFirst(2).lowercased()
  }
}

extension Account {
  /// The envelope sender when `-f` was not given: `from`; for a pattern, the `From:`
  /// header's address when it matches, else `user@domain` (the user name is only
  /// looked up then).
  public func defaultSender(headerFrom: String?, userName: @autoclosure () -> String) -> String {
    guard isPattern else { return from }
    if let h = headerFrom, Configuration.matches(pattern: from, h) { return h }
    return userName() + from.dropFirst(1)
  }
}
