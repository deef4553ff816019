// SPDX-License-Identifier: MIT
// The kind of each transport, SMTP and token failure: what it means for the exit code
// and the queue. The failure keeps the error itself as its cause; the text is made from
// it in DeliveryFailure+Text.swift.

import HTTPClient
import MailQueue
import SMTPCore
import TokenStore
import Transport

extension DeliveryFailure {
  /// Classifies any error met while talking to a server.
  static func from(_ error: any Error) -> any Error {
    switch error {
    case let e as TransportError: return from(e)
    case let e as SMTPFailure: return from(e)
    default: return error
    }
  }

  static func from(_ error: TransportError) -> DeliveryFailure {
    switch error {
    case .tlsLibraryUnavailable:
      return DeliveryFailure(.resource, .transport(error))
    case .connect(_, _, let code) where QueueError.isResourceErrno(code):
      return DeliveryFailure(.resource, .transport(error))
    case .io(let code) where QueueError.isResourceErrno(code):
      return DeliveryFailure(.resource, .transport(error))
    default:
      return DeliveryFailure(.temporary, .transport(error))
    }
  }

  static func from(_ failure: SMTPFailure) -> DeliveryFailure {
    DeliveryFailure(kind(of: failure), .smtp(failure))
  }

  /// A token failure met while delivering. (A configuration problem is a `ConfigError`,
  /// which the caller makes.)
  static func from(_ error: TokenError) -> DeliveryFailure {
    // libcurl that cannot be loaded (no descriptors left, say) is this process's
    // trouble, not the account's: not a delivery attempt.
    if case .http(.libraryUnavailable(_)) = error { return DeliveryFailure(.resource, .token(error)) }
    return DeliveryFailure(error.kind == .authentication ? .authentication : .temporary, .token(error))
  }

  /// What an SMTP failure means: a 4xx is temporary wherever it came; a 5xx refuses the
  /// account (AUTH), the recipients, or the message.
  static func kind(of failure: SMTPFailure) -> Kind {
    if let limit = failure.sendingLimit { return .limited(limit) }
    switch failure {
    case .connectionClosed:
      return .temporary
    case .protocolViolation:
      return .protocolViolation
    case .missingCapability(let capability):
      switch capability {
      case .startTLS, .auth: return .temporary
      case .eightBitMIME, .smtpUTF8: return .messageRejected(tooBig: false)
      }
    case .rejected(let reply, let phase):
      if failure.isHELONameRejected || reply.code / 100 == 4 { return .temporary }
      switch phase {
      case .auth:
        return .authentication
      case .greeting, .ehlo, .helo, .startTLS, .idle, .rset, .quit:
        return .messageRejected(tooBig: false)
      case .mailFrom, .rcptTo, .data, .endOfData:
        let tooBig = reply.code == 552 || ["5.3.4", "5.2.3"].contains(reply.enhancedStatus.map { "\($0)" } ?? "")
        return .messageRejected(tooBig: tooBig)
      }
    case .authenticationFailed(let auth):
      return auth.reply.code / 100 == 4 ? .temporary : .authentication
    case .recipientsRejected(let results):
      let permanent = results.contains { !$0.isAccepted && $0.reply.code / 100 == 5 }
      return permanent ? .recipientsRejected : .temporary
    case .invalidAddress:
      return .messageRejected(tooBig: false)
    case .credentialUnavailable:
      return .authentication
    }
  }
}
