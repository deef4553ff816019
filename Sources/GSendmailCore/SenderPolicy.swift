// SPDX-License-Identifier: MIT
// Who may send as whom through the system configuration: sendmail's "trusted
// users". The system account is shared by every local user, and Google sends
// what it is given under the identity it names: with a pattern account, above
// all a service account with domain-wide delegation, `-f ceo@example.com` would
// go out signed as the CEO. So root and `trusted_users` may choose any sender;
// everyone else sends as the account's fixed address, or only as what
// `allowed_senders` grants them. A user's own configuration is theirs: no policy.
// Pure: the caller's name and groups come from the Environment.

import Codecs

/// The local user submitting a message, as the sender policy sees them.
public struct Caller: Equatable, Sendable {
  public var uid: UInt32
  /// The login name (password database).
  public var name: String
  /// The names of the groups the user is in (primary and supplementary).
  public var groups: [String]

  public init(uid: UInt32, name: String, groups: [String]) {
    self.uid = uid
    self.name = name
    self.groups = groups
  }
}

/// A sender the caller may not use; nothing is sent or queued (exit 77).
public struct SenderRefused: Error, CustomStringConvertible, Equatable {
  public let description: String
}

/// The sender policy of one caller under one configuration.
public struct SenderPolicy: Equatable, Sendable {
  public var caller: Caller
  public var config: Configuration

  public init(caller: Caller, config: Configuration) {
    self.caller = caller
    self.config = config
  }

  /// Whether the caller may choose any sender: a user's own configuration, root, or a
  /// user named in `trusted_users` (by name, or `@group` for a group they are in).
  public var isUnrestricted: Bool {
    guard config.isSystem, caller.uid != 0 else { return true }
    return config.trustedUsers.contains { entry in
      entry.hasPrefix("@") ? caller.groups.contains(String(entry.dropFirst())) : entry == caller.name
    }
  }

  /// What `account` lets this caller send as: its address when it is not a pattern, and
  /// the entries of `allowed_senders` for the caller's name and for `*`, with `%u` made
  /// the caller's name. Each is an address or a `*@domain` pattern.
  public func grants(on account: Account) -> [String] {
    var out = account.isPattern ? [] : [account.from]
    let named = (account.allowedSenders[caller.name] ?? []) + (account.allowedSenders["*"] ?? [])
    for grant in named {
      if grant.containsText("%u") {
        // A name that could not be a local part grants nothing through %u.
        guard Self.isName(caller.name) else { continue }
        out.append(grant.replacingText("%u", with: caller.name))
      } else {
        out.append(grant)
      }
    }
    return out
  }

  /// Whether `address` is one the caller may use on `account`.
  public func permits(_ address: String, on account: Account) -> Bool {
    isUnrestricted || grants(on: account).contains { Self.grant($0, matches: address) }
  }

  /// The envelope sender when none was given, for a caller who is not unrestricted: the
  /// `From:` address when it is granted, else `NAME@domain` of a pattern account when
  /// granted, else the first granted address that is not a pattern; nil when nothing is
  /// granted (the check then refuses the account's default).
  public func defaultSender(on account: Account, headerFrom: String?) -> String? {
    if let headerFrom, permits(headerFrom, on: account) { return headerFrom }
    let usual = account.defaultSender(headerFrom: nil, userName: caller.name)
    if permits(usual, on: account) { return usual }
    return grants(on: account).first { !$0.hasPrefix("*@") }
  }

  /// Refuses a sender the caller may not use: the envelope sender (the null sender claims
  /// no one) and every address of the `From:` header, since Google sends the message under
  /// that identity.
  /// - Parameter headerFrom: The `From:` header's addresses; nil when it cannot be read.
  public func check(account: Account, sender: String, headerFrom: [String]?) throws(SenderRefused) {
    guard !isUnrestricted else { return }
    if !sender.isEmpty && !permits(sender, on: account) {
      throw refusal("the sender <\(sender)>", account: account)
    }
    guard let headerFrom else { throw refusal("a From: header that cannot be read", account: account) }
    for address in headerFrom where !permits(address, on: account) {
      throw refusal("the From: address <\(address)>", account: account)
    }
  }

  private func refusal(_ what: String, account: Account) -> SenderRefused {
    SenderRefused(
      description: "\(what) is not allowed for user \(caller.name) through the system account "
        + "[account.\(account.name)]; nothing was sent. An administrator can grant it in that account's "
        + "allowed_senders, or add the user to trusted_users, in \(config.path)")
  }

  // MARK: Syntax

  /// A user or group name: letters, digits, `.`, `_`, `-` (not first), an optional final `$`.
  static func isName(_ name: String) -> Bool {
    let bytes = Array(name.utf8)
    guard !bytes.isEmpty, bytes.count <= 64, bytes[0] != UInt8(ascii: "-") else { return false }
    for (i, b) in bytes.enumerated() {
      let plain =
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
        || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
      guard plain || (b == UInt8(ascii: "$") && i == bytes.count - 1) else { return false }
    }
    return true
  }

  /// An `allowed_senders` entry: an address, a `*@domain` pattern, or an address with `%u`.
  static func isGrant(_ entry: String) -> Bool {
    ConfigParser.isValidFrom(entry.replacingText("%u", with: "u")) && !entry.dropFirst(1).contains("*")
  }

  /// Whether a grant (an address, or `*@domain`) covers `address`; without case.
  static func grant(_ grant: String, matches address: String) -> Bool {
    grant.hasPrefix("*@") ? Configuration.matches(pattern: grant, address) : grant.lowercased() == address.lowercased()
  }
}
