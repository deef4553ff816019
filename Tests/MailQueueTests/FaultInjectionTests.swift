// SPDX-License-Identifier: MIT
// Every write, fsync, rename and open of a commit is made to fail in turn, with
// ENOSPC and with EIO: the commit must throw the matching error and leave no
// entry and no temporary file. EINTR must be retried without the caller noticing.

#if canImport(Glibc)
import Glibc
#endif
import TestSupport
import Testing
@testable import MailQueue

@Suite("Fault injection")
struct FaultInjectionTests {
  static let operations: [QueueOperation] = [.open, .write, .fsync, .rename]

  /// How many calls of each kind one commit makes (measured, not assumed).
  static func callsPerCommit() throws -> [QueueOperation: Int] {
    let dir = TemporaryDirectory()
    let faults = FaultInjector()
    let store = makeStore(dir, faults: faults)
    let draft = try store.create()
    try draft.append(Array("Hello\r\n".utf8))
    faults.arm([])
    _ = try store.commit(draft, envelope: sampleEnvelope, header: sampleHeader, arrival: 1)
    return faults.disarm()
  }

  static var cases: [(QueueOperation, Int, Int32)] {
    let counts = (try? callsPerCommit()) ?? [:]
    var out: [(QueueOperation, Int, Int32)] = []
    for op in operations {
      for nth in 1...max(counts[op] ?? 0, 1) {
        for code in [ENOSPC, EIO] { out.append((op, nth, code)) }
      }
    }
    return out
  }

  @Test("A commit makes the expected calls")
  func callCounts() throws {
    let counts = try Self.callsPerCommit()
    // body fsync; env open/write/fsync; two renames; one directory sync of entries/
    // (open + fsync).
    #expect(counts[.rename] == 2)
    #expect(counts[.fsync] == 3)
    #expect(counts[.open] == 2)
    #expect(counts[.write] == 2)
  }

  @Test("Each failing step of a commit: right error, nothing left", arguments: cases)
  func commitStep(operation: QueueOperation, nth: Int, code: Int32) throws {
    let dir = TemporaryDirectory()
    let faults = FaultInjector()
    let store = makeStore(dir, faults: faults)
    let draft = try store.create()
    try draft.append(Array("Hello\r\n".utf8))
    faults.arm([.init(operation: operation, nth: nth, code: code, times: 1)])
    do {
      _ = try store.commit(draft, envelope: sampleEnvelope, header: sampleHeader, arrival: 1)
      Issue.record("commit succeeded despite \(operation) #\(nth) failing")
    } catch {
      if code == ENOSPC {
        #expect(error.isOutOfSpace)
      } else {
        guard case .io(_, let errno, let op) = error else {
          Issue.record("unexpected \(error)")
          return
        }
        #expect(errno == EIO && op == operation)
        #expect(!error.isOutOfSpace)
      }
    }
    faults.disarm()
    #expect(faults.failures == 1)
    #expect(try store.list() == [])
    #expect(RawFile.names(dir.path + "/queue/tmp") == [])
    #expect(RawFile.names(dir.path + "/queue/entries") == [])
  }

  @Test("A failing write while the body streams in removes the draft", arguments: [ENOSPC, EIO])
  func appendFails(code: Int32) throws {
    let dir = TemporaryDirectory()
    let faults = FaultInjector()
    let store = makeStore(dir, faults: faults)
    let draft = try store.create()
    faults.arm([.init(operation: .write, nth: 2, code: code, times: 1)])
    let chunk = [UInt8](repeating: 0x61, count: 40_000)
    var thrown: QueueError?
    do {
      for _ in 0..<10 { try draft.append(chunk) }
    } catch {
      thrown = error
    }
    #expect(thrown?.isOutOfSpace == (code == ENOSPC))
    #expect(thrown != nil)
    #expect(RawFile.names(dir.path + "/queue/tmp") == [])
    // The draft stays dead: later calls repeat the error, commit removes nothing more.
    #expect(throws: thrown!) { try draft.append(chunk) }
    faults.disarm()
  }

  @Test("Creating fails cleanly when the directory cannot be made")
  func mkdirFails() {
    let dir = TemporaryDirectory()
    let faults = FaultInjector()
    let store = makeStore(dir, faults: faults)
    faults.arm([.init(operation: .mkdir, nth: 1, code: ENOSPC, times: 1)])
    #expect(throws: QueueError.noSpace(path: dir.path + "/queue")) { try store.create() }
  }

  @Test("EINTR on every call is retried transparently")
  func interrupted() throws {
    let dir = TemporaryDirectory()
    let faults = FaultInjector()
    let store = makeStore(dir, faults: faults)
    // Each of the first three calls of every kind is interrupted once more than the last.
    faults.arm(Self.operations.map { .init(operation: $0, nth: 1, code: EINTR, times: 3) }
      + [.init(operation: .lock, nth: 1, code: EINTR, times: 2), .init(operation: .mkdir, nth: 1, code: EINTR, times: 1)])
    let (entry, lock) = try commitSample(store)
    lock.release()
    let relock = try #require(try eventually { try store.tryLock(entry.id) })
    #expect(try store.openBody(of: entry, holding: relock).readAll() == Array("Hello\r\n".utf8))
    faults.disarm()
    #expect(faults.failures >= 14)
    #expect(try store.list() == [entry])
    faults.arm([QueueOperation.link, .unlink, .rename, .fsync].map { .init(operation: $0, nth: 1, code: EINTR, times: 2) })
    try store.moveToFailed(entry, holding: relock)
    faults.disarm()
    #expect(faults.failures == 8)
    #expect(try store.listFailed().map(\.id) == [entry.id])
    #expect(try store.list() == [])
  }

  @Test("A failing rewrite keeps the old envelope and leaves no temporary file", arguments: [QueueOperation.write, .fsync, .rename])
  func updateFails(operation: QueueOperation) throws {
    let dir = TemporaryDirectory()
    let faults = FaultInjector()
    let store = makeStore(dir, faults: faults)
    let (entry, lock) = try commitSample(store)
    var changed = entry
    changed.recordTemporaryFailure(reason: "421", nextAttempt: 999)
    faults.arm([.init(operation: operation, nth: 1, code: EIO, times: 1)])
    #expect(throws: QueueError.self) { try store.update(changed, holding: lock) }
    faults.disarm()
    #expect(try store.load(entry.id) == entry)
    #expect(RawFile.names(dir.path + "/queue/tmp") == [])
  }

  @Test("A failing move to failed/ keeps the entry queued", arguments: [QueueOperation.link, .rename, .fsync])
  func moveFails(operation: QueueOperation) throws {
    let dir = TemporaryDirectory()
    let faults = FaultInjector()
    let store = makeStore(dir, faults: faults)
    let (entry, lock) = try commitSample(store)
    faults.arm([.init(operation: operation, nth: 1, code: EIO, times: 1)])
    #expect(throws: QueueError.self) { try store.moveToFailed(entry, holding: lock) }
    faults.disarm()
    #expect(try store.list().map(\.id) == [entry.id])
    #expect(try store.listFailed() == [])
  }
}
