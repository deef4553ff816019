// SPDX-License-Identifier: MIT
// The errors of the queue. Each case names what happened; the front end decides
// the exit code (out of space → 75, any other write failure → 73).

#if canImport(Glibc)
import Glibc
#endif

/// The system call that failed, for `QueueError.io`.
public enum QueueOperation: String, Sendable, Equatable {
  case open, read, write, fsync, rename, link, unlink, mkdir, chmod, chown, lock, stat, list
}

/// What went wrong in the queue.
public enum QueueError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file system is full (`ENOSPC`) or the disk quota is used up (`EDQUOT`).
  case noSpace(path: String)
  /// A system call failed with `errno`.
  case io(path: String, errno: Int32, operation: QueueOperation)
  /// The text is not a queue ID: only 16 to 24 characters of `[0-9A-Za-z]` are.
  case invalidID(String)
  /// No such entry (it may have been sent or removed meanwhile).
  case notFound(QueueID)
  /// Another process holds the entry's lock (it is being delivered).
  case locked(QueueID)
  /// The entry's files are damaged. `list` and `load` move such an entry to `corrupt/`.
  case corrupt(QueueID, reason: String)
  /// The envelope cannot be stored: a field holds a line break or control character, or
  /// there is no recipient.
  case invalidEnvelope(String)

  /// Whether the failure is a lack of space (the front end exits 75, not 73).
  public var isOutOfSpace: Bool {
    if case .noSpace = self { return true }
    return false
  }

  public var description: String {
    switch self {
    case .noSpace(let path): return "\(path): no space left on device"
    case .io(let path, let code, let op):
      return "\(path): \(op.rawValue) failed: \(String(cString: strerror(code)))"
    case .invalidID(let text): return "not a queue ID: \(QueueError.printable(text))"
    case .notFound(let id): return "\(id): no such queue entry"
    case .locked(let id): return "\(id): the entry is being delivered by another process"
    case .corrupt(let id, let reason): return "\(id): corrupt queue entry (\(reason))"
    case .invalidEnvelope(let reason): return "cannot queue the message: \(reason)"
    }
  }

  /// Whether the failure is the process running short of a resource (descriptors,
  /// memory), not a fault of the entry: such an error says nothing about the entry and
  /// must not change its state.
  public var isResourceShortage: Bool {
    if case .io(_, let code, _) = self { return QueueError.isResourceErrno(code) }
    return false
  }

  /// `EMFILE`, `ENFILE`, `ENOMEM`, `ENOBUFS`: the process or the system is out of a resource.
  public static func isResourceErrno(_ code: Int32) -> Bool {
    code == EMFILE || code == ENFILE || code == ENOMEM || code == ENOBUFS
  }

  /// Builds the error for a failed system call, folding `ENOSPC`/`EDQUOT` into `.noSpace`.
  static func system(_ code: Int32, _ op: QueueOperation, _ path: String) -> QueueError {
    code == ENOSPC || code == EDQUOT ? .noSpace(path: path) : .io(path: path, errno: code, operation: op)
  }

  /// Text safe to print: control characters become `?`, and at most 64 characters.
  static func printable(_ text: String) -> String {
    String(String.UnicodeScalarView(text.unicodeScalars.prefix(64).map {
      $0.value < 0x20 || $0.value == 0x7f ? "?" : $0
    }))
  }
}
