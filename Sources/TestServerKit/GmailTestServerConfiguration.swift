// SPDX-License-Identifier: MIT
// How the local Gmail look-alike is set up: which listeners, which mode (submission or
// Workspace relay), which credentials it accepts, and which failure scenarios it plays.
// Scenario names are parsed from `NAME[=ARG]` text for the command line; a bad name or
// argument is a typed error, never a crash.

import SMTPServerCore

/// The setup of a `GmailTestServer`.
public struct GmailTestServerConfiguration: Sendable {
  /// Which Google service to imitate.
  public enum Mode: String, Sendable {
    /// smtp.gmail.com: AUTH required (after TLS) before MAIL.
    case submission
    /// smtp-relay.gmail.com with an IP allowlist: no AUTH needed; `EHLO localhost`, an
    /// IP literal or an empty argument gets `421 4.7.0 … (EHLO)` and the connection closes.
    case relay
  }

  /// The directory for the test CA, the server certificate and key (generated when
  /// absent) and, when `recordToDisk`, the `records/` directory.
  public var stateDirectory: String
  /// The STARTTLS listener (587 style): a port, 0 for an ephemeral one, nil for none.
  public var startTLSPort: UInt16?
  /// The implicit-TLS listener (465 style): a port, 0 for an ephemeral one, nil for none.
  public var implicitTLSPort: UInt16?
  /// The fake OAuth token endpoint (plain HTTP): a port, 0 for ephemeral, nil for none.
  public var httpPort: UInt16?
  /// The same endpoint over HTTPS, with the server certificate: a port, 0 for ephemeral,
  /// nil for none (the default).
  public var httpsPort: UInt16?
  /// Submission or relay.
  public var mode: Mode
  /// Accounts for AUTH PLAIN and LOGIN: user name → (app) password.
  public var users: [String: String]
  /// Access tokens accepted by XOAUTH2/OAUTHBEARER in addition to those the token
  /// endpoint issues.
  public var accessTokens: Set<String>
  /// Refresh tokens the token endpoint accepts in addition to those it issues.
  public var refreshTokens: Set<String>
  /// The `SIZE` limit; larger messages get `552 5.3.4`.
  public var maxMessageSize: Int
  /// The failure scenarios to play.
  public var scenarios: [GmailScenario]
  /// Whether to write `records/` files (JSON and .eml) besides the in-memory records.
  public var recordToDisk: Bool
  /// Where log lines go (one line each, never a secret); nil for none.
  public var log: (@Sendable (String) -> Void)?
  /// How long a silent client may keep a session open.
  public var idleTimeout: Duration
  /// Whether TLS sessions can be resumed: TLS 1.3 session tickets, as smtp.gmail.com sends
  /// them, valid while this server runs. False: every handshake is a full one.
  public var sessionTickets: Bool
  /// How many seconds a ticket may be used for (its lifetime hint).
  public var sessionLifetime: Int

  /// Creates a configuration with ephemeral STARTTLS, implicit-TLS and HTTP listeners (no
  /// HTTPS one).
  /// - Parameter stateDirectory: Where the certificates and records go (created if absent).
  public init(stateDirectory: String) {
    self.stateDirectory = stateDirectory
    self.startTLSPort = 0
    self.implicitTLSPort = 0
    self.httpPort = 0
    self.httpsPort = nil
    self.mode = .submission
    self.users = [:]
    self.accessTokens = []
    self.refreshTokens = []
    self.maxMessageSize = 35_882_577
    self.scenarios = []
    self.recordToDisk = true
    self.log = nil
    self.idleTimeout = .seconds(60)
    self.sessionTickets = true
    self.sessionLifetime = 7200
  }
}

/// A point in the SMTP dialogue where a scenario can act.
public enum GmailPhase: String, Sendable, CaseIterable {
  /// On connect, before the greeting.
  case greeting
  /// At `EHLO`/`HELO`.
  case ehlo
  /// When credentials are presented.
  case auth
  /// At `MAIL FROM`.
  case mail
  /// At `RCPT TO`.
  case rcpt
  /// At `DATA`, before `354`.
  case data
  /// After the final `.`, before the reply.
  case end
}

/// A failure the server plays on purpose.
public enum GmailScenario: Equatable, Sendable {
  /// `421 4.7.0 Try again later, closing connection.` instead of the greeting.
  case rejectGreeting
  /// `421 4.7.0 Try again later, closing connection. (EHLO)` at every EHLO/HELO.
  case rejectEHLO
  /// The relay's EHLO check (`localhost`, an IP literal → 421) in submission mode too.
  case rejectLocalEHLO
  /// `450 4.2.1` (temporary) for this recipient.
  case temporaryRecipientFailure(String)
  /// `550 5.1.1` (permanent) for this recipient.
  case permanentRecipientFailure(String)
  /// `550 5.4.5 Daily user sending limit exceeded` after DATA, once this many messages
  /// were accepted (0: from the first one).
  case dailyLimit(after: Int)
  /// Close the connection without a reply once this many message bytes arrived.
  case dropMidData(afterBytes: Int)
  /// Never answer at this phase.
  case stall(GmailPhase)
  /// Refuse every OAuth access token (the XOAUTH2 334/535 failure flow).
  case badToken
  /// Leave 8BITMIME out of the EHLO reply (an old relay), so 8-bit bodies are re-encoded.
  case no8BitMIME
  /// The Gmail API answers an upload with this error (`reason` as in Google's `errors`),
  /// `times` times (nil: always). 401 is played at the token check, the rest at sending.
  case apiError(status: Int, reason: String?, times: Int?)

  /// Why a scenario text is not understood.
  public enum ParseError: Error, Equatable, Sendable {
    /// No scenario has this name.
    case unknownName(String)
    /// The name needs an argument, or its argument is not valid.
    case badArgument(String)
  }

  /// The names accepted by `parse(_:)`, with their argument, for `--help`.
  public static let names = [
    "greeting-421", "ehlo-421", "ehlo-local-421", "rcpt-4xx=ADDRESS", "rcpt-5xx=ADDRESS",
    "daily-limit[=N]", "drop-mid-data[=BYTES]",
    "stall=greeting|ehlo|auth|mail|rcpt|data|end", "bad-token", "no-8bitmime", "api-error=STATUS[:REASON][:TIMES]",
  ]

  /// Parses `NAME[=ARG]`, e.g. `rcpt-5xx=bob@example.net`, `stall=data`.
  /// - Throws: `ParseError`.
  public static func parse(_ text: String) throws(ParseError) -> GmailScenario {
    let name: Substring
    let argument: String?
    if let equals = text.firstIndex(of: "=") {
      name = text[..<equals]
      argument = String(text[text.index(after: equals)...])
    } else {
      name = Substring(text)
      argument = nil
    }
    func count(default value: Int) throws(ParseError) -> Int {
      guard let argument else { return value }
      guard let number = Int(argument), number >= 0 else { throw .badArgument(text) }
      return number
    }
    func address() throws(ParseError) -> String {
      guard let argument, argument.contains("@") else { throw .badArgument(text) }
      return argument
    }
    switch name {
    case "greeting-421" where argument == nil: return .rejectGreeting
    case "ehlo-421" where argument == nil: return .rejectEHLO
    case "ehlo-local-421" where argument == nil: return .rejectLocalEHLO
    case "bad-token" where argument == nil: return .badToken
    case "no-8bitmime" where argument == nil: return .no8BitMIME
    case "rcpt-4xx": return .temporaryRecipientFailure(try address())
    case "rcpt-5xx": return .permanentRecipientFailure(try address())
    case "daily-limit": return .dailyLimit(after: try count(default: 0))
    case "drop-mid-data": return .dropMidData(afterBytes: max(1, try count(default: 1)))
    case "api-error":
      let pieces = (argument ?? "").split(separator: ":", omittingEmptySubsequences: false).map(String.init)
      guard (1...3).contains(pieces.count), let status = Int(pieces[0]), (400...599).contains(status) else {
        throw .badArgument(text)
      }
      let reason = pieces.count > 1 && !pieces[1].isEmpty ? pieces[1] : nil
      var times: Int?
      if pieces.count == 3 {
        guard let n = Int(pieces[2]), n > 0 else { throw .badArgument(text) }
        times = n
      }
      return .apiError(status: status, reason: reason, times: times)
    case "stall":
      guard let argument, let phase = GmailPhase(rawValue: argument) else {
        throw .badArgument(text)
      }
      return .stall(phase)
    case "greeting-421", "ehlo-421", "ehlo-local-421", "bad-token", "no-8bitmime":
      throw .badArgument(text)
    default:
      throw .unknownName(String(name))
    }
  }
}
