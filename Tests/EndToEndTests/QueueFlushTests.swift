// The queue through the real binaries: a flush attempts everything while the timer's
// due-only run waits; Gmail's daily limit defers instead of failing; a local limit
// holds mail; an unreadable entry is skipped with a note; running out of descriptors
// is not an attempt; with queue = false a temporary failure says nothing was kept.
import Foundation
import TestServerKit
import Testing

@Suite("Queue flush, limits and damage, through the real binaries", .serialized)
struct QueueFlushTests {
  static let ctl = Harness.binary("gsendmailctl")
  static let gsendmail = Harness.binary("gsendmail")

  static func json(_ rig: Rig, _ config: String, failed: Bool = false) throws -> String {
    try Harness.run(ctl, ["queue", "list", "--json", "-C", config] + (failed ? ["--failed"] : []), environment: rig.environment).out
  }

  @Test("Server down, then up: queue flush --due sends nothing (not due yet); gsendmail -q15m sends at once")
  func flushAttemptsEverything() throws {
    let rig = try Rig()
    let down = try QueueTests.queueConfig(rig, port: try QueueTests.closedPort())
    #expect(try rig.send(["-C", down, "bob@example.org"], simpleMessage).status == 0)
    let up = try QueueTests.queueConfig(rig)
    let due = try Harness.run(Self.ctl, ["queue", "flush", "--due", "-C", up], environment: rig.environment)
    #expect(due.status == 0, "\(due.stderr)")
    #expect(rig.received.isEmpty)
    let flush = try Harness.run(Self.gsendmail, ["-C", up, "-q15m"], environment: rig.environment)
    #expect(flush.status == 0, "\(flush.stderr)")
    #expect(rig.received.count == 1)
    #expect(try QueueTests.mailq(rig, up).contains("Mail queue is empty"))
  }

  @Test("On a terminal, a flush prints one summary line")
  func summaryLine() throws {
    let rig = try Rig(scenarios: [.permanentRecipientFailure("nobody@example.org")])
    let config = try QueueTests.queueConfig(rig)
    for rcpt in ["bob@example.org", "nobody@example.org"] {
      #expect(try rig.send(["-C", config, "-odq", rcpt], simpleMessage).status == 0)
    }
    // script(1) gives the run a terminal; its output is what the terminal showed.
    let command = "'\(Self.gsendmail)' -C '\(config)' -q"
    let r = try Harness.run("/usr/bin/script", ["-qec", command, "/dev/null"], environment: rig.environment)
    #expect(r.status == 0, "\(r.stderr)")
    // sent: bob's message and the failure notice for nobody's; failed: nobody's.
    #expect(r.out.contains("gsendmail: queue run: sent 2, deferred 0, failed 1"), "\(r.out)")
    let plain = try Harness.run(Self.gsendmail, ["-C", config, "-q"], environment: rig.environment)
    #expect(plain.stderr.isEmpty && plain.out.isEmpty)
  }

  @Test("Under umask 0777 the queue's files and directories still get their modes, and the entry is sent")
  func umask777() throws {
    let rig = try Rig()
    let config = try QueueTests.queueConfig(rig)
    let message = try rig.write("message", simpleMessage)
    let r = try Harness.run(
      "/bin/sh", ["-c", "umask 777 && exec '\(Self.gsendmail)' -C '\(config)' -odq bob@example.org <'\(message)'"],
      environment: rig.environment)
    #expect(r.status == 0, "\(r.stderr)")
    let queue = rig.dir.appendingPathComponent("state/gsendmail/queue").path
    func mode(_ path: String) throws -> Int {
      (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }
    for sub in ["tmp", "entries", "failed", "corrupt"] { #expect(try mode(queue + "/" + sub) == 0o700, "\(sub)") }
    let files = try FileManager.default.contentsOfDirectory(atPath: queue + "/entries")
    #expect(files.count == 2)
    for file in files { #expect(try mode(queue + "/entries/" + file) == 0o600, "\(file)") }
    #expect(try Harness.run(Self.gsendmail, ["-C", config, "-q"], environment: rig.environment).status == 0)
    #expect(rig.received.count == 1)
  }

  @Test("An entry locked by a stopped process is passed over at once, not waited for")
  func lockedEntrySkipped() throws {
    let rig = try Rig()
    let config = try QueueTests.queueConfig(rig)
    for rcpt in ["bob@example.org", "carol@example.org"] {
      #expect(try rig.send(["-C", config, "-odq", rcpt], simpleMessage).status == 0)
    }
    let entries = rig.dir.appendingPathComponent("state/gsendmail/queue/entries").path
    let body = try #require(try FileManager.default.contentsOfDirectory(atPath: entries).sorted().first { $0.hasSuffix(".body") })
    // A holder that never lets go (as a runner stopped with kill -STOP would).
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
    holder.arguments = [entries + "/" + body, "sleep", "30"]
    try holder.run()
    defer { holder.terminate() }
    usleep(300_000)
    let started = Date()
    let run = try Harness.run(Self.gsendmail, ["-C", config, "-q"], environment: rig.environment, timeout: 20)
    #expect(run.status == 0 && Date().timeIntervalSince(started) < 10, "\(run.stderr)")
    #expect(rig.received.count == 1)
    #expect(try Self.json(rig, config).contains("\"attempts\":0"))
  }

  @Test("queue flush attempts entries waiting for login too")
  func flushTriesLoginWaiters() throws {
    let rig = try Rig()
    let config = try QueueTests.queueConfig(rig)
    #expect(try rig.send(["-C", config, "-odq", "bob@example.org"], simpleMessage).status == 0)
    // Mark it as waiting for login, as a failed OAuth attempt does.
    let entries = rig.dir.appendingPathComponent("state/gsendmail/queue/entries").path
    let env = try #require(try FileManager.default.contentsOfDirectory(atPath: entries).first { $0.hasSuffix(".env") })
    let path = entries + "/" + env
    let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "deferred-auth 0", with: "deferred-auth 1")
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    #expect(try Harness.run(Self.gsendmail, ["-C", config, "-q"], environment: rig.environment).status == 0)
    #expect(rig.received.count == 1)
  }

  @Test("Gmail's daily limit: exit 0, deferred (not failed), mailq says why and until when; queue = false: 75")
  func dailyLimitDeferred() throws {
    let rig = try Rig(scenarios: [.dailyLimit(after: 0)])
    let config = try QueueTests.queueConfig(rig)
    let r = try rig.send(["-C", config, "bob@example.org"], simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(try Self.json(rig, config, failed: true) == "[]\n")
    let listing = try QueueTests.mailq(rig, config)
    #expect(listing.contains("!") && listing.contains("(held until "), "\(listing)")
    #expect(listing.contains("Gmail daily sending limit: 550 5.4.5 Daily user sending limit exceeded"), "\(listing)")
    let list = try Self.json(rig, config)
    #expect(list.contains("\"attempts\":1") && list.contains("\"held\":true"), "\(list)")
    #expect(QueueTests.log(rig).contains("status=deferred") && !QueueTests.log(rig).contains("status=bounced"))
    // Without a queue the caller has to try again: 75, and the text says so.
    let noQueue = try rig.send(["-C", try rig.config(), "bob@example.org"], simpleMessage)
    #expect(noQueue.status == 75, "\(noQueue.stderr)")
    #expect(noQueue.stderr.contains("Gmail daily sending limit") && noQueue.stderr.contains("not queued"), "\(noQueue.stderr)")
  }

  @Test("max_messages_per_day = 2: the 3rd send exits 0 and is held in the queue with the time it may go")
  func localLimitHolds() throws {
    let rig = try Rig()
    let base = try QueueTests.queueConfig(rig)
    let config = try rig.write("limited.toml", try String(contentsOfFile: base, encoding: .utf8) + "max_messages_per_day = 2\n")
    for i in 0..<3 {
      let r = try rig.send(["-C", config, "bob@example.org"], "Subject: \(i)\n\nbody\n")
      #expect(r.status == 0, "\(r.stderr)")
    }
    #expect(rig.received.count == 2)
    // On a terminal, the caller is told why the message waits.
    let message = try rig.write("message", simpleMessage)
    let tty = try Harness.run(
      "/usr/bin/script", ["-qec", "'\(Self.gsendmail)' -C '\(config)' bob@example.org <'\(message)'", "/dev/null"],
      environment: rig.environment)
    #expect(tty.status == 0 && tty.out.contains("queued as ") && tty.out.contains("held by the local limit max_messages_per_day = 2"), "\(tty.out)")
    let listing = try QueueTests.mailq(rig, config)
    #expect(listing.contains("(held until ") && listing.contains("max_messages_per_day = 2"), "\(listing)")
    // A flush respects the local limit.
    #expect(try Harness.run(Self.gsendmail, ["-C", config, "-q"], environment: rig.environment).status == 0)
    #expect(rig.received.count == 2)
    #expect(FileManager.default.fileExists(atPath: rig.dir.appendingPathComponent("state/gsendmail/queue/limits/alice").path))
  }

  @Test("queue = false: a temporary failure exits 75 saying the message was not queued, never 'will try again later'")
  func queueFalseWording() throws {
    let rig = try Rig()
    let down = try rig.write("down.toml", try String(contentsOfFile: try rig.config(), encoding: .utf8)
      .replacingOccurrences(of: "port = \(rig.server.startTLSPort!)", with: "port = \(try QueueTests.closedPort())"))
    let r = try rig.send(["-C", down, "bob@example.org"], simpleMessage)
    #expect(r.status == 75)
    #expect(r.stderr.contains("the message was not queued (queue = false): send it again later"), "\(r.stderr)")
    #expect(!r.stderr.contains("will try again later"))
    // With the queue on, the same failure is queued (exit 0) and mailq shows it.
    let queued = try QueueTests.queueConfig(rig, port: try QueueTests.closedPort())
    #expect(try rig.send(["-C", queued, "bob@example.org"], simpleMessage).status == 0)
    #expect(!(try QueueTests.mailq(rig, queued)).contains("Mail queue is empty"))
  }

  @Test("An entry that cannot be read: mailq exits 0 listing the others, with a note; -q still runs")
  func unreadableEntry() throws {
    let rig = try Rig()
    let config = try QueueTests.queueConfig(rig)
    #expect(try rig.send(["-C", config, "-odq", "bob@example.org"], simpleMessage).status == 0)
    let entries = rig.dir.appendingPathComponent("state/gsendmail/queue/entries").path
    try FileManager.default.createDirectory(atPath: entries + "/0BADBADBADBADBADB.env", withIntermediateDirectories: false)
    let mailq = try Harness.run(Self.gsendmail, ["-C", config, "-bp"], environment: rig.environment)
    #expect(mailq.status == 0)
    #expect(mailq.out.contains("bob@example.org"))
    #expect(mailq.stderr.contains("skipped a queue entry") && mailq.stderr.contains("0BADBADBADBADBADB"), "\(mailq.stderr)")
    let run = try Harness.run(Self.gsendmail, ["-C", config, "-q"], environment: rig.environment)
    #expect(run.status == 0, "\(run.stderr)")
    #expect(rig.received.count == 1)
  }

  @Test("Out of descriptors (ulimit -n): -q exits 75 saying why, and the entry's attempts and error are untouched")
  func resourceShortage() throws {
    let rig = try Rig()
    let config = try QueueTests.queueConfig(rig)
    #expect(try rig.send(["-C", config, "-odq", "bob@example.org"], simpleMessage).status == 0)
    let before = try Self.json(rig, config)
    var statuses: [Int32] = []
    for limit in 4...9 {
      let r = try Harness.run(
        "/bin/sh", ["-c", "ulimit -n \(limit) && exec '\(Self.gsendmail)' -C '\(config)' -q"], environment: rig.environment)
      statuses.append(r.status)
      if r.status == 75 { #expect(r.stderr.contains("cannot run the queue"), "\(r.stderr)") }
      if rig.received.isEmpty { #expect(try Self.json(rig, config) == before, "limit \(limit): \(r.stderr)") }
    }
    print("ulimit -n 4...9 gave", statuses)
    #expect(statuses.contains(75), "\(statuses)")
    #expect(!QueueTests.log(rig).contains("status=deferred"), "\(QueueTests.log(rig))")
  }
}
