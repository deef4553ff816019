// SPDX-License-Identifier: MIT
// A queue entry being written: the front end streams the body into it while it
// reads stdin, then hands it to `QueueStore.commit`. Bytes are buffered 64 KiB
// at a time; `finish()` writes the rest and makes it durable. On any failure the
// draft's temporary files are removed at once, and a draft dropped without a
// commit removes them too: nothing half-written can ever be listed.

import MessageCore

/// Where a draft's bytes go (a temporary file, or memory).
protocol DraftSink: AnyObject {
  /// Writes all the bytes.
  func write(_ bytes: UnsafeRawBufferPointer) throws(QueueError)
  /// Makes what was written durable.
  func sync() throws(QueueError)
  /// Removes what was written (best effort).
  func discard()
}

/// A queue entry whose body is being written.
public final class QueueDraft {
  /// The ID the entry will have.
  public let id: QueueID
  let sink: DraftSink
  private var buffer: [UInt8] = []
  /// Measured as the body is written, with MessageCore's own statistics.
  private var measured = MessageCore.BodyStatistics()
  /// Set once the bytes are on disk; `commit` checks it.
  private(set) var isFinished = false
  /// Set after a failure, `abandon()` or commit: no more writes.
  private(set) var isClosed = false
  /// Set by `markCommitted`: `abandon()` no longer touches the files.
  private var isCommitted = false
  /// The error that closed the draft.
  private var failure: QueueError?
  /// Cleared by the store when the entry has been committed.
  var discardOnDeinit = true

  /// The buffer size (64 KiB).
  public static let bufferSize = 65_536

  init(id: QueueID, sink: DraftSink) {
    self.id = id
    self.sink = sink
    buffer.reserveCapacity(QueueDraft.bufferSize)
  }

  deinit {
    if discardOnDeinit { sink.discard() }
  }

  /// The body's measurements so far (final after `finish()`).
  public var body: BodyStatistics {
    let done = measured.completed
    return BodyStatistics(size: done.byteCount, has8BitBytes: done.has8bit, longestLine: done.longestLine)
  }

  /// Appends body bytes.
  /// - Throws: `QueueError` when the temporary file cannot be written; the draft is then
  ///   removed and cannot be used again.
  public func append(_ bytes: [UInt8]) throws(QueueError) { try appendBytes(bytes[...]) }
  /// Appends body bytes (see `append(_:)` for `[UInt8]`).
  public func append(_ bytes: ArraySlice<UInt8>) throws(QueueError) { try appendBytes(bytes) }
  /// Appends body bytes (see `append(_:)` for `[UInt8]`).
  public func append<C: Collection>(_ bytes: C) throws(QueueError) where C.Element == UInt8 {
    try appendBytes(Array(bytes)[...])
  }

  // One concrete body: a generic called from another module would run unspecialized,
  // one protocol call per byte.
  private func appendBytes(_ bytes: ArraySlice<UInt8>) throws(QueueError) {
    try checkOpen()
    guard !isFinished else { throw .notFound(id) }
    measured.add(bytes)
    if buffer.count + bytes.count > QueueDraft.bufferSize { try flush() }
    if bytes.count >= QueueDraft.bufferSize {
      let chunk = Array(bytes)
      try guarded { () throws(QueueError) in
        try withRawBytes(chunk) { (raw) throws(QueueError) in try sink.write(raw) }
      }
    } else {
      buffer.append(contentsOf: bytes)
    }
  }

  /// Writes what is buffered and syncs the file (`fsync`). Called by `commit` when the
  /// caller has not done it.
  /// - Throws: `QueueError`; the draft is then removed.
  public func finish() throws(QueueError) {
    guard !isFinished else { return }
    try checkOpen()
    try flush()
    try guarded { () throws(QueueError) in try sink.sync() }
    isFinished = true
  }

  /// Throws the error that closed the draft (or `.notFound` after `abandon()`).
  private func checkOpen() throws(QueueError) {
    if let failure { throw failure }
    if isClosed { throw .notFound(id) }
  }

  /// Called by the store once the entry is committed: the files are no longer the draft's.
  func markCommitted() {
    isCommitted = true
    isClosed = true
    discardOnDeinit = false
  }

  /// Gives up the draft and removes its temporary files.
  public func abandon() {
    guard !isCommitted else { return }
    isClosed = true
    discardOnDeinit = false
    sink.discard()
  }

  private func flush() throws(QueueError) {
    guard !buffer.isEmpty else { return }
    try guarded { () throws(QueueError) in
      try withRawBytes(buffer) { (raw) throws(QueueError) in try sink.write(raw) }
    }
    buffer.removeAll(keepingCapacity: true)
  }

  /// Runs a write step; on failure the draft is discarded before the error goes up.
  private func guarded(_ step: () throws(QueueError) -> Void) throws(QueueError) {
    do throws(QueueError) {
      try step()
    } catch {
      failure = error
      abandon()
      throw error
    }
  }
}
