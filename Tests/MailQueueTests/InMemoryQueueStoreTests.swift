// SPDX-License-Identifier: MIT
import Testing
@testable import MailQueue

@Suite("InMemoryQueueStore")
struct InMemoryQueueStoreTests {
  @Test("Same life cycle and lock rules as the file store")
  func lifeCycle() throws {
    let store = InMemoryQueueStore()
    let (entry, lock) = try commitSample(store)
    #expect(store.lockedIDs == [entry.id])
    #expect(try store.tryLock(entry.id) == nil)
    #expect(throws: QueueError.locked(entry.id)) { try store.delete(entry.id) }
    #expect(try store.openBody(of: entry, holding: lock).readAll() == Array("Hello\r\n".utf8))
    var changed = entry
    changed.recordTemporaryFailure(reason: "421 busy", nextAttempt: 9)
    try store.update(changed, holding: lock)
    #expect(try store.load(entry.id).attempts == 1)
    try store.moveToFailed(changed, holding: lock)
    #expect(try store.list() == [] && store.listFailed().map(\.id) == [entry.id])
    lock.release()
    #expect(store.lockedIDs == [])
    try store.retryNow(entry.id, now: 77)
    let back = try store.list()
    #expect(back.count == 1 && back[0].attempts == 0 && back[0].nextAttempt == 77 && back[0].area == .queued)
    let relock = try #require(try store.tryLock(entry.id))
    try store.remove(holding: relock)
    #expect(throws: QueueError.notFound(entry.id)) { try store.load(entry.id) }
  }

  @Test("Invalid envelopes are refused at commit")
  func invalidEnvelope() throws {
    let store = InMemoryQueueStore()
    let draft = try store.create()
    try draft.append(Array("x".utf8))
    #expect(throws: QueueError.invalidEnvelope("no recipients")) {
      try store.commit(draft, envelope: QueueEnvelope(sender: "", account: "a", recipients: []), header: [], arrival: 0)
    }
    #expect(try store.list() == [])
  }
}
