// SPDX-License-Identifier: MIT
// The queue tolerates what it did not write: entries it cannot read are skipped and
// reported, a store that does not quarantine leaves corrupt entries in place, and
// failed/ entries past their retention are removed. (Modes under umask 0777 are checked
// end to end: the umask is the whole test process's.)
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import MailQueue

@Suite("The queue and what it did not write", .serialized)
struct HostileQueueTests {
  @Test("An entry that cannot be read is skipped and reported; the others are listed")
  func unreadableSkipped() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    let (good, lock) = try commitSample(store)
    lock.release()
    // An "entry" that is a directory: open works, read fails (EISDIR), even for root.
    mkdir(dir.path + "/queue/entries/0BADBADBADBADBADB.env", 0o700)
    RawFile.write(dir.path + "/queue/entries/0BADBADBADBADBADB.body", [])
    let scan = try store.scan(.queued)
    #expect(scan.entries.map(\.id) == [good.id])
    #expect(scan.skipped.count == 1)
    #expect("\(scan.skipped.first.map { "\($0)" } ?? "")".contains("0BADBADBADBADBADB.env"))
    #expect(try store.list() == [good])
  }

  @Test("A store that does not quarantine reports a corrupt entry and leaves it where it is")
  func noQuarantine() throws {
    let dir = TemporaryDirectory()
    let writer = makeStore(dir)
    let (entry, lock) = try commitSample(writer)
    lock.release()
    let env = dir.path + "/queue/entries/\(entry.id).env"
    RawFile.write(env, Array("gsendmail-queue 1\ngarbage\n".utf8))
    let reader = FileQueueStore(
      directory: dir.path + "/queue", policy: .perUser, syscalls: .real, clock: FileQueueStore.systemClock,
      quarantinesCorruptEntries: false)
    let scan = try reader.scan(.queued)
    #expect(scan.entries.isEmpty && scan.skipped == [.corrupt(entry.id, reason: "unknown record garbage")])
    #expect(RawFile.read(env) != nil)
    #expect(RawFile.names(dir.path + "/queue/corrupt") == [])
    // The runner that may (root's, the queue user's) moves it away.
    #expect(try writer.scan(.queued).skipped.count == 1)
    #expect(RawFile.names(dir.path + "/queue/corrupt").sorted() == ["\(entry.id).body", "\(entry.id).env"])
  }

  @Test("failed/ entries older than the retention are removed; newer and locked ones stay")
  func purgeFailed() throws {
    let dir = TemporaryDirectory()
    let store = makeStore(dir)
    var ids: [QueueID] = []
    for _ in 0..<3 {
      let (entry, lock) = try commitSample(store)
      try store.moveToFailed(entry, holding: lock)
      lock.release()
      ids.append(entry.id)
    }
    let now = Int(time(nil))
    func age(_ id: QueueID, days: Int) {
      var times = [timeval(tv_sec: now - days * 86_400, tv_usec: 0), timeval(tv_sec: now - days * 86_400, tv_usec: 0)]
      utimes(dir.path + "/queue/failed/\(id).env", &times)
    }
    age(ids[0], days: 31)
    age(ids[1], days: 29)
    age(ids[2], days: 40)
    let held = try #require(try store.lockEntry(ids[2], .failed))
    let removed = try store.purgeFailed(now: now, maximumAge: 30 * 86_400, admits: { _ in true })
    #expect(removed.map(\.id) == [ids[0]])
    #expect(try store.listFailed().map(\.id).sorted() == [ids[1], ids[2]].sorted())
    #expect(!RawFile.names(dir.path + "/queue/failed").contains("\(ids[0]).body"))
    held.release()
    #expect(try store.purgeFailed(now: now, maximumAge: 30 * 86_400, admits: { $0.id != ids[2] }).isEmpty)
  }
}
