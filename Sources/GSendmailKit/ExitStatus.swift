// SPDX-License-Identifier: MIT
// The one place that decides gsendmail's exit status (gsendmail(8), EXIT STATUS). Every layer
// throws errors that name what happened; this maps them. Anything unexpected is
// an internal error (70).

import GSendmailCore
import MailQueue
import MessageCore
import TokenStore
import Transport

#if canImport(Glibc)
  import Glibc
#endif

/// Maps errors to exit codes.
public enum ExitStatus {
  /// The exit code for an error, with `queue = false` semantics: a temporary failure is 75
  /// and an authentication failure 77. (With the queue on, such a message is queued and
  /// the run exits 0 before this is asked.)
  public static func code(for error: any Error) -> SysExit {
    switch error {
    case let note as OutcomeNote: return code(for: note.underlying)
    case is UsageError: return .usage
    case is BadMessage, is MessageError, is AddressError, is PreparationError: return .dataError
    case is InputError: return .noInput
    case is SenderRefused: return .noPermission
    case is ConfigError: return .configuration
    case let error as AliasError:
      switch error {
      case .syntax, .loop: return .configuration
      case .localDelivery, .unresolved: return .noUser
      }
    case let failure as DeliveryFailure:
      switch failure.kind {
      case .temporary, .limited, .resource: return .temporaryFailure
      case .authentication: return .noPermission
      case .recipientsRejected: return .noUser
      case .messageRejected(let tooBig): return tooBig ? .dataError : .unavailable
      case .protocolViolation: return .protocolError
      }
    case let error as QueueError:
      switch error {
      case .notFound, .invalidID: return .noUser  // gsendmailctl queue show|delete|retry
      default: return error.isOutOfSpace || error.isResourceShortage ? .temporaryFailure : .cannotCreate
      }
    case let error as TokenError:
      switch error.kind {
      case .temporary: return .temporaryFailure
      case .authentication: return .noPermission
      case .configuration: return .configuration
      }
    case let error as TransportError:
      if case .tlsConfiguration = error { return .configuration }
      return .temporaryFailure
    default: return .software
    }
  }
}

/// The one-line text for an error, as printed after `gsendmail: `.
public func errorText(_ error: any Error) -> String {
  switch error {
  case let e as MessageError:
    switch e {
    case .nulByte(let offset): return "the message holds a NUL byte (at byte \(offset)); it was not sent"
    case .headerTooLarge(let limit): return "the message header is larger than \(limit) bytes; it was not sent"
    case .messageTooLarge(let limit):
      return "the message is larger than max_message_size (\(limit) bytes); it was not sent"
    }
  case is AddressError, is PreparationError: return describe(error)
  case let kept as KeptElsewhere:
    return errorText(kept.underlying) + "; the message is kept in \(kept.path)/queue/failed/ (there is no usable queue)"
  case let kept as KeptInFailed:
    return errorText(kept.underlying)
      + "; the message is kept in \(kept.directory)/failed/ as \(kept.id) (see gsendmailctl queue show \(kept.id))"
  case let e as QueueError:
    if case .io(_, let code, .mkdir) = e, code == ENOENT || code == EACCES {
      return "\(e) (a per-user queue is kept under $XDG_STATE_HOME, by default ~/.local/state: "
        + "make that writable or set XDG_STATE_HOME; the system queue is made by the package)"
    }
    return "\(e)"
  default: return "\(error)"
  }
}
