// SPDX-License-Identifier: MIT
// What went wrong when a message was handed to a server, in the terms of the exit
// status table of gsendmail(8).
// The delivery code turns transport and SMTP errors into these; ExitStatus.swift
// turns these into exit codes.

import SMTPCore

/// Why a delivery attempt did not end with the server accepting the message.
public enum DeliveryFailure: Error, Equatable, Sendable, CustomStringConvertible {
  /// Try again later: connect/DNS/TLS failure or timeout, a 4xx reply, connection lost,
  /// token endpoint unreachable or 5xx.
  case temporary(String)
  /// The account cannot authenticate: no token yet, `invalid_grant`, AUTH rejected after a
  /// fresh token.
  case authentication(String)
  /// The server refused one or more recipients permanently; nothing was sent. `replies`:
  /// what the server answered each recipient it did not accept.
  case recipientsRejected(String, replies: [RecipientReply] = [])
  /// The server refused the message permanently. `tooBig` for size rejections; `reply`:
  /// the server's, when a reply refused it (not a local decision).
  case messageRejected(String, tooBig: Bool, reply: ServerReply? = nil)
  /// The server broke the protocol.
  case protocolViolation(String)
  /// Google refused the message for one of its sending limits (SMTP `550 5.4.5`, the
  /// relay's limit replies; HTTP 429, or 403 `rateLimitExceeded`/`dailyLimitExceeded`
  /// from the Gmail API, see ``SendingLimit/named(httpStatus:reason:)``). It would be
  /// accepted later: the queue defers it with a long backoff (`queue = false`: exit 75).
  case limited(SendingLimit, String)
  /// This process ran short of a resource (descriptors, memory, a library that cannot be
  /// loaded). Not a delivery attempt: no entry's schedule, attempts or error text changes.
  case resource(String)

  public var description: String {
    switch self {
    case .temporary(let s), .authentication(let s), .recipientsRejected(let s, _), .protocolViolation(let s): return s
    case .messageRejected(let s, _, _), .limited(_, let s): return s
    case .resource(let s): return s
    }
  }

  /// The sending limit that refused the message, for the retry schedule.
  public var sendingLimit: SendingLimit? {
    guard case .limited(let limit, _) = self else { return nil }
    return limit
  }

  /// Whether a later attempt may succeed (the queue keeps the message for it).
  public var isTemporary: Bool {
    switch self {
    case .temporary, .authentication, .limited, .resource: return true
    case .recipientsRejected, .messageRejected, .protocolViolation: return false
    }
  }
}

extension SendingLimit {
  /// The limit an HTTP reply of the Gmail API names, if any: 429 (too many requests), or
  /// 403 with reason `rateLimitExceeded`/`userRateLimitExceeded` (rate) or
  /// `dailyLimitExceeded` (daily). For the HTTP route: throw
  /// `DeliveryFailure.limited(limit, text)` with what Google said.
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
