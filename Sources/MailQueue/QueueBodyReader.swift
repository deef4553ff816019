// SPDX-License-Identifier: MIT
// Streams a queued body back, chunk by chunk, without loading it whole. A body
// that ends early is reported as corrupt rather than sent short.

/// Reads the body of a locked entry.
public final class QueueBodyReader {
  /// The body size recorded at commit.
  public let size: Int
  private var offset = 0
  private let readChunk: (_ offset: Int, _ count: Int) throws(QueueError) -> [UInt8]
  private let id: QueueID
  /// Keeps the entry locked while its body is read.
  private let lock: QueueLock

  init(
    id: QueueID, size: Int, lock: QueueLock,
    readChunk: @escaping (_ offset: Int, _ count: Int) throws(QueueError) -> [UInt8]
  ) {
    self.id = id
    self.size = size
    self.lock = lock
    self.readChunk = readChunk
  }

  /// The next chunk of at most `maxCount` bytes, or `nil` at the end.
  /// - Throws: `QueueError.corrupt` when the file ends before `size` bytes, or an I/O error.
  public func next(maxCount: Int = 65_536) throws(QueueError) -> [UInt8]? {
    guard offset < size else { return nil }
    let chunk = try readChunk(offset, min(max(maxCount, 1), size - offset))
    guard !chunk.isEmpty else { throw .corrupt(id, reason: "body shorter than recorded") }
    offset += chunk.count
    return chunk
  }

  /// Reads everything that is left (for small bodies and tests).
  public func readAll() throws(QueueError) -> [UInt8] {
    var out: [UInt8] = []
    while let chunk = try next() { out += chunk }
    return out
  }
}
