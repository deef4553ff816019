// SPDX-License-Identifier: MIT
// A queue kept in memory (OpenSMTPD's ram backend), with the same rules as the
// file store: entries are locked from commit, a locked entry cannot be locked
// again, delete and retry refuse a locked entry. For the runner's unit tests.
// Thread-safe; nothing survives the process.

import Synchronization

/// A queue in memory, for tests.
public final class InMemoryQueueStore: QueueStore {
  private struct Stored {
    var entry: QueueEntry
    var body: [UInt8]
  }

  private struct State {
    var queued: [QueueID: Stored] = [:]
    var failed: [QueueID: Stored] = [:]
    var locked: Set<QueueID> = []
    var counter = 0
    var records: [String: SendRecord] = [:]
    var listings = 0
    var pages = 0
    var loads = 0
  }

  private let state = Mutex(State())

  /// Makes an empty queue.
  public init() {}

  /// The IDs currently locked (for tests).
  public var lockedIDs: Set<QueueID> { state.withLock { $0.locked } }

  /// How many times every entry of an area was read (`forEachEntry`, `scan`), for tests.
  public var listings: Int { state.withLock { $0.listings } }
  /// How many pages of IDs were asked for (`entryIDs`), for tests.
  public var pages: Int { state.withLock { $0.pages } }
  /// How many entries were read one by one (`load`), for tests.
  public var loads: Int { state.withLock { $0.loads } }

  public func create() throws(QueueError) -> QueueDraft {
    let id = state.withLock { state -> QueueID in
      state.counter += 1
      var generator = CountingGenerator(seed: UInt64(state.counter))
      return QueueID.generate(seconds: state.counter, microseconds: 0, using: &generator)
    }
    return QueueDraft(id: id, sink: MemoryDraftSink())
  }

  public func commit(_ draft: QueueDraft, envelope: QueueEnvelope, header: [UInt8], arrival: Int)
    throws(QueueError) -> (entry: QueueEntry, lock: QueueLock)
  {
    guard let sink = draft.sink as? MemoryDraftSink else {
      preconditionFailure("a draft can only be committed to the store that created it")
    }
    do throws(QueueError) {
      try EnvelopeRecord.validate(envelope)
      try draft.finish()
    } catch {
      draft.abandon()
      throw error
    }
    let entry = QueueEntry(
      id: draft.id, arrival: arrival, envelope: envelope, header: header, body: draft.body, nextAttempt: arrival)
    draft.markCommitted()
    state.withLock {
      $0.queued[entry.id] = Stored(entry: entry, body: sink.bytes)
      $0.locked.insert(entry.id)
    }
    return (entry, makeLock(entry.id))
  }

  public func entryIDs(
    _ area: QueueArea, after: PackedQueueID?, through: PackedQueueID?, limit: Int
  ) throws(QueueError) -> QueueIDPage {
    let all = state.withLock { state in
      state.pages += 1
      return (area == .queued ? state.queued : state.failed).keys.map(PackedQueueID.init).sorted()
    }
    let range = all.filter { id in after.map { id > $0 } ?? true && through.map { id <= $0 } ?? true }
    return QueueIDPage(ids: Array(range.prefix(limit)), largest: range.last)
  }

  public func forEachEntry(
    _ area: QueueArea, checkingBodies: Bool, _ visit: (QueueEntry) -> Void
  ) throws(QueueError) -> [QueueError] {
    let entries = state.withLock { state in
      state.listings += 1
      return (area == .queued ? state.queued : state.failed).values.map(\.entry)
    }
    for entry in entries.sorted(by: { $0.id < $1.id }) { visit(entry) }
    return []
  }

  public func load(_ id: QueueID) throws(QueueError) -> QueueEntry {
    let entry = state.withLock { state in
      state.loads += 1
      return (state.queued[id] ?? state.failed[id])?.entry
    }
    guard let entry else { throw .notFound(id) }
    return entry
  }

  public func tryLock(_ id: QueueID) throws(QueueError) -> QueueLock? {
    let result = state.withLock { state -> Bool? in
      guard state.queued[id] != nil else { return nil }
      return state.locked.insert(id).inserted
    }
    guard let result else { throw .notFound(id) }
    return result ? makeLock(id) : nil
  }

  public func openBody(of entry: QueueEntry, holding lock: QueueLock) throws(QueueError) -> QueueBodyReader {
    precondition(lock.isHeld && lock.id == entry.id, "openBody needs the entry's own lock")
    guard let body = state.withLock({ ($0.queued[entry.id] ?? $0.failed[entry.id])?.body }) else {
      throw .notFound(entry.id)
    }
    return QueueBodyReader(id: entry.id, size: body.count, lock: lock) { offset, count in
      Array(body[offset..<min(offset + count, body.count)])
    }
  }

  public func update(_ entry: QueueEntry, holding lock: QueueLock) throws(QueueError) {
    precondition(lock.isHeld && lock.id == entry.id, "update needs the entry's own lock")
    let found = state.withLock { state -> Bool in
      guard let stored = state.queued[entry.id] else { return false }
      state.queued[entry.id]?.entry = stored.entry.withState(of: entry)
      return true
    }
    guard found else { throw .notFound(entry.id) }
  }

  public func remove(holding lock: QueueLock) throws(QueueError) {
    precondition(lock.isHeld, "remove needs a held lock")
    guard state.withLock({ $0.queued.removeValue(forKey: lock.id) }) != nil else { throw .notFound(lock.id) }
  }

  public func moveToFailed(_ entry: QueueEntry, holding lock: QueueLock) throws(QueueError) {
    precondition(lock.isHeld && lock.id == entry.id, "moveToFailed needs the entry's own lock")
    let found = state.withLock { state -> Bool in
      guard let stored = state.queued.removeValue(forKey: entry.id) else { return false }
      state.failed[entry.id] = Stored(entry: stored.entry.withState(of: entry).in(.failed), body: stored.body)
      return true
    }
    guard found else { throw .notFound(entry.id) }
  }

  public func delete(_ id: QueueID) throws(QueueError) {
    try state.withLock { (state) throws(QueueError) in
      guard state.queued[id] != nil || state.failed[id] != nil else { throw .notFound(id) }
      guard !state.locked.contains(id) else { throw .locked(id) }
      state.queued[id] = nil
      state.failed[id] = nil
    }
  }

  public func retryNow(_ id: QueueID, now: Int) throws(QueueError) {
    try state.withLock { (state) throws(QueueError) in
      guard !state.locked.contains(id) || (state.queued[id] == nil && state.failed[id] == nil) else {
        throw .locked(id)
      }
      if var stored = state.queued[id] {
        stored.entry.nextAttempt = now
        stored.entry.deferredForAuthentication = false
        stored.entry.held = false
        state.queued[id] = stored
      } else if var stored = state.failed.removeValue(forKey: id) {
        stored.entry.nextAttempt = now
        stored.entry.deferredForAuthentication = false
        stored.entry.held = false
        stored.entry.attempts = 0
        stored.entry.area = .queued
        state.queued[id] = stored
      } else {
        throw .notFound(id)
      }
    }
  }

  public func sweep(now: Int, minimumAge: Int) throws(QueueError) {}

  public func withSendRecord(account: String, _ body: (inout SendRecord) -> Void) -> Bool {
    state.withLock { body(&$0.records[account, default: SendRecord()]) }
    return true
  }

  /// In memory there is no time of the move to failed/: an entry's age there counts from
  /// its arrival.
  public func purgeFailed(now: Int, maximumAge: Int, admits: (QueueEntry) -> Bool) throws(QueueError) -> [QueueEntry] {
    state.withLock { state in
      let old = state.failed.values.map(\.entry).filter {
        now - $0.arrival >= maximumAge && admits($0) && !state.locked.contains($0.id)
      }
      for entry in old { state.failed[entry.id] = nil }
      return old.sorted { $0.id < $1.id }
    }
  }

  private func makeLock(_ id: QueueID) -> QueueLock {
    QueueLock(id: id) { _ = self.state.withLock { $0.locked.remove(id) } }
  }
}

/// A draft body kept in memory.
private final class MemoryDraftSink: DraftSink {
  var bytes: [UInt8] = []
  func write(_ bytes: UnsafeRawBufferPointer) throws(QueueError) { self.bytes += bytes }
  func sync() throws(QueueError) {}
  func discard() { bytes = [] }
}

/// Deterministic IDs for the in-memory store (SplitMix64).
private struct CountingGenerator: RandomNumberGenerator {
  var seed: UInt64
  mutating func next() -> UInt64 {
    seed &+= 0x9e37_79b9_7f4a_7c15
    var z = seed
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }
}
