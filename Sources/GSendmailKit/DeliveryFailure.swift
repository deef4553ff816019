// SPDX-License-Identifier: MIT
// What went wrong when a message was handed to a server, in SPEC §7's terms.
// The delivery code turns transport and SMTP errors into these; ExitStatus.swift
// turns these into exit codes.

/// Why a delivery attempt did not end with the server accepting the message.
public enum DeliveryFailure: Error, Equatable, Sendable, CustomStringConvertible {
  /// Try again later: connect/DNS/TLS failure or timeout, a 4xx reply, connection lost,
  /// token endpoint unreachable or 5xx.
  case temporary(String)
  /// The account cannot authenticate: no token yet, `invalid_grant`, AUTH rejected after a
  /// fresh token.
  case authentication(String)
  /// The server refused one or more recipients permanently; nothing was sent.
  case recipientsRejected(String)
  /// The server refused the message permanently. `tooBig` for size rejections.
  case messageRejected(String, tooBig: Bool)
  /// The server broke the protocol.
  case protocolViolation(String)

  public var description: String {
    switch self {
    case .temporary(let s), .authentication(let s), .recipientsRejected(let s), .protocolViolation(let s): return s
    case .messageRejected(let s, _): return s
    }
  }

  /// Whether a later attempt may succeed (the queue keeps the message for it).
  public var isTemporary: Bool {
    switch self {
    case .temporary, .authentication: return true
    case .recipientsRejected, .messageRejected, .protocolViolation: return false
    }
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
