// The queue runner and sending limits, with the clock injected: Gmail's daily limit
// defers (never fails) with a long backoff, local limits hold mail until the window
// opens, a flush attempts what is not due yet, and a runner limited to one caller's
// entries leaves the others alone.
import Foundation
@testable import GSendmailKit
import GSendmailCore
import MailQueue
import SMTPCore
import TestServerKit
import TestSupport
import Testing

@Suite("Queue runner and sending limits", .serialized)
struct QueueLimitTests {
  typealias Clock = QueueRunnerTests.Clock

  @Test("Gmail's daily limit: deferred 1 h, then 2 h …; the account's other messages held without an attempt; never failed")
  func dailyLimit() throws {
    let (server, dir) = try QueueRunnerTests.rig([.dailyLimit(after: 0)])
    defer { server.stop() }
    let clock = Clock()
    let store = InMemoryQueueStore()
    let config = try QueueRunnerTests.config(port: server.startTLSPort!, caFile: server.caFile, logFile: dir + "/mail.log")
    let first = try QueueRunnerTests.enqueue(store, at: clock.now)
    let second = try QueueRunnerTests.enqueue(store, at: clock.now)
    let summary = try QueueRunnerTests.runner(clock, config, store).run()
    #expect(summary.sent == 0 && summary.deferred == 2 && summary.failed == 0)
    #expect(summary.nextAttempt == clock.now + 3600)
    #expect(summary.line(zoneOffsetMinutes: { _ in 0 }) == "sent 0, deferred 2 (next try at Fri Jan 15 09:00:00), failed 0")
    #expect(try store.listFailed().isEmpty)
    let a = try store.load(first.id)
    let b = try store.load(second.id)
    #expect(a.held && a.attempts == 1 && a.nextAttempt == clock.now + 3600)
    #expect(a.lastError.hasPrefix("Gmail daily sending limit: 550 5.4.5 Daily SMTP relay limit exceeded"), "\(a.lastError)")
    #expect(b.held && b.attempts == 0 && b.nextAttempt == a.nextAttempt && b.lastError == a.lastError)
    // One message reached the server (and was refused); the second was never sent.
    #expect(server.messages.map(\.record.replyCode) == [550])
    #expect(server.sessions.count == 1)
    // The next attempt of the first waits twice as long.
    clock.now = a.nextAttempt
    _ = try QueueRunnerTests.runner(clock, config, store).run()
    #expect(try store.load(first.id).nextAttempt == clock.now + 7200)
    let log = try String(contentsOfFile: dir + "/mail.log", encoding: .utf8)
    #expect(!log.contains("status=bounced") && log.contains("status=deferred"))
  }

  @Test("max_messages_per_day = 2: the 3rd message is held, also by a flush, and goes when the window opens")
  func localDailyLimit() throws {
    let (server, dir) = try QueueRunnerTests.rig()
    defer { server.stop() }
    let clock = Clock()
    let store = InMemoryQueueStore()
    var config = try QueueRunnerTests.config(port: server.startTLSPort!, caFile: server.caFile, logFile: dir + "/mail.log")
    config.accounts[0].maxMessagesPerDay = 2
    let start = clock.now
    let entries = try (0..<3).map { _ in try QueueRunnerTests.enqueue(store, at: start) }
    let first = try QueueRunnerTests.runner(clock, config, store).run()
    #expect(first.sent == 2 && first.deferred == 1)
    let held = try store.load(entries[2].id)
    #expect(held.held && held.attempts == 0 && held.nextAttempt == start + 86_400)
    #expect(held.lastError == "held by the local limit max_messages_per_day = 2 of account a")
    clock.now += 3600
    #expect(try QueueRunnerTests.runner(clock, config, store).run(force: true).sent == 0)
    #expect(server.messages.count == 2)
    clock.now = start + 86_400
    #expect(try QueueRunnerTests.runner(clock, config, store).run().sent == 1)
    #expect(server.messages.count == 3)
    #expect(try store.list().isEmpty)
  }

  @Test("A flush attempts what is not due yet; a due-only run does not")
  func flushAttemptsEverything() throws {
    let (server, dir) = try QueueRunnerTests.rig()
    defer { server.stop() }
    let clock = Clock()
    let store = InMemoryQueueStore()
    let config = try QueueRunnerTests.config(port: server.startTLSPort!, caFile: server.caFile, logFile: dir + "/mail.log")
    let entry = try QueueRunnerTests.enqueue(store, at: clock.now)
    let lock = try #require(try store.tryLock(entry.id))
    var later = entry
    later.recordTemporaryFailure(reason: "421 down", nextAttempt: clock.now + 3600)
    try store.update(later, holding: lock)
    lock.release()
    #expect(try QueueRunnerTests.runner(clock, config, store).run().tried == 0)
    let flushed = try QueueRunnerTests.runner(clock, config, store).run(force: true)
    #expect(flushed.sent == 1 && server.messages.count == 1)
    #expect(flushed.line(zoneOffsetMinutes: { _ in 0 }) == "sent 1, deferred 0, failed 0")
  }

  @Test("A runner limited to one caller's entries leaves the others' alone")
  func ownEntriesOnly() throws {
    let (server, dir) = try QueueRunnerTests.rig()
    defer { server.stop() }
    let clock = Clock()
    let store = InMemoryQueueStore()
    let config = try QueueRunnerTests.config(port: server.startTLSPort!, caFile: server.caFile, logFile: dir + "/mail.log")
    var ids: [UInt32?: QueueID] = [:]
    for uid: UInt32? in [1000, 2000, nil] {
      let draft = try store.create()
      try draft.append(Array("Hello.\r\n".utf8))
      let (entry, lock) = try store.commit(
        draft, envelope: QueueEnvelope(sender: "alice@example.com", account: "a", recipients: ["bob@example.org"], submitter: uid),
        header: Array("Subject: \(uid.map(String.init) ?? "none")\r\n\r\n".utf8), arrival: clock.now)
      lock.release()
      ids[uid] = entry.id
    }
    let summary = try QueueRunnerTests.runner(clock, config, store, access: QueueAccess(owner: 1000)).run(force: true)
    #expect(summary.sent == 1)
    #expect(try store.list().map(\.id).sorted() == [ids[2000]!, ids[nil]!].sorted())
    #expect(try QueueRunnerTests.runner(clock, config, store, access: QueueAccess(owner: nil)).run(force: true).sent == 2)
  }

  @Test("Who handles the system queue: root and the queue user all, others their own; group members list all")
  func access() throws {
    var system = try QueueRunnerTests.config(port: 1, caFile: "/x", logFile: "/dev/null")
    system.isSystem = true
    var environment = QueueRunnerTests.environment(Clock())
    environment.uid = 1234
    #expect(QueueAccess.runner(system, environment) == QueueAccess(owner: 1234))
    environment.uid = 0
    #expect(QueueAccess.runner(system, environment) == QueueAccess(owner: nil))
    var perUser = system
    perUser.isSystem = false
    environment.uid = 1234
    #expect(QueueAccess.runner(perUser, environment) == QueueAccess(owner: nil))
    let entry = QueueEntry(
      id: try QueueID("0ABCDEFGHIJKLMNOPQ"), arrival: 0,
      envelope: QueueEnvelope(sender: "", account: "a", recipients: ["b@example.org"]), header: [], body: BodyStatistics(),
      nextAttempt: 0)
    #expect(!QueueAccess(owner: 1234).admits(entry))
    #expect(QueueAccess(owner: nil).admits(entry))
  }

  @Test("Gmail's limit replies and the Gmail API's errors are classified as limits; others are not")
  func classification() {
    func limit(_ code: Int, _ line: String) -> SendingLimit? { SendingLimit.named(by: SMTPReply(code: code, lines: [line])) }
    #expect(limit(550, "5.4.5 Daily user sending limit exceeded. For more information, go to") == .daily)
    #expect(limit(550, "5.4.5 Daily sending quota exceeded.") == .daily)
    #expect(limit(550, "5.4.5 Daily SMTP relay limit exceeded for user.") == .daily)
    #expect(limit(550, "5.7.1 Daily SMTP relay limit exceeded for customer.") == .daily)
    #expect(limit(450, "4.2.1 Peak SMTP relay limit exceeded for customer. This is a temporary error.") == .rate)
    #expect(limit(454, "4.7.0 Too many login attempts, please try again later.") == .rate)
    #expect(limit(452, "4.5.3 Your message has too many recipients.") == nil)
    #expect(limit(550, "5.1.1 The email account that you tried to reach does not exist.") == nil)
    #expect(limit(421, "4.7.0 Try again later, closing connection. (EHLO)") == nil)
    #expect(SendingLimit.named(httpStatus: 429, reason: "rateLimitExceeded") == .rate)
    #expect(SendingLimit.named(httpStatus: 403, reason: "dailyLimitExceeded") == .daily)
    #expect(SendingLimit.named(httpStatus: 403, reason: "insufficientPermissions") == nil)
    let failure = DeliveryFailure.from(
      SMTPFailure.rejected(SMTPReply(code: 550, lines: ["5.4.5 Daily user sending limit exceeded."]), during: .endOfData))
    #expect(failure.kind == .limited(.daily))
    #expect("\(failure)" == "Gmail daily sending limit: 550 5.4.5 Daily user sending limit exceeded.")
    #expect(ExitStatus.code(for: failure) == .temporaryFailure)
  }
}

@Suite("failed/ retention through the runner", .serialized)
struct FailedRetentionTests {
  @Test("A queue run removes failed/ entries older than failed_lifetime, one log line each")
  func purge() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fr-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let store = FileQueueStore(directory: dir + "/queue")
    let clock = QueueRunnerTests.Clock()
    var ids: [QueueID] = []
    for _ in 0..<2 {
      let entry = try QueueRunnerTests.enqueue(store, at: clock.now - 40 * 86_400)
      // Eventually: the draft's lock may still be held by another test's child (Eventually.swift).
      let lock = try #require(try eventually { try store.tryLock(entry.id) })
      try store.moveToFailed(entry, holding: lock)
      ids.append(entry.id)
    }
    // One has been in failed/ for 31 days, the other for 29.
    for (id, days) in zip(ids, [31, 29]) {
      let time = clock.now - days * 86_400
      var times = [timeval(tv_sec: time, tv_usec: 0), timeval(tv_sec: time, tv_usec: 0)]
      utimes(dir + "/queue/failed/\(id).env", &times)
    }
    let config = try QueueRunnerTests.config(port: 1, caFile: "/nonexistent", logFile: dir + "/mail.log")
    // A run skips an entry it cannot lock, and another test's child may still hold the
    // lock taken above (Eventually.swift). Such an entry is left to the next run.
    _ = try eventually {
      _ = try QueueRunnerTests.runner(clock, config, store).run()
      return try store.listFailed().count == 1 ? true : nil
    }
    #expect(try store.listFailed().map(\.id) == [ids[1]])
    let log = try String(contentsOfFile: dir + "/mail.log", encoding: .utf8)
    #expect(log.contains("id=\(ids[0]) from=<alice@example.com> removed from failed/ after failed_lifetime (30 days)"), "\(log)")
    #expect(!log.contains("id=\(ids[1])"))
  }
}
