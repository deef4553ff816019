// SPDX-License-Identifier: MIT
// Where the front end writes: standard output and standard error as plain file
// descriptors (no buffering surprises when the process exits), or a capture for tests.

#if canImport(Glibc)
import Glibc
#endif

/// A byte sink.
public protocol OutputSink: AnyObject {
  func write(_ bytes: [UInt8])
}

extension OutputSink {
  /// Writes UTF-8 text.
  public func write(_ text: String) { write(Array(text.utf8)) }
}

/// Writes to a file descriptor, retrying short writes and EINTR.
public final class FileDescriptorSink: OutputSink {
  let fd: Int32
  public init(fd: Int32) { self.fd = fd }
  public func write(_ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return }
      offset += n
    }
  }
}

/// Collects output in memory (tests).
public final class CaptureSink: OutputSink {
  public private(set) var bytes: [UInt8] = []
  public init() {}
  public func write(_ bytes: [UInt8]) { self.bytes += bytes }
  public var text: String { String(decoding: bytes, as: UTF8.self) }
}
