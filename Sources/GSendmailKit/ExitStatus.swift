// SPDX-License-Identifier: MIT
// The one place that decides gsendmail's exit status (SPEC §7). Every layer
// throws errors that name what happened; this maps them. Anything unexpected is
// an internal error (70).

/// Maps errors to exit codes.
public enum ExitStatus {
  /// The exit code for an error, with `queue = false` semantics: a temporary failure is 75
  /// and an authentication failure 77. (With the queue on, such a message is queued and
  /// the run exits 0 before this is asked.)
  public static func code(for error: any Error) -> SysExit {
    switch error {
    case is UsageError: return .usage
    case is BadMessage: return .dataError
    case is InputError: return .noInput
    case is ConfigError: return .configuration
    case let error as AliasError:
      switch error {
      case .syntax, .loop: return .configuration
      case .localDelivery, .unresolved: return .noUser
      }
    case let failure as DeliveryFailure:
      switch failure {
      case .temporary: return .temporaryFailure
      case .authentication: return .noPermission
      case .recipientsRejected: return .noUser
      case .messageRejected(_, let tooBig): return tooBig ? .dataError : .unavailable
      case .protocolViolation: return .protocolError
      }
    default: return .software
    }
  }
}
