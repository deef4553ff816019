// SPDX-License-Identifier: MIT
// The dynamic side of a server session: the decisions the embedding program makes at
// each step (greeting, HELO, AUTH, MAIL, RCPT, DATA, end of message). Callbacks are
// synchronous and are called by SMTPServerSession only after the command passed the
// session's own syntax, sequence and limit checks.

/// What to do with a command the session has found acceptable.
public enum SMTPServerDecision: Equatable, Sendable {
  /// Send the configured positive reply and go on.
  case accept
  /// Send this reply. A 2xx or 3xx code counts as acceptance, 4xx and 5xx as refusal;
  /// a 421 also closes the connection (RFC 5321 §3.8).
  case reply(SMTPServerReply)
  /// Send this reply, then close the connection (e.g. `421`).
  case replyAndClose(SMTPServerReply)
  /// Close the connection without a reply.
  case drop
  /// Never answer: ignore all further input until the peer gives up.
  case stall
}

/// What to do with presented credentials.
public enum SMTPAuthDecision: Equatable, Sendable {
  /// The credentials are good: send `authAccepted`.
  case accept
  /// Send this failure reply at once.
  case reject(SMTPServerReply)
  /// For XOAUTH2 and OAUTHBEARER: send `334` with base64 of `challenge` (a JSON error
  /// object), wait for the client's acknowledgement line, then send `reply`.
  /// For other mechanisms it behaves as `reject(reply)`.
  case rejectAfterChallenge(challenge: String, reply: SMTPServerReply)
  /// Close the connection without a reply.
  case drop
  /// Never answer.
  case stall
}

/// Credentials decoded from an AUTH exchange.
///
/// `description` and `debugDescription` never show the password or token.
public enum SMTPCredentials: Equatable, Sendable, CustomStringConvertible,
  CustomDebugStringConvertible
{
  /// `AUTH PLAIN` (RFC 4616).
  case plain(authorizationID: String, user: String, password: String)
  /// `AUTH LOGIN`.
  case login(user: String, password: String)
  /// `AUTH XOAUTH2` (Google): `user=…^Aauth=Bearer …^A^A`.
  case xoauth2(user: String, token: String)
  /// `AUTH OAUTHBEARER` (RFC 7628); `user` is the `a=` of the GS2 header.
  case oauthBearer(user: String, token: String)

  /// The mechanism name, upper-case.
  public var mechanism: String {
    switch self {
    case .plain: "PLAIN"
    case .login: "LOGIN"
    case .xoauth2: "XOAUTH2"
    case .oauthBearer: "OAUTHBEARER"
    }
  }

  /// The user name presented.
  public var user: String {
    switch self {
    case .plain(_, let user, _), .login(let user, _), .xoauth2(let user, _),
      .oauthBearer(let user, _):
      user
    }
  }

  /// The secret presented: a password or a bearer token.
  public var secret: String {
    switch self {
    case .plain(_, _, let secret), .login(_, let secret), .xoauth2(_, let secret),
      .oauthBearer(_, let secret):
      secret
    }
  }

  /// `MECHANISM user=…`, without the secret.
  public var description: String { "\(mechanism) user=\(user)" }
  /// Same as `description`.
  public var debugDescription: String { description }
}

/// A successful authentication, as kept by the session.
public struct SMTPAuthIdentity: Equatable, Sendable {
  /// The mechanism used, upper-case.
  public var mechanism: String
  /// The user name presented.
  public var user: String

  /// Creates an identity.
  public init(mechanism: String, user: String) {
    self.mechanism = mechanism
    self.user = user
  }
}

/// What the session knows about its client, passed to every policy callback.
public struct SMTPSessionInfo: Equatable, Sendable {
  /// The `HELO`/`EHLO` argument, once one was accepted.
  public var helloName: String?
  /// Whether the accepted greeting was `EHLO`.
  public var extendedHello: Bool
  /// Whether TLS is active (implicit TLS or after STARTTLS).
  public var tlsActive: Bool
  /// The successful authentication, if any.
  public var authentication: SMTPAuthIdentity?

  /// Creates session facts.
  public init(
    helloName: String? = nil, extendedHello: Bool = false, tlsActive: Bool = false,
    authentication: SMTPAuthIdentity? = nil
  ) {
    self.helloName = helloName
    self.extendedHello = extendedHello
    self.tlsActive = tlsActive
    self.authentication = authentication
  }
}

/// The decisions of the program that embeds a server session.
///
/// Every method has a default: accept everything, and refuse every credential with
/// `535 5.7.8`. A policy that keeps state (counters, recordings) is a class; the
/// session calls it from the thread that drives the session.
public protocol SMTPServerPolicy {
  /// Called by `start()`: accept to send the greeting.
  func connectionOpened(session: SMTPSessionInfo) -> SMTPServerDecision
  /// A syntactically valid `HELO`/`EHLO`.
  func hello(_ name: String, extended: Bool, session: SMTPSessionInfo) -> SMTPServerDecision
  /// Credentials to check.
  func authenticate(_ credentials: SMTPCredentials, session: SMTPSessionInfo)
    -> SMTPAuthDecision
  /// A valid `MAIL FROM`.
  func mailFrom(_ mailFrom: SMTPMailFrom, session: SMTPSessionInfo) -> SMTPServerDecision
  /// A valid `RCPT TO`, with the envelope as it stands before it.
  func recipient(_ recipient: SMTPRecipient, envelope: SMTPEnvelope, session: SMTPSessionInfo)
    -> SMTPServerDecision
  /// `DATA` with at least one accepted recipient (accept sends `dataReady`).
  func dataStarting(envelope: SMTPEnvelope, session: SMTPSessionInfo) -> SMTPServerDecision
  /// A complete message within the size limit: the end-of-data reply.
  func messageReceived(_ message: SMTPReceivedMessage, session: SMTPSessionInfo)
    -> SMTPServerDecision
}

extension SMTPServerPolicy {
  /// Accepts.
  public func connectionOpened(session: SMTPSessionInfo) -> SMTPServerDecision { .accept }
  /// Accepts.
  public func hello(_ name: String, extended: Bool, session: SMTPSessionInfo)
    -> SMTPServerDecision
  { .accept }
  /// Refuses with `535 5.7.8`.
  public func authenticate(_ credentials: SMTPCredentials, session: SMTPSessionInfo)
    -> SMTPAuthDecision
  { .reject(SMTPServerReply(535, "5.7.8", "Authentication credentials invalid")) }
  /// Accepts.
  public func mailFrom(_ mailFrom: SMTPMailFrom, session: SMTPSessionInfo)
    -> SMTPServerDecision
  { .accept }
  /// Accepts.
  public func recipient(
    _ recipient: SMTPRecipient, envelope: SMTPEnvelope, session: SMTPSessionInfo
  ) -> SMTPServerDecision { .accept }
  /// Accepts.
  public func dataStarting(envelope: SMTPEnvelope, session: SMTPSessionInfo)
    -> SMTPServerDecision
  { .accept }
  /// Accepts.
  public func messageReceived(_ message: SMTPReceivedMessage, session: SMTPSessionInfo)
    -> SMTPServerDecision
  { .accept }
}
