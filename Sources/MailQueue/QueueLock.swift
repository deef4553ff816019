// SPDX-License-Identifier: MIT
// The per-entry lock that keeps overlapping queue runners from sending a message
// twice. In the file store it is `flock(LOCK_EX)` on the entry's body file, which
// is never replaced; it is released when the object is released or dropped.

/// An exclusive lock on one queue entry.
public final class QueueLock {
  /// The locked entry.
  public let id: QueueID
  /// The body file's descriptor in the file store (the lock lives on it), else -1.
  public let fd: Int32
  private var onRelease: (() -> Void)?

  init(id: QueueID, fd: Int32 = -1, onRelease: @escaping () -> Void) {
    self.id = id
    self.fd = fd
    self.onRelease = onRelease
  }

  /// Whether the lock is still held.
  public var isHeld: Bool { onRelease != nil }

  /// Releases the lock (also done when the object goes away).
  public func release() {
    let action = onRelease
    onRelease = nil
    action?()
  }

  deinit { release() }
}
