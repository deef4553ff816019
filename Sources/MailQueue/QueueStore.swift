// SPDX-License-Identifier: MIT
// The storage interface of the queue (OpenSMTPD's queue backend), kept apart
// from the retry policy (its scheduler). `FileQueueStore` is the real one;
// `InMemoryQueueStore` serves the runner's unit tests.
//
// Life of an entry, as the front end drives it:
//
//   let draft = try store.create()          // tmp/, locked from the start
//   try draft.append(bytes) ...              // while stdin is read
//   let (entry, lock) = try store.commit(draft, envelope: e, header: h, arrival: now)
//   ... try delivery, reading the body with store.openBody(of: entry, holding: lock) ...
//   try store.remove(holding: lock)                     // sent
//   try store.update(entry (recordTemporaryFailure), holding: lock)   // deferred
//   try store.moveToFailed(entry, holding: lock)        // permanent failure or expiry
//
// A queue run: `entryIDs(.queued, …)` a page at a time (IDs only, so the run's memory
// does not grow with the queue), then for each `load` it, keep what `RetryPolicy.disposition` says is due,
// `tryLock` it (nil: another runner has it, skip), `load` it again under the lock (it
// may have changed), deliver, then remove/update/moveToFailed. `mailq` reads the
// entries one at a time with `forEachEntry`.

/// Where queue entries are kept.
public protocol QueueStore: AnyObject, Sendable {
  /// Starts a new entry. Its body is written through the draft.
  /// - Throws: `QueueError` (`isOutOfSpace` for a full disk).
  func create() throws(QueueError) -> QueueDraft

  /// Commits a draft: after this returns, the entry survives a crash. The entry is
  /// returned locked, so no queue runner can send it while the caller tries delivery.
  /// - Parameters:
  ///   - draft: The draft, with the whole body appended (`finish()` is called if needed).
  ///   - envelope: Sender, account, recipients, DSN parameters.
  ///   - header: The prepared header section (see `QueueEntry.header`).
  ///   - arrival: Now, seconds since the epoch; also the first attempt time.
  /// - Throws: `QueueError`; then nothing of the entry remains.
  func commit(_ draft: QueueDraft, envelope: QueueEnvelope, header: [UInt8], arrival: Int)
    throws(QueueError) -> (entry: QueueEntry, lock: QueueLock)

  /// The first `limit` IDs of an area's entries in ID order, which is the order of
  /// creation (an ID begins with its creation time), without reading the entries: a queue
  /// run takes them a page at a time, so that its memory does not grow with the queue.
  /// - Parameters:
  ///   - after: Only IDs above this one (nil: from the first).
  ///   - through: Only IDs up to this one (nil: to the last).
  ///   - limit: The most IDs returned.
  /// - Throws: when the directory cannot be listed.
  func entryIDs(_ area: QueueArea, after: PackedQueueID?, through: PackedQueueID?, limit: Int) throws(QueueError)
    -> QueueIDPage

  /// Reads the entries of an area one at a time in ID order, handing each to `visit`
  /// (nothing is held between two). An entry that cannot be opened, read or parsed is
  /// skipped and reported, never failing the whole listing; a corrupt one is moved to
  /// `corrupt/` when the store quarantines; one that goes while the area is read is left out.
  /// - Parameters:
  ///   - checkingBodies: Whether each body is checked too (there, with the size its
  ///     envelope records), as `load` does. Without, a listing (`mailq`) costs one system
  ///     call less per entry; a missing or cut body is then found when the entry is
  ///     loaded for delivery (never sent damaged), or by a checking listing.
  /// - Returns: Why each entry that could not be read was skipped.
  /// - Throws: when the directory itself cannot be listed, or the process is short of a
  ///   resource (`QueueError.isResourceShortage`): then nothing can be said about any entry.
  func forEachEntry(_ area: QueueArea, checkingBodies: Bool, _ visit: (QueueEntry) -> Void) throws(QueueError)
    -> [QueueError]

  /// One entry, queued or failed.
  /// - Throws: `.notFound`, or `.corrupt` (the entry was moved to `corrupt/`).
  func load(_ id: QueueID) throws(QueueError) -> QueueEntry

  /// Locks a queued entry for delivery.
  /// - Returns: The lock, or `nil` when another process holds it.
  /// - Throws: `.notFound` when the entry is gone (also when it went while locking).
  func tryLock(_ id: QueueID) throws(QueueError) -> QueueLock?

  /// Opens the body of a locked entry (queued, or just moved to `failed/`) for reading.
  /// - Throws: `.corrupt` when its size differs from the recorded one.
  func openBody(of entry: QueueEntry, holding lock: QueueLock) throws(QueueError) -> QueueBodyReader

  /// Rewrites a locked queued entry's state (attempts, next attempt, last error,
  /// deferred-for-authentication) atomically. The body and envelope stay as committed.
  func update(_ entry: QueueEntry, holding lock: QueueLock) throws(QueueError)

  /// Removes a locked queued entry (it was sent).
  func remove(holding lock: QueueLock) throws(QueueError)

  /// Moves a locked queued entry to `failed/`, with the state in `entry` (set its
  /// `lastError` to the reason first).
  func moveToFailed(_ entry: QueueEntry, holding lock: QueueLock) throws(QueueError)

  /// Deletes an entry, queued or failed (`gsendmailctl queue delete`).
  /// - Throws: `.locked` while a runner delivers it, `.notFound`.
  func delete(_ id: QueueID) throws(QueueError)

  /// Makes an entry due now (`gsendmailctl queue retry`): a queued entry gets
  /// `nextAttempt = now` and loses its deferred-for-authentication mark; a failed
  /// entry goes back to the queue the same way, with its attempts reset. Its arrival
  /// time is kept, so an old message gets one more attempt before it expires again.
  /// - Throws: `.locked` while a runner delivers it, `.notFound`.
  func retryNow(_ id: QueueID, now: Int) throws(QueueError)

  /// Runs `body` on an account's record of recent sends (for local sending limits),
  /// holding the record's lock meanwhile, and keeps what it leaves.
  /// - Returns: false when the record could not be read or written, or its lock was held
  ///   by another process for too long (then `body` may not have run).
  func withSendRecord(account: String, _ body: (inout SendRecord) -> Void) -> Bool

  /// Removes the entries kept in `failed/` for at least `maximumAge` seconds at `now`
  /// (and that `admits` accepts); an entry being worked on (locked) stays.
  /// - Returns: The entries removed.
  func purgeFailed(now: Int, maximumAge: Int, admits: (QueueEntry) -> Bool) throws(QueueError) -> [QueueEntry]

  /// Housekeeping for the start of a queue run: removes temporary files left by
  /// crashed writers (unlocked and older than `minimumAge` seconds) and body files
  /// without an envelope.
  func sweep(now: Int, minimumAge: Int) throws(QueueError)
}

/// A page of an area's IDs.
public struct QueueIDPage: Equatable, Sendable {
  /// The IDs, in order.
  public var ids: [PackedQueueID]
  /// The largest ID in the range asked for, on this page or beyond it; nil when none is.
  public var largest: PackedQueueID?

  public init(ids: [PackedQueueID], largest: PackedQueueID?) {
    self.ids = ids
    self.largest = largest
  }
}

/// What a listing found.
public struct QueueScan: Sendable {
  /// The entries read, in ID order (oldest first).
  public var entries: [QueueEntry]
  /// Why each entry that could not be read was skipped.
  public var skipped: [QueueError]

  public init(entries: [QueueEntry], skipped: [QueueError] = []) {
    self.entries = entries
    self.skipped = skipped
  }
}

extension QueueStore {
  /// Every ID of an area's entries, in ID order.
  public func entryIDs(_ area: QueueArea) throws(QueueError) -> [PackedQueueID] {
    try entryIDs(area, after: nil, through: nil, limit: .max).ids
  }

  /// The entries of an area, in ID order (oldest first), and the ones that could not be
  /// read (see `forEachEntry`, which does not hold them all).
  public func scan(_ area: QueueArea) throws(QueueError) -> QueueScan {
    var entries: [QueueEntry] = []
    let skipped = try forEachEntry(area, checkingBodies: true) { entries.append($0) }
    return QueueScan(entries: entries, skipped: skipped)
  }

  /// The queued entries (not `failed/`), oldest first; unreadable ones left out.
  public func list() throws(QueueError) -> [QueueEntry] { try scan(.queued).entries }

  /// The entries kept in `failed/`, oldest first; unreadable ones left out.
  public func listFailed() throws(QueueError) -> [QueueEntry] { try scan(.failed).entries }
}
