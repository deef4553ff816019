// SPDX-License-Identifier: MIT
// The resolved configuration of gsendmail.conf(5), after parsing and validation, and the
// choice of the account that sends a message. Pure.

import OAuth2

/// Where log lines go (`log = …`).
public enum LogTarget: Equatable, Sendable {
  case syslog
  case none
  case file(String)
}

/// How an account reaches Google.
public enum Route: String, Equatable, Sendable, CaseIterable {
  /// `smtp.gmail.com:587`, STARTTLS.
  case gmail
  /// `smtp-relay.gmail.com:587`, STARTTLS.
  case relay
  /// `host`, `port` and `tls` must be given.
  case custom
  /// The Gmail API's `users.messages.send` over HTTPS (`api_url`), with a `gmail.send` token.
  case gmailAPI = "gmail-api"
}

/// How an account authenticates.
public enum AuthMethod: String, Equatable, Sendable, CaseIterable {
  case oauth
  case serviceAccount = "service-account"
  case password
  case none
}

/// How TLS starts.
public enum TLSMode: String, Equatable, Sendable, CaseIterable {
  case starttls
  case implicit
}

/// The SASL mechanism used with OAuth tokens.
public enum OAuthMechanism: String, Equatable, Sendable, CaseIterable {
  case xoauth2
  case oauthbearer
}

/// One `[account.NAME]` table.
public struct Account: Equatable, Sendable {
  public var name: String
  /// An address, or a pattern `*@domain`.
  public var from: String
  public var displayName: String?
  public var route: Route = .gmail
  public var auth: AuthMethod = .oauth
  public var host: String
  public var port: Int
  public var tls: TLSMode
  public var tlsCAFile: String?
  public var helo: String?
  public var mechanism: OAuthMechanism = .xoauth2
  public var clientSecretFile: String?
  public var clientID: String?
  public var clientSecret: String?
  public var authURL = "https://accounts.google.com/o/oauth2/v2/auth"
  public var tokenURL = "https://oauth2.googleapis.com/token"
  public var revokeURL = "https://oauth2.googleapis.com/revoke"
  /// The Gmail API's base URL (route `gmail-api`); the upload path is added to it.
  public var apiURL = "https://gmail.googleapis.com"
  public var serviceAccountFile: String?
  /// Login or impersonated user; `nil` means `from`.
  public var user: String?
  public var passwordFile: String?
  public var passwordCommand: String?
  /// `allowed_senders`: the senders a local user (or `*`, every user) who is not trusted may
  /// use through the system configuration (`SenderPolicy`).
  public var allowedSenders: [String: [String]] = [:]
  /// Local sending limits (`max_messages_per_day`, `max_recipients_per_day`,
  /// `max_messages_per_minute`); nil: none.
  public var maxMessagesPerDay: Int?
  public var maxRecipientsPerDay: Int?
  public var maxMessagesPerMinute: Int?

  /// Whether `from` is a `*@domain` pattern.
  public var isPattern: Bool { from.hasPrefix("*@") }

  /// The user `gsendmailctl login` signs in as (`login_hint`): `user`, else `from`.
  public var loginHint: String { user ?? from }

  /// The login user: `user`, else `from`; for a pattern `from`, the envelope sender.
  public func loginUser(sender: String) -> String {
    if let user { return user }
    return isPattern ? sender : from
  }
}

/// The whole configuration file.
public struct Configuration: Equatable, Sendable {
  /// The file it was read from.
  public var path: String
  /// Whether this is the system-wide file (`/etc/gsendmail/config.toml`).
  public var isSystem: Bool
  public var defaultAccount: String?
  public var aliasesFile: String?
  public var localRecipient: String?
  /// Bytes. Default: Gmail's advertised SIZE.
  public var maxMessageSize = 35_882_577
  public var queue = true
  /// `delivery = "background"`: without an `-od` option a new message is committed to the
  /// queue, the caller gets exit 0, and a detached child delivers it (as `-odb`).
  public var deliversInBackground = false
  /// Seconds.
  public var queueLifetime = 5 * 86_400
  /// Seconds a message is kept in failed/ before a queue run removes it.
  public var failedLifetime = 30 * 86_400
  public var log: LogTarget = .syslog
  /// Seconds for connect and each wait for the server.
  public var timeout = 60
  /// `trusted_users`: user names and `@group`s who, like root, may choose any sender
  /// through the system configuration (`SenderPolicy`).
  public var trustedUsers: [String] = []
  /// Accounts in file order.
  public var accounts: [Account] = []

  public func account(named name: String) -> Account? { accounts.first { $0.name == name } }
}

extension Account {
  /// The OAuth scope the account's tokens are asked for: `gmail.send` alone for the API
  /// route, `https://mail.google.com/` (the only one SMTP accepts) otherwise.
  public var oauthScope: String {
    route == .gmailAPI ? GoogleOAuth.gmailSendScope : GoogleOAuth.gmailScope
  }
}

// MARK: - Account choice

// Which account sends a message (gsendmail.conf(5) "Account choice") and which envelope
// sender it uses (gsendmail(8), "THE MESSAGE"). Pure.

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
