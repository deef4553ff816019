// Background delivery (-odb, delivery = "background") through the real binary: the
// caller's wait, the detached child's outcomes, its lock, and kill -9 of it.
import Foundation
import TestServerKit
import Testing

@Suite("Background delivery, through the real binary", .serialized)
struct BackgroundTests {
  /// Runs gsendmail and measures how long the caller waited (including for its output to end).
  static func timedSend(_ rig: Rig, _ arguments: [String], _ message: String = simpleMessage) throws -> (RunResult, TimeInterval) {
    let start = Date()
    let r = try rig.send(arguments, message)
    return (r, Date().timeIntervalSince(start))
  }

  /// Waits up to `seconds` for `condition`.
  static func eventually(_ seconds: TimeInterval = 15, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if condition() { return true }
      usleep(20_000)
    }
    return condition()
  }

  /// The processes whose command line contains `marker` (the config path, unique per test).
  static func processes(containing marker: String) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { name -> pid_t? in
      guard let pid = pid_t(name), pid != getpid(),
        let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline"),
        String(decoding: data, as: UTF8.self).contains(marker),
        !isZombie(pid)
      else { return nil }
      return pid
    }
  }

  static func isZombie(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return true }
    return stat[stat.index(close, offsetBy: 2)] == "Z"
  }

  @Test("-odb exits 0 before the server's greeting; its child holds the entry against a queue run; kill -9 of it leaves the message for the next run, which sends it once")
  func stalledGreetingThenKill() throws {
    let rig = try Rig()
    let listener = try StalledListener()
    defer { listener.close() }
    let stalled = try QueueTests.queueConfig(rig, port: listener.port, timeout: "60s", name: "stalled.toml")
    let live = try QueueTests.queueConfig(rig, name: "live.toml")
    let (r, waited) = try Self.timedSend(rig, ["-C", stalled, "-odb", "bob@example.org"])
    #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
    #expect(waited < 3, "the caller waited \(waited) s")
    #expect(try QueueTests.mailq(rig, live).contains("bob@example.org"))
    let children = Self.processes(containing: stalled)
    #expect(children.count == 1, "\(children)")
    let child = try #require(children.first)
    // The child is connected to the stalled server and holds the entry's lock: a queue run
    // through a live server must leave the entry alone.
    #expect(Self.eventually(5) { listener.pendingConnections() >= 1 })
    let early = try Harness.run(Harness.binary("gsendmail"), ["-C", live, "-q"], environment: rig.environment)
    #expect(early.status == 0, "\(early.stderr)")
    #expect(rig.received.isEmpty)
    kill(child, SIGKILL)
    #expect(Self.eventually(5) { Self.processes(containing: stalled).isEmpty })
    #expect(try QueueTests.mailq(rig, live).contains("bob@example.org"))
    let run = try Harness.run(Harness.binary("gsendmail"), ["-C", live, "-q"], environment: rig.environment)
    #expect(run.status == 0, "\(run.stderr)")
    #expect(rig.received.count == 1)
    #expect(try QueueTests.mailq(rig, live).contains("Mail queue is empty"))
    _ = try Harness.run(Harness.binary("gsendmail"), ["-C", live, "-q"], environment: rig.environment)
    #expect(rig.received.count == 1)
  }

  @Test("-odb against a live server: the child sends it exactly once and logs it as sent")
  func deliveredOnce() throws {
    let rig = try Rig()
    let config = try QueueTests.queueConfig(rig, name: "live.toml")
    let (r, _) = try Self.timedSend(rig, ["-C", config, "-odb", "bob@example.org"])
    #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
    #expect(Self.eventually { QueueTests.log(rig).contains("status=sent") })
    #expect(Self.eventually { Self.processes(containing: config).isEmpty })
    #expect(rig.received.count == 1)
    #expect(rig.received.first?.record.recipients == ["bob@example.org"])
    #expect(QueueTests.log(rig).components(separatedBy: "status=").count == 2, "\(QueueTests.log(rig))")
    #expect(try QueueTests.mailq(rig, config).contains("Mail queue is empty"))
  }

  @Test("-odb with the recipient refused (5xx at RCPT): exit 0, failed/, and a failure notice to the sender")
  func refusedRecipientBecomesNotice() throws {
    let rig = try Rig(scenarios: [.permanentRecipientFailure("nobody@example.org")])
    let config = try QueueTests.queueConfig(rig, name: "refusing.toml")
    let interactive = try rig.send(["-C", config, "-odi", "nobody@example.org"], simpleMessage)
    #expect(interactive.status == 67, "\(interactive.stderr)")
    let (r, _) = try Self.timedSend(rig, ["-C", config, "-odb", "nobody@example.org"])
    #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
    #expect(Self.eventually { rig.received.contains { $0.record.mailFrom == "" } })
    let notice = try #require(rig.received.first { $0.record.mailFrom == "" })
    #expect(notice.record.recipients == ["alice@example.com"])
    let text = String(decoding: notice.data, as: UTF8.self)
    #expect(text.contains("Final-Recipient: rfc822; nobody@example.org") && text.contains("Hello Bob."))
    #expect(Self.eventually { Self.processes(containing: config).isEmpty })
    let failed = try QueueFlushTests.json(rig, config, failed: true)
    // The interactive message and the background one.
    #expect(failed.components(separatedBy: "\"id\":").count - 1 == 2, "\(failed)")
    #expect(QueueTests.log(rig).components(separatedBy: "status=bounced").count - 1 == 2, "\(QueueTests.log(rig))")
    #expect(try QueueTests.mailq(rig, config).contains("Mail queue is empty"))
  }

  @Test("delivery = \"background\" without -od is -odb; -odi overrides it; with queue = false it is interactive")
  func deliveryKey() throws {
    let rig = try Rig()
    let listener = try StalledListener()
    defer { listener.close() }
    let background = try QueueTests.queueConfig(rig, port: listener.port, timeout: "2s", extra: "delivery = \"background\"\n", name: "bg.toml")
    let (quick, quickWait) = try Self.timedSend(rig, ["-C", background, "bob@example.org"])
    #expect(quick.status == 0 && quickWait < 1.5, "\(quick.stderr) \(quickWait) s")
    let (slow, slowWait) = try Self.timedSend(rig, ["-C", background, "-odi", "bob@example.org"])
    #expect(slow.status == 0 && slowWait >= 2, "\(slow.stderr) \(slowWait) s")
    var text = try String(contentsOfFile: background, encoding: .utf8)
    text = "queue = false\n" + text
    let unqueued = try rig.write("noqueue.toml", text)
    let (failed, failedWait) = try Self.timedSend(rig, ["-C", unqueued, "-odb", "bob@example.org"])
    #expect(failed.status == 75 && failedWait >= 2, "\(failed.stderr) \(failedWait) s")
    #expect(Self.eventually { Self.processes(containing: background).isEmpty })
  }
}

/// A TCP listener on 127.0.0.1 that never accepts: connections complete in the kernel's
/// backlog and never get a greeting.
final class StalledListener {
  let fd: Int32
  let port: UInt16

  init() throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let size = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
    guard bound == 0, listen(fd, 16) == 0 else {
      _ = Glibc.close(fd)
      throw POSIXError(.EADDRINUSE)
    }
    var length = size
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    self.fd = fd
    port = UInt16(bigEndian: address.sin_port)
  }

  /// Connections waiting in the backlog (Linux reports them as the receive queue of a
  /// listening socket).
  func pendingConnections() -> Int {
    let hexPort = String(format: ":%04X ", port)
    let table = (try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)) ?? ""
    for line in table.split(separator: "\n") {
      let fields = line.split(separator: " ")
      // local_address st tx_queue:rx_queue; 0A is LISTEN.
      guard fields.count > 4, (fields[1] + " ").hasSuffix(hexPort), fields[3] == "0A" else { continue }
      return Int(fields[4].split(separator: ":").last ?? "0", radix: 16) ?? 0
    }
    return 0
  }

  func close() { _ = Glibc.close(fd) }
}
