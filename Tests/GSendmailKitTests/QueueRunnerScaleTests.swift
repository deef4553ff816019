// A queue run holds one entry at a time: it lists IDs only, reads each entry when its
// turn comes, and still reuses one session for an account's messages and reports what
// it could not read.
import Foundation
@testable import GSendmailCore
@testable import GSendmailKit
@testable import MailQueue
import TestServerKit
import Testing

@Suite("Queue runs one entry at a time", .serialized)
struct QueueRunnerScaleTests {
  @Test("IDs come a page at a time and entries are read one by one, never the whole queue; one session for the account")
  func oneAtATime() throws {
    let (server, dir) = try QueueRunnerTests.rig()
    defer { server.stop() }
    let clock = QueueRunnerTests.Clock()
    let store = InMemoryQueueStore()
    let config = try QueueRunnerTests.config(port: server.startTLSPort!, caFile: server.caFile, logFile: dir + "/mail.log")
    var ids: [QueueID] = []
    for n in 0..<12 {
      // Arrival times out of order: the run goes by ID (creation) order.
      ids.append(try QueueRunnerTests.enqueue(store, at: clock.now - (n % 3) * 60).id)
    }
    // Two are not due yet: read, but neither locked nor read again.
    for id in ids.suffix(2) {
      var entry = try store.load(id)
      let lock = try #require(try store.tryLock(id))
      entry.recordTemporaryFailure(reason: "421 later", nextAttempt: clock.now + 600)
      try store.update(entry, holding: lock)
      lock.release()
    }
    let loadsBefore = store.loads
    let runner = QueueRunnerTests.runner(clock, config, store)
    runner.idPageSize = 5
    let summary = try runner.run(force: false)
    #expect(summary.sent == 10 && summary.deferred == 0 && summary.skipped.isEmpty)
    #expect(store.listings == 0)
    // IDs 1–5, 6–10, 11–12.
    #expect(store.pages == 3)
    // Each entry once when its turn came, each due one again under its lock.
    #expect(store.loads - loadsBefore == 12 + 10)
    #expect(server.messages.count == 10)
    #expect(server.waitForEndedSessions(1))
    #expect(server.sessions.count == 1)
    #expect(try store.list().map(\.id) == Array(ids.suffix(2)))
  }

  @Test("Entries that cannot be read are counted as skipped; the others are sent")
  func unreadableSkipped() throws {
    let (server, dir) = try QueueRunnerTests.rig()
    defer { server.stop() }
    let clock = QueueRunnerTests.Clock()
    let store = FileQueueStore(directory: dir + "/queue")
    let config = try QueueRunnerTests.config(port: server.startTLSPort!, caFile: server.caFile, logFile: dir + "/mail.log")
    let sent = try QueueRunnerTests.enqueue(store, at: clock.now)
    let broken = try QueueRunnerTests.enqueue(store, at: clock.now)
    let env = dir + "/queue/entries/\(broken.id).env"
    let text = try String(contentsOfFile: env, encoding: .utf8)
    try text.replacingOccurrences(of: "\nend\n", with: "\n").write(toFile: env, atomically: false, encoding: .utf8)
    let summary = try QueueRunnerTests.runner(clock, config, store).run(force: true)
    #expect(summary.sent == 1)
    #expect(summary.skipped == [.corrupt(broken.id, reason: "missing end record")])
    #expect(summary.line(zoneOffsetMinutes: { _ in 0 }) == "sent 1, deferred 0, failed 0, 1 unreadable skipped")
    #expect(server.messages.count == 1 && sent.id != broken.id)
    #expect(try store.list().isEmpty)
    #expect(FileManager.default.fileExists(atPath: dir + "/queue/corrupt/\(broken.id).env"))
  }
}
