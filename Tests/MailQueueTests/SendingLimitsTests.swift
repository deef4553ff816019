// SPDX-License-Identifier: MIT
// Local sending limits: the rolling windows, and the record file beside the queue.
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import MailQueue

@Suite("Local sending limits")
struct SendingLimitsTests {
  static let t0 = 1_800_000_000

  @Test("Messages per day: the 3rd of a day over a limit of 2 waits until the 1st is 24 h old")
  func messagesPerDay() {
    let limits = SendingLimits(messagesPerDay: 2)
    var record = SendRecord()
    #expect(record.wait(recipients: 1, limits: limits, now: Self.t0) == nil)
    record.add(.init(time: Self.t0, recipients: 1), limits: limits)
    record.add(.init(time: Self.t0 + 600, recipients: 1), limits: limits)
    let wait = record.wait(recipients: 1, limits: limits, now: Self.t0 + 700)
    #expect(wait == SendRecord.Wait(until: Self.t0 + 86_400, key: "max_messages_per_day", limit: 2))
    #expect(record.wait(recipients: 1, limits: limits, now: Self.t0 + 86_400) == nil)
    // Old sends are dropped as new ones are added: the record stays bounded.
    record.add(.init(time: Self.t0 + 90_000, recipients: 1), limits: limits)
    #expect(record.sends.map(\.time) == [Self.t0 + 90_000])
  }

  @Test("Recipients per day count recipients; a message over the limit alone waits for an empty window")
  func recipientsPerDay() {
    let limits = SendingLimits(recipientsPerDay: 10)
    var record = SendRecord()
    record.add(.init(time: Self.t0, recipients: 4), limits: limits)
    record.add(.init(time: Self.t0 + 100, recipients: 4), limits: limits)
    #expect(record.wait(recipients: 2, limits: limits, now: Self.t0 + 200) == nil)
    #expect(record.wait(recipients: 3, limits: limits, now: Self.t0 + 200)?.until == Self.t0 + 86_400)
    #expect(record.wait(recipients: 7, limits: limits, now: Self.t0 + 200)?.until == Self.t0 + 86_400 + 100)
    #expect(record.wait(recipients: 50, limits: limits, now: Self.t0 + 200)?.until == Self.t0 + 86_400 + 100)
  }

  @Test("Per minute, and the longest wait of several limits wins")
  func perMinute() {
    let limits = SendingLimits(messagesPerDay: 100, messagesPerMinute: 2)
    var record = SendRecord()
    for offset in [0, 10] { record.add(.init(time: Self.t0 + offset, recipients: 1), limits: limits) }
    #expect(record.wait(recipients: 1, limits: limits, now: Self.t0 + 20) == .init(until: Self.t0 + 60, key: "max_messages_per_minute", limit: 2))
    #expect(record.wait(recipients: 1, limits: limits, now: Self.t0 + 60) == nil)
  }

  @Test("The record file: encoded per line, garbage lines skipped, kept under queue/limits/ with an escaped name")
  func recordFile() throws {
    #expect(SendRecord.decode(Array("5 1\njunk\n3 2\n7\n".utf8)).sends == [.init(time: 3, recipients: 2), .init(time: 5, recipients: 1)])
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    let limits = SendingLimits(messagesPerDay: 5)
    #expect(store.withSendRecord(account: "../evil") { $0.add(.init(time: Self.t0, recipients: 3), limits: limits) })
    #expect(RawFile.names(dir.path + "/queue/limits") == ["%2E.%2Fevil"])
    var seen: [SendRecord.Send] = []
    #expect(store.withSendRecord(account: "../evil") { seen = $0.sends })
    #expect(seen == [.init(time: Self.t0, recipients: 3)])
    #expect(RawFile.mode(dir.path + "/queue/limits/%2E.%2Fevil") == 0o600)
  }

  @Test("A record locked by a stopped holder is passed over after a bounded wait, not waited for")
  func lockedRecord() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    #expect(store.withSendRecord(account: "a") { _ in })
    let holder = open(dir.path + "/queue/limits/a", O_RDONLY)
    defer { close(holder) }
    #expect(flock(holder, LOCK_EX | LOCK_NB) == 0)
    var ran = false
    var start = timespec()
    clock_gettime(CLOCK_MONOTONIC, &start)
    #expect(!store.withSendRecord(account: "a") { _ in ran = true })
    var end = timespec()
    clock_gettime(CLOCK_MONOTONIC, &end)
    #expect(!ran)
    #expect(end.tv_sec - start.tv_sec <= 7)
  }
}
