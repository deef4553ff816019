// SPDX-License-Identifier: MIT
// What went wrong when a message was handed to a server: its kind, in the terms of the
// exit status table of gsendmail(8), and its cause, kept as the typed error it was
// (the SMTP reply with its phase, the transport or token error, the Gmail API's reply)
// or a small value for a decision taken here. The kind is what ExitStatus.swift and
// the queue read; the text is rendered from the cause in DeliveryFailure+Text.swift
// alone; the doctor and failure notices read the cause.

import HTTPClient
import MailQueue
import SMTPCore
import TokenStore
import Transport

/// Why a delivery attempt did not end with the server accepting the message.
public struct DeliveryFailure: Error, Equatable, Sendable {
  /// What the failure means for the caller, the queue and the exit code.
  public enum Kind: Equatable, Sendable {
    /// Try again later: connect/DNS/TLS failure or timeout, a 4xx reply, connection lost,
    /// token endpoint unreachable or 5xx.
    case temporary
    /// The account cannot authenticate: no token yet, `invalid_grant`, AUTH rejected after
    /// a fresh token.
    case authentication
    /// The server refused one or more recipients permanently; nothing was sent.
    case recipientsRejected
    /// The server (or a limit it announced) refused the message permanently; `tooBig` for
    /// size refusals.
    case messageRejected(tooBig: Bool)
    /// The server broke the protocol.
    case protocolViolation
    /// Google refused the message for one of its sending limits (SMTP `550 5.4.5`, the
    /// relay's limit replies; HTTP 429, or 403 `rateLimitExceeded`/`dailyLimitExceeded`
    /// from the Gmail API, see ``SendingLimit/named(httpStatus:reason:)``). It would be
    /// accepted later: the queue defers it with a long backoff (`queue = false`: exit 75).
    case limited(SendingLimit)
    /// This process ran short of a resource (descriptors, memory, a library that cannot
    /// be loaded). Not a delivery attempt: no entry's schedule, attempts or error text
    /// changes.
    case resource
  }

  /// What happened, as the layer that met it said it.
  public enum Cause: Equatable, Sendable {
    /// The SMTP client's failure: the reply, its enhanced status code and the phase.
    case smtp(SMTPFailure)
    /// Resolving, connecting, TLS, reading or writing failed.
    case transport(TransportError)
    /// No access token could be had.
    case token(TokenError)
    /// The Gmail API answered, refusing the message.
    case gmailAPI(GmailAPIRefusal)
    /// The Gmail API could not be reached, or the upload's body could not be read.
    case http(HTTPError)
    /// The API opened a resumable upload session without a usable Location.
    case uploadSessionWithoutLocation
    /// `password_command` gave no password.
    case passwordCommand(PasswordCommandFailure)
    /// The message as it would be sent is over a size limit; nothing was sent.
    case overSize(OverSize)
    /// The server ended the session (before it was ready for a message, or during one)
    /// without a reply that says why.
    case sessionEnded(beforeReady: Bool)
    /// An OAuth account without an access token.
    case noAccessToken(account: String)
    /// The account's local sending limit holds the message (the reason says which).
    case localLimit(String)
    /// A queue entry could not be read or locked for a reason of this process.
    case queueEntry(QueueStep, QueueError)
  }

  /// What a queue run was doing with an entry.
  public enum QueueStep: String, Equatable, Sendable {
    case read
    case lock
  }

  /// A message over a size limit.
  public struct OverSize: Equatable, Sendable {
    /// Its size as it would be sent (SIZE, RFC 1870).
    public var size: Int
    /// Whether that is after re-encoding as quoted-printable.
    public var quotedPrintable: Bool
    /// The limit, in bytes.
    public var limit: Int
    /// Whether the limit is the server's SIZE (else `max_message_size`).
    public var isServerLimit: Bool

    public init(size: Int, quotedPrintable: Bool, limit: Int, isServerLimit: Bool) {
      self.size = size
      self.quotedPrintable = quotedPrintable
      self.limit = limit
      self.isServerLimit = isServerLimit
    }
  }

  /// Why `password_command` gave no password.
  public enum PasswordCommandFailure: Equatable, Sendable {
    /// It exited with `status`; `detail` is the first line of its error output, or nil when
    /// that went to the log only (the system configuration) or was empty.
    case exited(account: String, status: Int32, detail: String?, inLog: Bool)
    /// It printed an empty first line.
    case printedNothing
    /// No pipe could be made for it.
    case noPipe
    /// `/bin/sh` could not be started.
    case cannotStart
    /// It was killed after `seconds`.
    case timedOut(seconds: Int)
  }

  /// An SMTP account's token granted without the scope SMTP needs.
  public struct ScopeShortfall: Equatable, Sendable {
    public var account: String
    /// The scope the token was granted.
    public var granted: String
  }

  public var kind: Kind
  public var cause: Cause
  /// Set when an SMTP authentication failure is explained by the token's scope.
  public var scopeShortfall: ScopeShortfall?

  public init(_ kind: Kind, _ cause: Cause) {
    self.kind = kind
    self.cause = cause
  }

  /// The sending limit that refused the message, for the retry schedule.
  public var sendingLimit: SendingLimit? {
    guard case .limited(let limit) = kind else { return nil }
    return limit
  }

  /// Whether a later attempt may succeed (the queue keeps the message for it).
  public var isTemporary: Bool {
    switch kind {
    case .temporary, .authentication, .limited, .resource: return true
    case .recipientsRejected, .messageRejected, .protocolViolation: return false
    }
  }

  /// The SMTP failure, when a server's SMTP reply or behaviour caused this.
  public var smtpFailure: SMTPFailure? {
    guard case .smtp(let failure) = cause else { return nil }
    return failure
  }

  /// The step of the SMTP session the failure came at, when it came in one.
  public var phase: SMTPPhase? {
    switch smtpFailure {
    case .connectionClosed(let phase)?, .rejected(_, let phase)?: return phase
    case .authenticationFailed?: return .auth
    case .recipientsRejected?: return .rcptTo
    case .protocolViolation(.unexpectedReply(_, let phase))?: return phase
    case .missingCapability(.startTLS)?: return .startTLS
    case .missingCapability(.auth)?: return .auth
    default: return nil
    }
  }

  /// The reply that refused the session or the message (for a refused recipient, the
  /// first refusal).
  public var smtpReply: SMTPReply? {
    switch smtpFailure {
    case .rejected(let reply, _)?: return reply
    case .authenticationFailed(let auth)?: return auth.reply
    case .recipientsRejected(let results)?: return results.first { !$0.isAccepted }?.reply
    default: return nil
    }
  }

  /// The reply that refused the message, kept for the failure notice: only when the
  /// server refused it (not for a decision taken here, nor for a refused recipient).
  public var serverReply: ServerReply? {
    guard case .messageRejected = kind, case .rejected(let reply, _)? = smtpFailure else { return nil }
    return ServerReply(reply)
  }

  /// The permanent RFC 3463 status of the reply that refused the recipients or the
  /// message, when the server gave one.
  public var refusalStatus: String? {
    switch kind {
    case .recipientsRejected, .messageRejected:
      guard let status = smtpReply?.enhancedStatus, status.statusClass == 5 else { return nil }
      return "\(status)"
    default:
      return nil
    }
  }

  /// What the server answered each recipient it did not accept.
  public var recipientReplies: [RecipientReply] {
    guard case .recipientsRejected(let results)? = smtpFailure else { return [] }
    return results.filter { !$0.isAccepted }.map { RecipientReply(address: $0.recipient, reply: ServerReply($0.reply)) }
  }
}

extension SendingLimit {
  /// The limit an HTTP reply of the Gmail API names, if any: 429 (too many requests), or
  /// 403 with reason `rateLimitExceeded`/`userRateLimitExceeded` (rate) or
  /// `dailyLimitExceeded` (daily).
  /// - Parameters:
  ///   - httpStatus: The response status.
  ///   - reason: `error.errors[0].reason` of the JSON error body, when there is one.
  public static func named(httpStatus: Int, reason: String?) -> SendingLimit? {
    switch (httpStatus, reason) {
    case (403, "dailyLimitExceeded"): return .daily
    case (403, "rateLimitExceeded"), (403, "userRateLimitExceeded"): return .rate
    case (429, "dailyLimitExceeded"): return .daily
    case (429, _): return .rate
    default: return nil
    }
  }

  /// How the limit is named in messages and `mailq`.
  public var label: String {
    switch self {
    case .daily: return "Gmail daily sending limit"
    case .rate: return "Gmail rate limit"
    }
  }
}

/// A server's reply, kept whole rather than as text: a failure notice gives each
/// recipient the status and the words of its own reply (RFC 3464).
public struct ServerReply: Equatable, Sendable, CustomStringConvertible {
  /// The reply code, e.g. 550.
  public var code: Int
  /// The enhanced status code (RFC 3463) the server gave, e.g. `5.1.1`.
  public var enhancedStatus: String?
  /// The reply's text, its lines joined by " / ".
  public var text: String

  public init(code: Int, enhancedStatus: String?, text: String) {
    self.code = code
    self.enhancedStatus = enhancedStatus
    self.text = text
  }

  /// The reply of the SMTP client, its lines joined.
  public init(_ reply: SMTPReply) {
    self.init(
      code: reply.code, enhancedStatus: reply.enhancedStatus.map { "\($0)" },
      text: reply.lines.joined(separator: " / "))
  }

  /// The RFC 3463 status: the server's own, else the class of its code (`5.0.0`, `4.0.0`).
  public var status: String { enhancedStatus ?? "\(code / 100).0.0" }
  public var description: String { "\(code) \(text)" }
}

/// What the server answered one recipient it did not accept.
public struct RecipientReply: Equatable, Sendable {
  public var address: String
  public var reply: ServerReply

  public init(address: String, reply: ServerReply) {
    self.address = address
    self.reply = reply
  }
}

/// A message could not be accepted for delivery (exit 65).
public struct BadMessage: Error, Equatable, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Standard input could not be read (exit 66).
public struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
