// SPDX-License-Identifier: MIT
// Listing at scale: packed IDs, the area read one entry at a time in ID order, entries
// that go or break while the area is read, version 1 envelopes, and the streamed
// `mailq` text.
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import MessageCore
import Testing
@testable import MailQueue

@Suite("Reading the queue one entry at a time", .serialized)
struct QueueStreamingTests {
  @Test("Packed IDs keep the text and sort as it does, whatever the length")
  func packed() throws {
    let texts = ["0ABCDEFGHIJKLMNOP", "0ABCDEFGHIJKLMNOPQ", "0ABCDEFGHIJKLMNOPz", "0ABCDEFGHIJKLMNOPQRSTUVW", "Zzzzzzzzzzzzzzzz"]
    let ids = try texts.map { text throws(QueueError) in try QueueID(text) }
    #expect(ids.map { PackedQueueID($0).id } == ids)
    #expect(ids.map(PackedQueueID.init).sorted().map(\.id) == ids.sorted())
    #expect(MemoryLayout<PackedQueueID>.size == 24)
    for bad in ["0ABCDEFGHIJKLMN", "0ABCDEFGHIJKLMNOPQRSTUVWXY", "0ABCDEFGHIJKLMN/", "0ABCDEFGHIJKLMN.env"] {
      let packed = Array(bad.utf8).withUnsafeBytes { PackedQueueID(bytes: $0) }
      #expect(packed == nil)
    }
  }

  @Test("Entries come in ID order (creation time), whatever their arrival time")
  func idOrder() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    var committed: [QueueID] = []
    for arrival in [1_709_700_000, 1_709_600_000, 1_709_650_000] {
      let (entry, lock) = try commitSample(store, arrival: arrival)
      lock.release()
      committed.append(entry.id)
    }
    #expect(committed == committed.sorted())
    #expect(try store.entryIDs(.queued).map(\.id) == committed)
    var seen: [QueueEntry] = []
    let skipped = try store.forEachEntry(.queued, checkingBodies: true) { seen.append($0) }
    #expect(skipped.isEmpty)
    #expect(seen.map(\.id) == committed)
    #expect(seen.map(\.arrival) == [1_709_700_000, 1_709_600_000, 1_709_650_000])
    #expect(try seen == committed.map { id throws(QueueError) in try store.load(id) })
    #expect(try store.entryIDs(.failed).isEmpty)
  }

  @Test("IDs a page at a time: after one, up to another, at most so many, whatever the directory's order")
  func pages() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    var ids: [PackedQueueID] = []
    for _ in 0..<9 {
      let (entry, lock) = try commitSample(store)
      lock.release()
      ids.append(PackedQueueID(entry.id))
    }
    let all = try store.entryIDs(.queued, after: nil, through: nil, limit: .max)
    #expect(all == QueueIDPage(ids: ids, largest: ids.last))
    // A limit of 2 keeps at most 4 candidates while reading 9 names.
    #expect(try store.entryIDs(.queued, after: nil, through: nil, limit: 2) == QueueIDPage(ids: Array(ids[0..<2]), largest: ids[8]))
    #expect(try store.entryIDs(.queued, after: ids[1], through: ids[6], limit: 3) == QueueIDPage(ids: Array(ids[2..<5]), largest: ids[6]))
    #expect(try store.entryIDs(.queued, after: ids[4], through: ids[6], limit: 3) == QueueIDPage(ids: Array(ids[5...6]), largest: ids[6]))
    #expect(try store.entryIDs(.queued, after: ids[8], through: nil, limit: 3) == QueueIDPage(ids: [], largest: nil))
    #expect(try store.entryIDs(.failed, after: nil, through: nil, limit: 3) == QueueIDPage(ids: [], largest: nil))
  }

  @Test("An entry removed between the directory listing and its reading is left out, not reported")
  func removedWhileListing() throws {
    let dir = TemporaryDirectory()
    let victim = Victim()
    var calls = Syscalls.real
    // The listing is taken, then the entry goes (a runner sent it) before it is read.
    calls.readDirectory = { path, visit in
      let result = Syscalls.real.readDirectory(path, visit)
      if let path = victim.take() {
        _ = unlink(path + ".env")
        _ = unlink(path + ".body")
      }
      return result
    }
    let store = FileQueueStore(directory: dir.path + "/queue", policy: .perUser, syscalls: calls, clock: FileQueueStore.systemClock)
    let (gone, goneLock) = try commitSample(store)
    let (kept, keptLock) = try commitSample(store)
    goneLock.release()
    keptLock.release()
    victim.set(dir.path + "/queue/entries/\(gone.id)")
    var seen: [QueueID] = []
    let skipped = try store.forEachEntry(.queued, checkingBodies: true) { seen.append($0.id) }
    #expect(seen == [kept.id])
    #expect(skipped.isEmpty)
    #expect(RawFile.names(dir.path + "/queue/corrupt") == [])
  }

  @Test("Unreadable and corrupt entries are reported and skipped; the others are read; the corrupt one is quarantined")
  func unreadableAndCorrupt() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    let (good, goodLock) = try commitSample(store)
    let (bad, badLock) = try commitSample(store)
    goodLock.release()
    badLock.release()
    let env = dir.path + "/queue/entries/\(bad.id).env"
    RawFile.write(env, Array((RawFile.read(env) ?? []).dropLast(4)))
    // A directory where an envelope should be: open works, read fails (EISDIR).
    mkdir(dir.path + "/queue/entries/0BADBADBADBADBADB.env", 0o700)
    RawFile.write(dir.path + "/queue/entries/0BADBADBADBADBADB.body", [])
    var seen: [QueueID] = []
    let skipped = try store.forEachEntry(.queued, checkingBodies: true) { seen.append($0.id) }
    #expect(seen == [good.id])
    #expect(skipped.count == 2)
    #expect(skipped.contains(.corrupt(bad.id, reason: "missing end record")))
    #expect(skipped.contains { "\($0)".contains("0BADBADBADBADBADB.env") })
    #expect(RawFile.names(dir.path + "/queue/corrupt") == ["\(bad.id).body", "\(bad.id).env"].sorted())
  }

  @Test("A listing that does not check bodies lists an entry whose body went; a checking one quarantines it")
  func uncheckedBodies() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    let (entry, lock) = try commitSample(store)
    lock.release()
    _ = unlink(dir.path + "/queue/entries/\(entry.id).body")
    var seen: [QueueEntry] = []
    #expect(try store.forEachEntry(.queued, checkingBodies: false) { seen.append($0) }.isEmpty)
    #expect(seen == [entry])
    #expect(RawFile.names(dir.path + "/queue/corrupt") == [])
    seen = []
    let skipped = try store.forEachEntry(.queued, checkingBodies: true) { seen.append($0) }
    #expect(seen.isEmpty && skipped == [.corrupt(entry.id, reason: "body missing")])
    #expect(RawFile.names(dir.path + "/queue/corrupt") == ["\(entry.id).env"])
  }

  @Test("Data after the end record is found although one read would have parsed")
  func dataAfterEnd() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    let (entry, lock) = try commitSample(store)
    lock.release()
    let env = dir.path + "/queue/entries/\(entry.id).env"
    RawFile.write(env, (RawFile.read(env) ?? []) + Array("x\n".utf8))
    let skipped = try store.forEachEntry(.queued, checkingBodies: false) { _ in Issue.record("listed") }
    #expect(skipped == [.corrupt(entry.id, reason: "data after end record")])
  }

  @Test("A version 1 envelope (no uid, no held, account none) is still read")
  func version1() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    let (good, lock) = try commitSample(store)
    lock.release()
    let id = "0OLDFORMAT0000001"
    let header = "Subject: old\r\n\r\n"
    let env = """
      gsendmail-queue 1
      id \(id)
      arrival 1600000000
      sender old@example.com
      account none
      rcpt one@example.com
      rcpt two@example.com
      body-size 5
      body-8bit 0
      longest-line 3
      attempts 2
      next-attempt 1600000300
      last-error 421 try later
      deferred-auth 0
      header \(header.utf8.count)
      \(header)
      end

      """
    RawFile.write(dir.path + "/queue/entries/\(id).env", Array(env.utf8))
    RawFile.write(dir.path + "/queue/entries/\(id).body", Array("abc\r\n".utf8))
    var seen: [QueueEntry] = []
    #expect(try store.forEachEntry(.queued, checkingBodies: true) { seen.append($0) }.isEmpty)
    #expect(seen.map(\.id.rawValue) == [id, good.id.rawValue])
    let old = try #require(seen.first)
    #expect(old.envelope == QueueEnvelope(sender: "old@example.com", account: nil, recipients: ["one@example.com", "two@example.com"]))
    #expect(old.size == header.utf8.count + 5 && old.attempts == 2 && old.lastError == "421 try later" && !old.held)
    #expect(old.nextAttempt == 1_600_000_300 && old.arrival == 1_600_000_000)
  }

  @Test("Sizes that damaged envelopes record cannot overflow mailq's total")
  func hugeSizes() {
    var listing = QueueListing.Mailq(zoneOffsetMinutes: { _ in 0 })
    var out: [UInt8] = []
    for n in 0..<3 {
      listing.add(
        QueueEntry(
          id: QueueID(unchecked: "0ABCDEFGHIJKLMNO\(n)"), arrival: 1_709_632_800, envelope: sampleEnvelope,
          header: sampleHeader, body: BodyStatistics(size: Int.max / 2), nextAttempt: 1_709_640_000),
        to: &out)
    }
    listing.end(to: &out)
    #expect(String(decoding: out, as: UTF8.self).hasSuffix(" Kbytes in 3 Requests.\n"))
  }

  @Test("The streamed mailq text is the whole listing's, block by block")
  func streamedText() throws {
    var listing = QueueListing.Mailq(zoneOffsetMinutes: { _ in 0 })
    var out: [UInt8] = []
    listing.end(to: &out)
    #expect(String(decoding: out, as: UTF8.self) == QueueListing.emptyText)
    let entries = (0..<3).map { n in
      QueueEntry(
        id: QueueID(unchecked: "0ABCDEFGHIJKLMNO\(n)"), arrival: 1_709_632_800 + n, envelope: sampleEnvelope,
        header: sampleHeader, body: BodyStatistics(size: 700 * n), nextAttempt: 1_709_640_000,
        lastError: n == 1 ? "Gmail daily sending limit" : "", held: n == 1)
    }
    out = []
    for entry in entries {
      listing.add(entry, to: &out)
    }
    listing.end(to: &out)
    let text = String(decoding: out, as: UTF8.self)
    #expect(text == QueueListing.mailq(entries, zoneOffsetMinutes: { _ in 0 }))
    #expect(listing.count == 3)
    #expect(text.contains(
      "0ABCDEFGHIJKLMNO1!     \(sampleHeader.count + 700) Tue Mar  5 10:00:01  alice@example.com\n"
        + "(held until Tue Mar  5 12:00:00: Gmail daily sending limit)\n"))
    #expect(text.hasSuffix("-- 3 Kbytes in 3 Requests.\n"))
    // Times and sizes written as bytes, as DateStamp and String write them.
    for seconds in stride(from: 0, to: 4_000_000_000, by: 7_654_321) {
      var stamp: [UInt8] = []
      QueueListing.appendStamp(seconds, zone: { $0 % 2 == 0 ? 60 : -330 }, to: &stamp)
      #expect(String(decoding: stamp, as: UTF8.self) == DateStamp(seconds, zone: { $0 % 2 == 0 ? 60 : -330 }).mailq)
    }
    for (value, expected) in [(0, "      0"), (1234, "   1234"), (9_999_999, "9999999"), (123_456_789, "123456789")] {
      var number: [UInt8] = []
      QueueListing.appendNumber(value, width: 7, to: &number)
      #expect(String(decoding: number, as: UTF8.self) == expected)
    }
  }
}

/// The path of the entry the directory listing removes once, after the listing.
final class Victim: Sendable {
  private let path = Mutex<String?>(nil)
  func set(_ value: String) { path.withLock { $0 = value } }
  func take() -> String? { path.withLock { value in defer { value = nil }; return value } }
}
