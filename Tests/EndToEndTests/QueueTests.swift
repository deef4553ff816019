// Never lose a message: the real binary with the queue on, against the Gmail test
// server going down, coming back, failing permanently, and against kill -9.
import Foundation
import TestServerKit
import Testing

@Suite("The queue, through the real binary", .serialized)
struct QueueTests {
  /// A config with the queue on, a log file, `extra` top-level lines, and optionally
  /// another port and timeout, written as `name`.
  static func queueConfig(
    _ rig: Rig, port: UInt16? = nil, timeout: String = "5s", extra: String = "", name: String = "queue.toml"
  ) throws -> String {
    let base = try String(contentsOfFile: try rig.config(timeout: timeout, name: name), encoding: .utf8)
    var text = base.replacingOccurrences(of: "queue = false", with: "log = \"file:\(rig.dir.path)/mail.log\"\n" + extra)
    if let port { text = text.replacingOccurrences(of: "port = \(rig.server.startTLSPort!)", with: "port = \(port)") }
    return try rig.write(name, text)
  }

  static func mailq(_ rig: Rig, _ config: String) throws -> String {
    try Harness.run(Harness.binary("gsendmail"), ["-C", config, "-bp"], environment: rig.environment).out
  }

  static func log(_ rig: Rig) -> String {
    (try? String(contentsOfFile: rig.dir.path + "/mail.log", encoding: .utf8)) ?? ""
  }

  @Test("Server down: exit 0 and queued; mailq shows it; server up: -q delivers it once and the queue is empty")
  func downThenUp() throws {
    let rig = try Rig()
    let closedPort = try Self.closedPort()
    let down = try Self.queueConfig(rig, port: closedPort)
    let r = try rig.send(["-C", down, "bob@example.org"], simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    let listing = try Self.mailq(rig, down)
    #expect(listing.contains("alice@example.com") && listing.contains("bob@example.org"))
    #expect(listing.contains("Connection refused") || listing.contains("cannot connect"))
    #expect(Self.log(rig).contains("status=deferred"))
    // The entry is due again only after the retry delay: `queue retry` makes it due now and
    // runs the queue, through a config pointing at the live server.
    let up = try Self.queueConfig(rig)
    let id = try #require(try Self.firstID(rig, up))
    let flush = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "retry", id, "-C", up], environment: rig.environment)
    #expect(flush.status == 0, "\(flush.stderr)")
    #expect(rig.received.count == 1)
    #expect(try Self.mailq(rig, up).contains("Mail queue is empty"))
    #expect(Self.log(rig).contains("status=sent"))
    let again = try Harness.run(Harness.binary("gsendmail"), ["-C", up, "-q"], environment: rig.environment)
    #expect(again.status == 0 && rig.received.count == 1)
  }

  @Test("-odq queues without trying; -q sends what is due")
  func queueOnly() throws {
    let rig = try Rig()
    let config = try Self.queueConfig(rig)
    for i in 0..<3 {
      let r = try rig.send(["-C", config, "-odq", "bob@example.org"], "Subject: \(i)\n\nbody \(i)\n")
      #expect(r.status == 0)
    }
    #expect(rig.received.isEmpty)
    let q = try Harness.run(Harness.binary("gsendmail"), ["-C", config, "-q"], environment: rig.environment)
    #expect(q.status == 0, "\(q.stderr)")
    #expect(rig.received.count == 3)
    // One session for the three messages.
    #expect(Set(rig.received.map(\.record.session)).count == 1)
  }

  @Test("Two runners at once deliver each message once")
  func overlappingRunners() throws {
    let rig = try Rig()
    let config = try Self.queueConfig(rig)
    for i in 0..<20 { _ = try rig.send(["-C", config, "-odq", "bob@example.org"], "Subject: \(i)\n\nx\n") }
    let group = DispatchGroup()
    let environment = rig.environment
    for _ in 0..<2 {
      group.enter()
      DispatchQueue.global().async {
        _ = try? Harness.run(Harness.binary("gsendmail"), ["-C", config, "-q"], environment: environment)
        group.leave()
      }
    }
    group.wait()
    let subjects = rig.received.map { String(decoding: $0.data.prefix(12), as: UTF8.self) }
    #expect(rig.received.count == 20)
    #expect(Set(subjects).count == 20)
  }

  @Test("Permanent failure: failed/, a notice to the sender, never retried")
  func permanentFailure() throws {
    let rig = try Rig(scenarios: [.permanentRecipientFailure("nobody@example.org")])
    let config = try Self.queueConfig(rig)
    let r = try rig.send(["-C", config, "-odq", "nobody@example.org"], simpleMessage)
    #expect(r.status == 0)
    _ = try Harness.run(Harness.binary("gsendmail"), ["-C", config, "-q"], environment: rig.environment)
    let failed = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "list", "--failed", "-C", config], environment: rig.environment)
    #expect(failed.out.contains("5.1.1"), "\(failed.out)\(failed.stderr)")
    #expect(Self.log(rig).contains("status=bounced"))
    // The notice went in the same run; later runs and flushes find nothing to send.
    let sessions = rig.server.sessions.count
    _ = try Harness.run(Harness.binary("gsendmail"), ["-C", config, "-q"], environment: rig.environment)
    _ = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "flush", "-C", config], environment: rig.environment)
    #expect(rig.server.sessions.count == sessions)
    #expect(try Self.mailq(rig, config).contains("Mail queue is empty"))
  }

  @Test("A failure notice reaches the sender with the original attached")
  func noticeDelivered() throws {
    let rig = try Rig(scenarios: [.permanentRecipientFailure("nobody@example.org")])
    let config = try Self.queueConfig(rig)
    _ = try rig.send(["-C", config, "-odq", "nobody@example.org"], simpleMessage)
    _ = try Harness.run(Harness.binary("gsendmail"), ["-C", config, "-q"], environment: rig.environment)
    let notice = try #require(rig.received.first { $0.record.mailFrom == "" })
    #expect(notice.record.recipients == ["alice@example.com"])
    let text = String(decoding: notice.data, as: UTF8.self)
    #expect(text.contains("multipart/report") && text.contains("message/delivery-status"))
    #expect(text.contains("Final-Recipient: rfc822; nobody@example.org") && text.contains("Hello Bob."))
  }

  @Test("kill -9 at random points while the server stalls DATA: every message is delivered at least once")
  func killNine() throws {
    let rig = try Rig(scenarios: [.stall(.end)])
    let stalled = try Self.queueConfig(rig)
    var killed = 0
    for i in 0..<50 {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: Harness.binary("gsendmail"))
      process.arguments = ["-C", stalled, "bob@example.org"]
      var env = rig.environment
      env["PATH"] = "/usr/bin:/bin"
      process.environment = env
      let input = Pipe()
      process.standardInput = input
      process.standardError = FileHandle.nullDevice
      try process.run()
      try input.fileHandleForWriting.write(contentsOf: Data("Subject: kill \(i)\n\nmessage \(i)\n".utf8))
      try input.fileHandleForWriting.close()
      usleep(UInt32.random(in: 0...40_000))
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        killed += 1
      }
      process.waitUntilExit()
    }
    rig.server.stop()
    // A healthy server, then a forced flush.
    let healthy = try Rig()
    let config = try String(contentsOfFile: stalled, encoding: .utf8)
      .replacingOccurrences(of: "port = \(rig.server.startTLSPort!)", with: "port = \(healthy.server.startTLSPort!)")
      .replacingOccurrences(of: rig.server.caFile, with: healthy.server.caFile)
    let path = try rig.write("healthy.toml", config)
    let flush = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "flush", "-C", path], environment: rig.environment, timeout: 120)
    #expect(flush.status == 0, "\(flush.stderr)")
    let delivered = healthy.received.map { String(decoding: $0.data, as: UTF8.self) }
    var counts: [Int: Int] = [:]
    for i in 0..<50 where delivered.contains(where: { $0.contains("\r\nmessage \(i)\r\n") }) { counts[i, default: 0] += 1 }
    let missing = (0..<50).filter { counts[$0] == nil }
    // Messages killed before their commit never existed for the caller (it saw no exit 0),
    // so only committed ones must arrive: the queue must be empty and nothing corrupt sent.
    #expect(try Self.mailq(rig, path).contains("Mail queue is empty"))
    let duplicates = delivered.count - Set(delivered).count
    print("kill -9: \(killed) of 50 killed, \(delivered.count) delivered, \(missing.count) never committed, \(duplicates) duplicates")
    #expect(delivered.allSatisfy { $0.contains("\r\nSubject: kill ") || $0.hasPrefix("Subject: kill ") })
  }

  @Test("No account matches: exit 78, and the message is kept in failed/")
  func noAccountKeptInFailed() throws {
    let rig = try Rig()
    let config = try rig.write(
      "two.toml",
      "log = \"none\"\n[account.a]\nfrom = \"a@example.com\"\nauth = \"none\"\n[account.b]\nfrom = \"b@example.com\"\nauth = \"none\"\n")
    let r = try rig.send(["-C", config, "-f", "stranger@example.org", "bob@example.org"], "Subject: kept\n\nplease keep me\n")
    #expect(r.status == 78)
    #expect(r.stderr.contains("no account matches"))
    let failed = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "list", "--failed", "-C", config], environment: rig.environment)
    #expect(failed.out.contains("stranger@example.org") && failed.out.contains("bob@example.org"), "\(failed.out)")
  }

  @Test("A message kept for want of an account is sent by queue retry once the config has a default")
  func keptMessageRetried() throws {
    let rig = try Rig()
    let two = (try String(contentsOfFile: try rig.config(), encoding: .utf8))
      .replacingOccurrences(of: "queue = false", with: "log = \"none\"")
      + "\n[account.b]\nfrom = \"b@example.com\"\nauth = \"none\"\n"
    let config = try rig.write("kept.toml", two)
    let r = try rig.send(["-C", config, "bob@example.org"], "Subject: kept\n\nplease keep me\n")
    #expect(r.status == 78)
    let failed = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "list", "--failed", "--json", "-C", config], environment: rig.environment)
    let id = try #require(failed.out.range(of: "\"id\":\"").map { String(failed.out[$0.upperBound...].prefix { $0 != "\"" }) })
    let fixed = try rig.write("fixed.toml", "default = \"alice\"\n" + two)
    let retry = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "retry", id, "-C", fixed], environment: rig.environment)
    #expect(retry.status == 0, "\(retry.stderr)")
    let m = try #require(rig.received.first)
    #expect(m.record.mailFrom == "alice@example.com" && m.record.recipients == ["bob@example.org"])
    let data = String(decoding: m.data, as: UTF8.self)
    #expect(data.contains("From: alice@example.com") && data.contains("Message-ID: <") && data.contains("please keep me"))
  }

  @Test("A wrong app password waits on the normal retry schedule, not for login")
  func passwordNotDeferredForLogin() throws {
    let rig = try Rig()
    let config = try Self.queueConfig(rig)
    try rig.write("pw", "wrong\n")
    #expect(try rig.send(["-C", config, "bob@example.org"], simpleMessage).status == 0)
    let list = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "list", "--json", "-C", config], environment: rig.environment)
    #expect(list.out.contains("\"deferred_for_auth\":false") && list.out.contains("535"), "\(list.out)")
  }

  @Test("A password file others can read: exit 78 with the fix, the message in failed/")
  func unsafeSecretOnFirstAttempt() throws {
    let rig = try Rig()
    let config = try Self.queueConfig(rig)
    chmod(rig.dir.appendingPathComponent("pw").path, 0o644)
    let r = try rig.send(["-C", config, "bob@example.org"], simpleMessage)
    #expect(r.status == 78 && r.stderr.contains("chmod 600"), "\(r.stderr)")
    let failed = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "list", "--failed", "-C", config], environment: rig.environment)
    #expect(failed.out.contains("bob@example.org"))
  }

  @Test("A deferred attempt's log line names the relay it reached")
  func deferredLogNamesRelay() throws {
    let rig = try Rig(scenarios: [.temporaryRecipientFailure("busy@example.org")])
    let config = try Self.queueConfig(rig)
    #expect(try rig.send(["-C", config, "busy@example.org"], simpleMessage).status == 0)
    let line = Self.log(rig)
    #expect(line.contains("status=deferred") && line.contains("relay=127.0.0.1[127.0.0.1]:\(rig.server.startTLSPort!)"), "\(line)")
    #expect(line.contains("from=<alice@example.com> to=<busy@example.org>"))
  }

  @Test("A failure after connecting (here TLS) is logged with the relay reached; a refused connection with relay=none")
  func failedSessionLogNamesRelay() throws {
    let rig = try Rig()
    let trusted = try Self.queueConfig(rig)
    let untrusted = try rig.write(
      "untrusted.toml",
      try String(contentsOfFile: trusted, encoding: .utf8)
        .replacingOccurrences(of: "tls_ca_file = \"\(rig.server.caFile)\"\n", with: ""))
    let r = try rig.send(["-C", untrusted, "bob@example.org"], simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    let relay = "relay=127.0.0.1[127.0.0.1]:\(rig.server.startTLSPort!)"
    // The first attempt, then a queue run (which opens its sessions another way).
    let id = try #require(try Self.firstID(rig, untrusted))
    let ctl = Harness.binary("gsendmailctl")
    _ = try Harness.run(ctl, ["queue", "retry", id, "-C", untrusted], environment: rig.environment)
    let lines = Self.log(rig).split(separator: "\n")
    #expect(lines.count == 2, "\(lines)")
    #expect(lines.allSatisfy { $0.contains("status=deferred") && $0.contains(relay) }, "\(lines)")
    // The queue run was gsendmailctl's; the log line is gsendmail's.
    #expect(lines.allSatisfy { $0.contains(" gsendmail[") }, "\(lines)")
    let down = try Self.queueConfig(rig, port: try Self.closedPort())
    _ = try Harness.run(ctl, ["queue", "retry", id, "-C", down], environment: rig.environment)
    let last = Self.log(rig).split(separator: "\n").last ?? ""
    #expect(last.contains("status=deferred") && last.contains("relay=none "), "\(last)")
    #expect(rig.received.isEmpty)
  }

  @Test("Closed standard descriptors: no stdin is 66 with nothing sent; no stderr or stdout leaves the queued message intact")
  func closedStandardDescriptors() throws {
    let rig = try Rig()
    let config = try Self.queueConfig(rig)
    let bin = Harness.binary("gsendmail")
    let message = rig.dir.appendingPathComponent("message").path
    try Data(simpleMessage.utf8).write(to: URL(fileURLWithPath: message))
    func shell(_ line: String) throws -> RunResult {
      try Harness.run("/bin/sh", ["-c", line], environment: rig.environment)
    }
    let noInput = try shell("exec '\(bin)' -C '\(config)' bob@example.org <&-")
    #expect(noInput.status == 66, "\(noInput.stderr)")
    #expect(try shell("exec '\(bin)' -C '\(config)' -bs <&-").status == 66)
    #expect(rig.received.isEmpty)
    // -v writes the dialogue to fd 2; with it closed, it must not land in a queue file.
    let noErr = try shell("exec '\(bin)' -C '\(config)' -v bob@example.org <'\(message)' 2>&- >&-")
    #expect(noErr.status == 0)
    #expect(rig.server.waitForEndedSessions(1))
    let received = try #require(rig.received.first)
    #expect(String(decoding: received.data, as: UTF8.self).hasSuffix("\r\nHello Bob.\r\n"), "\(String(decoding: received.data, as: UTF8.self))")
    #expect(Self.log(rig).contains("status=sent"))
    #expect(try Self.mailq(rig, config).contains("Mail queue is empty"))
  }

  @Test("An alias loop met after reading: 78, the message kept in failed/; fixed aliases and queue retry deliver it")
  func aliasLoopKeepsMessage() throws {
    let rig = try Rig()
    let aliases = rig.dir.appendingPathComponent("aliases").path
    try Data("ops: oncall\noncall: ops\n".utf8).write(to: URL(fileURLWithPath: aliases))
    let config = try Self.queueConfig(rig, extra: "aliases = \"\(aliases)\"\n")
    let r = try rig.send(["-C", config, "ops"], simpleMessage)
    #expect(r.status == 78 && r.stderr.contains("loop"), "\(r.stderr)")
    let ctl = Harness.binary("gsendmailctl")
    let failed = try Harness.run(ctl, ["queue", "list", "--failed", "--json", "-C", config], environment: rig.environment)
    #expect(failed.out.contains("\"recipients\":[\"ops\"]") && failed.out.contains("loop"), "\(failed.out)")
    let id = try #require(failed.out.range(of: "\"id\":\"").map { String(failed.out[$0.upperBound...].prefix { $0 != "\"" }) })
    try Data("ops: oncall\noncall: bob@example.org\n".utf8).write(to: URL(fileURLWithPath: aliases))
    let retry = try Harness.run(ctl, ["queue", "retry", id, "-C", config], environment: rig.environment)
    #expect(retry.status == 0, "\(retry.stderr)")
    #expect(rig.received.map(\.record.recipients) == [["bob@example.org"]])
  }

  @Test("A home that does not exist is never created for the queue (even as root): 73 saying where the queue goes")
  func missingHomeNotCreated() throws {
    let rig = try Rig()
    let config = try Self.queueConfig(rig)
    let home = rig.dir.appendingPathComponent("no-such-parent/home").path
    let r = try Harness.run(
      Harness.binary("gsendmail"), ["-C", config, "bob@example.org"], stdin: simpleMessage.bytes, environment: ["HOME": home])
    #expect(r.status == 73, "\(r.stderr)")
    #expect(r.stderr.contains("XDG_STATE_HOME"), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: rig.dir.appendingPathComponent("no-such-parent").path))
    #expect(rig.received.isEmpty)
  }

  @Test("queue = false needs no queue: staged privately, removed once sent or deferred, kept when refused for good")
  func queueFalseWithoutQueue() throws {
    let rig = try Rig(scenarios: [.permanentRecipientFailure("nobody@example.org")])
    let config = try rig.config()  // queue = false
    let tmp = rig.dir.appendingPathComponent("tmp").path
    try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    let environment = ["HOME": rig.dir.appendingPathComponent("no-such-parent/home").path, "TMPDIR": tmp]
    func send(_ config: String, _ recipient: String) throws -> RunResult {
      try Harness.run(Harness.binary("gsendmail"), ["-C", config, recipient], stdin: simpleMessage.bytes, environment: environment)
    }
    func staged() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: tmp) }
    let sent = try send(config, "bob@example.org")
    #expect(sent.status == 0, "\(sent.stderr)")
    #expect(rig.received.count == 1)
    #expect(try staged().isEmpty)
    #expect(!FileManager.default.fileExists(atPath: rig.dir.appendingPathComponent("no-such-parent").path))
    // A temporary failure: 75, nothing left behind.
    let down = try rig.write("down.toml", try String(contentsOfFile: config, encoding: .utf8)
      .replacingOccurrences(of: "port = \(rig.server.startTLSPort!)", with: "port = \(try Self.closedPort())"))
    #expect(try send(down, "bob@example.org").status == 75)
    #expect(try staged().isEmpty)
    // Refused for good: 67, and the message is kept where it was staged, as failed/ keeps it.
    let refused = try send(config, "nobody@example.org")
    #expect(refused.status == 67, "\(refused.stderr)")
    let kept = try staged()
    #expect(kept.count == 1 && refused.stderr.contains("kept in \(tmp)/\(kept.first ?? "")/queue/failed/"), "\(refused.stderr)")
    let failed = try FileManager.default.contentsOfDirectory(atPath: "\(tmp)/\(kept.first ?? "")/queue/failed")
    #expect(!failed.isEmpty, "\(failed)")
  }

  @Test("queue show, delete and retry; queue IDs are validated")
  func ctlQueue() throws {
    let rig = try Rig()
    let config = try Self.queueConfig(rig)
    _ = try rig.send(["-C", config, "-odq", "bob@example.org"], simpleMessage)
    let id = try #require(try Self.firstID(rig, config))
    let show = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "show", id, "-C", config], environment: rig.environment)
    #expect(show.status == 0 && show.out.contains("Subject: test"), "\(show.stderr)")
    let bad = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "show", "../../etc/passwd", "-C", config], environment: rig.environment)
    #expect(bad.status != 0 && !bad.out.contains("root:"))
    let delete = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "delete", id, "-C", config], environment: rig.environment)
    #expect(delete.status == 0)
    #expect(try Self.mailq(rig, config).contains("Mail queue is empty"))
  }

  /// The first queue ID `queue list --json` shows.
  static func firstID(_ rig: Rig, _ config: String, failed: Bool = false) throws -> String? {
    let list = try QueueFlushTests.json(rig, config, failed: failed)
    guard let range = list.range(of: "\"id\":\"") else { return nil }
    return String(list[range.upperBound...].prefix { $0 != "\"" })
  }

  /// A port on 127.0.0.1 with nothing listening.
  static func closedPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return UInt16(bigEndian: address.sin_port)
  }
}
