// SPDX-License-Identifier: MIT
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import MailQueue

@Suite("FileQueueStore")
struct FileQueueStoreTests {
  // MARK: Round trips

  @Test("Commit, list, load, read the body, update, remove")
  func roundTrip() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    #expect(try store.list() == [])
    let draft = try store.create()
    var body: [UInt8] = []
    for i in 0..<3000 { body += Array("line \(i) ü\r\n".utf8) }
    body += [UInt8](repeating: 0x41, count: 70_000)  // a chunk bigger than the buffer, no final CRLF
    try draft.append(body[0..<100])
    try draft.append(body[100..<body.count - 70_000])
    try draft.append(body[(body.count - 70_000)...])
    #expect(RawFile.names(dir.path + "/queue/tmp") == ["\(draft.id).body"])
    let (entry, lock) = try store.commit(draft, envelope: sampleEnvelope, header: sampleHeader, arrival: 1000)
    #expect(entry.body == BodyStatistics(size: body.count, has8BitBytes: true, longestLine: 70_000))
    #expect(entry.nextAttempt == 1000 && entry.attempts == 0 && entry.area == .queued)
    #expect(RawFile.names(dir.path + "/queue/tmp") == [])
    #expect(RawFile.names(dir.path + "/queue/entries") == ["\(entry.id).body", "\(entry.id).env"])
    #expect(try store.list() == [entry])
    #expect(try store.load(entry.id) == entry)
    #expect(try store.openBody(of: entry, holding: lock).readAll() == body)

    var changed = entry
    changed.recordTemporaryFailure(reason: "421 4.7.0\r\nTry again later", nextAttempt: 1300)
    changed.envelope.sender = "mallory@example.com"  // not the state: ignored by update
    try store.update(changed, holding: lock)
    let reloaded = try store.load(entry.id)
    #expect(reloaded.attempts == 1 && reloaded.nextAttempt == 1300)
    #expect(reloaded.lastError == "421 4.7.0  Try again later")
    #expect(reloaded.envelope == sampleEnvelope)

    try store.remove(holding: lock)
    #expect(try store.list() == [])
    #expect(throws: QueueError.notFound(entry.id)) { try store.load(entry.id) }
    #expect(RawFile.names(dir.path + "/queue/entries") == [])
  }

  @Test("Directories are made 0700 and files 0600; existing directories keep their mode")
  func modes() throws {
    let dir = TemporaryDirectory()
    mkdir(dir.path + "/queue", 0o755)
    let store = makeStore(dir)
    let (entry, _) = try commitSample(store)
    #expect(RawFile.mode(dir.path + "/queue") == 0o755)
    for sub in ["tmp", "entries", "failed", "corrupt"] { #expect(RawFile.mode(dir.path + "/queue/" + sub) == 0o700) }
    #expect(RawFile.mode(dir.path + "/queue/entries/\(entry.id).env") == 0o600)
    #expect(RawFile.mode(dir.path + "/queue/entries/\(entry.id).body") == 0o600)
  }

  @Test("A missing queue directory lists as empty and is not created by listing")
  func missingDirectory() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    #expect(try store.list() == [])
    #expect(try store.listFailed() == [])
    #expect(RawFile.names(dir.path) == [])
  }

  @Test("Failed entries: move, list, retry back, delete")
  func failedArea() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    let (entry, lock) = try commitSample(store)
    var failed = entry
    failed.lastError = "550 5.1.1 no such user"
    try store.moveToFailed(failed, holding: lock)
    #expect(try store.list() == [])
    let kept = try store.listFailed()
    #expect(kept.count == 1 && kept.first?.area == .failed && kept.first?.lastError == "550 5.1.1 no such user")
    #expect(try store.load(entry.id).area == .failed)
    #expect(RawFile.names(dir.path + "/queue/entries") == [])
    // The body is still readable through the lock after the move (for the notice).
    #expect(try store.openBody(of: kept[0], holding: lock).readAll() == Array("Hello\r\n".utf8))
    #expect(throws: QueueError.locked(entry.id)) { try store.retryNow(entry.id, now: 5000) }
    lock.release()

    // A process that another test spawns at this moment shares the lock's open file until
    // its exec closes it (flock belongs to the open file description): allow for that.
    for attempt in 0..<100 {
      do {
        try store.retryNow(entry.id, now: 5000)
        break
      } catch {
        guard error == .locked(entry.id), attempt < 99 else { throw error }
        usleep(10_000)
      }
    }
    #expect(try store.listFailed() == [])
    let back = try store.list()
    #expect(back.count == 1 && back[0].nextAttempt == 5000 && back[0].attempts == 0 && back[0].area == .queued)
    #expect(RawFile.names(dir.path + "/queue/failed") == [])

    try store.delete(entry.id)
    #expect(try store.list() == [])
    #expect(throws: QueueError.notFound(entry.id)) { try store.delete(entry.id) }
  }

  @Test("retryNow makes a queued entry due and clears the wait for login")
  func retryQueued() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    let (entry, lock) = try commitSample(store)
    var waiting = entry
    waiting.recordTemporaryFailure(reason: "no token", nextAttempt: 99_999, forAuthentication: true)
    try store.update(waiting, holding: lock)
    #expect(throws: QueueError.locked(entry.id)) { try store.delete(entry.id) }
    lock.release()
    try store.retryNow(entry.id, now: 42)
    let due = try store.load(entry.id)
    #expect(due.nextAttempt == 42 && !due.deferredForAuthentication && due.attempts == 1)
    withExtendedLifetime(dir) {}
  }

  // MARK: Crash leftovers and corruption

  @Test("Files in tmp/ are never listed, and sweep removes them once unlocked and old")
  func tmpLeftovers() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    let live = try store.create()
    try live.append(Array("in progress".utf8))
    let tmp = dir.path + "/queue/tmp"
    RawFile.write(tmp + "/0DEADDEADDEADDEAD.body", Array("crashed".utf8))
    RawFile.write(tmp + "/0DEADDEADDEADDEAD.env", Array("gsendmail-queue 1\n".utf8))
    #expect(try store.list() == [])
    try store.sweep(now: Int(time(nil)) + 7200, minimumAge: 3600)
    #expect(RawFile.names(tmp) == ["\(live.id).body"])  // the live draft is locked: kept
    try store.sweep(now: Int(time(nil)), minimumAge: 3600)
    #expect(RawFile.names(tmp) == ["\(live.id).body"])
    live.abandon()
    #expect(RawFile.names(tmp) == [])
  }

  @Test("A draft dropped without commit leaves nothing")
  func droppedDraft() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    do {
      let draft = try store.create()
      try draft.append(Array("x".utf8))
    }
    #expect(RawFile.names(dir.path + "/queue/tmp") == [])
  }

  static let damages: [(String, @Sendable (String, QueueID) -> Void, String)] = [
    ("env without end", { q, id in
      let path = q + "/entries/\(id).env"
      RawFile.write(path, Array((RawFile.read(path) ?? []).dropLast(4)))
    }, "missing end record"),
    ("wrong version", { q, id in
      let path = q + "/entries/\(id).env"
      RawFile.write(path, Array("gsendmail-queue 9".utf8) + (RawFile.read(path) ?? []).dropFirst(17))
    }, "unknown format version"),
    ("truncated body", { q, id in
      let path = q + "/entries/\(id).body"
      RawFile.write(path, Array((RawFile.read(path) ?? []).dropLast(2)))
    }, "body size 5 differs from recorded 7"),
    ("body missing", { q, id in _ = unlink(q + "/entries/\(id).body") }, "body missing"),
  ]

  @Test("Damaged entries are quarantined, never listed", arguments: 0..<damages.count)
  func quarantine(index: Int) throws {
    let (_, damage, reason) = Self.damages[index]
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    let (entry, lock) = try commitSample(store)
    let (good, goodLock) = try commitSample(store, arrival: 1_709_632_900)
    lock.release()
    goodLock.release()
    damage(dir.path + "/queue", entry.id)
    #expect(throws: QueueError.corrupt(entry.id, reason: reason)) { try store.load(entry.id) }
    #expect(try store.list() == [good])
    #expect(RawFile.names(dir.path + "/queue/corrupt").contains("\(entry.id).env"))
    #expect(!RawFile.names(dir.path + "/queue/entries").contains { $0.hasPrefix(entry.id.rawValue) })
  }

  @Test("A damaged entry someone holds locked is not listed but not moved either")
  func lockedCorrupt() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    let (entry, lock) = try commitSample(store)
    let path = dir.path + "/queue/entries/\(entry.id).env"
    RawFile.write(path, Array((RawFile.read(path) ?? []).dropLast(4)))
    #expect(try store.list() == [])
    #expect(RawFile.names(dir.path + "/queue/corrupt") == [])
    lock.release()
    #expect(try store.list() == [])
    #expect(RawFile.names(dir.path + "/queue/corrupt").count == 2)
  }

  @Test("An orphan body (crash between the two renames) is not listed; sweep removes it")
  func orphanBody() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    let (entry, lock) = try commitSample(store)
    lock.release()
    _ = unlink(dir.path + "/queue/entries/\(entry.id).env")
    #expect(try store.list() == [])
    try store.sweep(now: 0, minimumAge: 0)
    #expect(RawFile.names(dir.path + "/queue/entries") == [])
  }

  @Test("Files that are not queue entries are ignored")
  func strangers() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    _ = try commitSample(store)
    RawFile.write(dir.path + "/queue/entries/..env", [])
    RawFile.write(dir.path + "/queue/entries/README.env", [])
    #expect(try store.list().count == 1)
  }

  // MARK: Locks

  @Test("Two stores: the second cannot lock what the first holds")
  func twoStores() throws {
    let dir = TemporaryDirectory()
    let first = makeStore(dir)
    let second = makeStore(dir)
    let (entry, lock) = try commitSample(first)
    #expect(try second.tryLock(entry.id) == nil)
    lock.release()
    let taken = try #require(try second.tryLock(entry.id))
    #expect(try first.tryLock(entry.id) == nil)
    #expect(throws: QueueError.locked(entry.id)) { try first.delete(entry.id) }
    try second.remove(holding: taken)
    #expect(throws: QueueError.notFound(entry.id)) { try first.tryLock(entry.id) }
  }

  @Test("Another process (flock(1)) cannot lock the body while we hold it")
  func otherProcess() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    let (entry, lock) = try commitSample(store)
    let body = dir.path + "/queue/entries/\(entry.id).body"
    #expect(runProgram(["/usr/bin/flock", "-n", "-E", "9", body, "/bin/true"]) == 9)
    lock.release()
    #expect(runProgram(["/usr/bin/flock", "-n", "-E", "9", body, "/bin/true"]) == 0)
  }

  @Test("A lock taken while the entry is removed reports it gone")
  func lockRecheck() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    let (entry, lock) = try commitSample(store)
    lock.release()
    _ = unlink(dir.path + "/queue/entries/\(entry.id).env")
    #expect(throws: QueueError.notFound(entry.id)) { try store.tryLock(entry.id) }
  }

  @Test("Two threads race for the same entries: each is locked by exactly one")
  func threads() async throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    var ids: [QueueID] = []
    for _ in 0..<20 { ids.append(try commitSample(store).entry.id) }
    let path = dir.path
    let all = ids
    let counts = await withTaskGroup(of: Int.self) { group in
      for _ in 0..<2 {
        group.addTask {
          let runner = FileQueueStore(
            directory: path + "/queue", policy: .perUser, syscalls: .real, clock: FileQueueStore.systemClock)
          var sent = 0
          for id in all {
            guard let lock = try? runner.tryLock(id) else { continue }
            if (try? runner.remove(holding: lock)) != nil { sent += 1 }
          }
          return sent
        }
      }
      return await group.reduce(0, +)
    }
    #expect(counts == 20)
    #expect(try store.list() == [])
  }
}
