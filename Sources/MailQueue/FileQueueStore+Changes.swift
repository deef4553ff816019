// SPDX-License-Identifier: MIT
// The file store's changes to committed entries: state updates, removal, moves
// between entries/ and failed/, delete and retry. Each keeps "an envelope is never
// without its body" (see FileQueueStore.swift) and runs under the entry's lock.

#if canImport(Glibc)
import Glibc
#endif

extension FileQueueStore {
  public func update(_ entry: QueueEntry, holding lock: QueueLock) throws(QueueError) {
    precondition(lock.isHeld && lock.id == entry.id, "update needs the entry's own lock")
    let current = try loadEntry(entry.id, .queued)
    try rewrite(current.withState(of: entry), in: .queued)
  }

  public func remove(holding lock: QueueLock) throws(QueueError) {
    precondition(lock.isHeld, "remove needs a held lock")
    try removeFiles(lock.id, .queued)
  }

  public func moveToFailed(_ entry: QueueEntry, holding lock: QueueLock) throws(QueueError) {
    precondition(lock.isHeld && lock.id == entry.id, "moveToFailed needs the entry's own lock")
    let current = try loadEntry(entry.id, .queued)
    try move(current.withState(of: entry), from: .queued, to: .failed)
  }

  public func delete(_ id: QueueID) throws(QueueError) {
    try withEntryLocked(id) { (area) throws(QueueError) in try removeFiles(id, area) }
  }

  public func retryNow(_ id: QueueID, now: Int) throws(QueueError) {
    try withEntryLocked(id) { (area) throws(QueueError) in
      var entry = try loadEntry(id, area)
      entry.nextAttempt = now
      entry.deferredForAuthentication = false
      entry.held = false
      if area == .queued {
        try rewrite(entry, in: .queued)
      } else {
        entry.attempts = 0
        try ensureDirectory(areaDirectory(.queued))
        try move(entry, from: .failed, to: .queued)
      }
    }
  }

  /// Runs `body` on entry `id`, found in entries/ or failed/, while holding its lock, and
  /// releases the lock after it.
  /// - Throws: `.notFound` when the entry is in neither, `.locked` when another runner
  ///   holds it, or what `body` throws.
  func withEntryLocked(_ id: QueueID, _ body: (QueueArea) throws(QueueError) -> Void) throws(QueueError) {
    for area in [QueueArea.queued, .failed] {
      let lock: QueueLock?
      do throws(QueueError) {
        lock = try lockEntry(id, area)
      } catch .notFound {
        continue
      }
      guard let lock else { throw .locked(id) }
      try body(area)
      lock.release()
      return
    }
    throw .notFound(id)
  }

  /// Replaces an entry's env atomically: write to tmp/, fsync, rename over, fsync the
  /// directory.
  func rewrite(_ entry: QueueEntry, in area: QueueArea) throws(QueueError) {
    let temporary = tmpDirectory + "/\(entry.id).env"
    try ensureDirectory(tmpDirectory)
    do throws(QueueError) {
      try writeDurably(temporary, EnvelopeRecord.encode(entry))
      try rename(temporary, envPath(entry.id, area))
    } catch {
      _ = sys.unlink(temporary)
      throw error
    }
    try syncDirectory(areaDirectory(area))
  }

  /// Moves an entry between entries/ and failed/ with its new state. The env moves in
  /// one rename, so the entry is in exactly one place at every moment.
  func move(_ entry: QueueEntry, from source: QueueArea, to target: QueueArea) throws(QueueError) {
    let id = entry.id
    try ensureDirectory(areaDirectory(target))
    let targetBody = bodyPath(id, target)
    var linked = false
    do throws(QueueError) {
      var result = sys.link(bodyPath(id, source), targetBody)
      if result == -EEXIST {
        // A link left by a crash in an earlier move: replace it.
        _ = sys.unlink(targetBody)
        result = sys.link(bodyPath(id, source), targetBody)
      }
      guard result == 0 else { throw QueueError.system(-result, .link, targetBody) }
      linked = true
      try syncDirectory(areaDirectory(target))
      try rewrite(entry.in(source), in: source)
      try rename(envPath(id, source), envPath(id, target))
    } catch {
      if linked { _ = sys.unlink(targetBody) }
      throw error
    }
    try syncDirectory(areaDirectory(target))
    _ = sys.unlink(bodyPath(id, source))
    try syncDirectory(areaDirectory(source))
  }

  /// Removes an entry: env first (the entry is gone), then the body.
  func removeFiles(_ id: QueueID, _ area: QueueArea) throws(QueueError) {
    let env = envPath(id, area)
    let result = sys.unlink(env)
    if result == -ENOENT { throw .notFound(id) }
    guard result == 0 else { throw .system(-result, .unlink, env) }
    let body = sys.unlink(bodyPath(id, area))
    guard body == 0 || body == -ENOENT else { throw .system(-body, .unlink, bodyPath(id, area)) }
    // No directory sync, as Postfix does not sync after removing a delivered file: a crash
    // can at worst bring the entry back, and a message sent twice is not a message lost.
  }
}
