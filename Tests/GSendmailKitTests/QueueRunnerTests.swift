// The queue runner against the in-memory store, with the clock injected: the retry
// schedule, lifetime expiry and notices, authentication deferral, and the log lines.
import Foundation
@testable import GSendmailCore
@testable import GSendmailKit
import MailQueue
import TestServerKit
import Testing

@Suite("Queue runner with an injected clock", .serialized)
struct QueueRunnerTests {
  /// A clock tests move by hand.
  final class Clock: @unchecked Sendable {
    var now = 1_800_000_000
  }

  /// A private home directory, so that token and queue files never land in a real one.
  static let home: String = {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("qr-home-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }()

  static func environment(_ clock: Clock) -> GSendmailKit.Environment {
    Environment(
      variables: [:], uid: 1000, gid: 1000, userName: "tester", home: home, hostName: "host.example.org",
      now: { (clock.now, 0) }, randomBytes: { Array(repeating: 7, count: $0) })
  }

  /// A configuration whose account points at `port` on 127.0.0.1 (nothing listening when 0).
  static func config(port: UInt16, caFile: String, auth: String = "none", logFile: String) throws -> Configuration {
    try ConfigParser.parse(
      """
      timeout = "2s"
      log = "file:\(logFile)"
      [account.a]
      from = "alice@example.com"
      route = "custom"
      host = "127.0.0.1"
      port = \(port)
      tls_ca_file = "\(caFile)"
      auth = "\(auth)"
      helo = "client.example.org"
      """, path: "/test/config.toml", home: "/nonexistent")
  }

  /// Queues one message the way the front end does.
  static func enqueue(_ store: any QueueStore, sender: String = "alice@example.com", at arrival: Int) throws -> QueueEntry {
    let draft = try store.create()
    try draft.append(Array("Hello.\r\n".utf8))
    let header = Array("From: alice@example.com\r\nTo: bob@example.org\r\nSubject: t\r\n\r\n".utf8)
    let (entry, lock) = try store.commit(
      draft, envelope: QueueEnvelope(sender: sender, account: "a", recipients: ["bob@example.org"]), header: header,
      arrival: arrival)
    lock.release()
    return entry
  }

  /// A relay-mode test server playing `scenarios`, and its state directory.
  static func rig(_ scenarios: [GmailScenario] = []) throws -> (GmailTestServer, String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qr-\(UUID().uuidString)")
    var c = GmailTestServerConfiguration(stateDirectory: dir.path)
    c.httpPort = nil
    c.implicitTLSPort = nil
    c.mode = .relay
    c.scenarios = scenarios
    return (try GmailTestServer(c), dir.path)
  }

  /// A runner over `store` with the injected clock, logging as `config` says.
  static func runner(_ clock: Clock, _ config: Configuration, _ store: any QueueStore, access: QueueAccess? = nil) -> QueueRunner {
    QueueRunner(
      environment: environment(clock), config: config, store: store, transcript: nil, log: DeliveryLog(target: config.log),
      access: access)
  }

  @Test("A server that is down: deferred 5 min, then 10, 20 … capped at 4 h; each attempt logged")
  func retrySchedule() throws {
    let (server, dir) = try Self.rig()
    defer { server.stop() }
    let clock = Clock()
    let store = InMemoryQueueStore()
    let log = dir + "/mail.log"
    let config = try Self.config(port: 1, caFile: server.caFile, logFile: log)
    let runner = Self.runner(clock, config, store)
    let entry = try Self.enqueue(store, at: clock.now)
    var delays: [Int] = []
    for _ in 0..<8 {
      try runner.run()
      let updated = try store.load(entry.id)
      delays.append(updated.nextAttempt - clock.now)
      clock.now = updated.nextAttempt
    }
    #expect(delays == [300, 600, 1200, 2400, 4800, 9600, 14_400, 14_400])
    let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 8)
    #expect(lines.allSatisfy { $0.contains("id=\(entry.id) from=<alice@example.com> to=<bob@example.org>") && $0.contains("status=deferred") })
  }

  @Test("After queue_lifetime: failed/, and a notice to the sender through the same account")
  func lifetimeExpiry() throws {
    let (server, dir) = try Self.rig()
    defer { server.stop() }
    let clock = Clock()
    let store = InMemoryQueueStore()
    let down = try Self.config(port: 1, caFile: server.caFile, logFile: dir + "/mail.log")
    let old = try Self.enqueue(store, at: clock.now - 5 * 86_400 - 1)
    let nullSender = try Self.enqueue(store, sender: "", at: clock.now - 5 * 86_400 - 1)
    try QueueRunner(environment: Self.environment(clock), config: down, store: store, transcript: nil, log: DeliveryLog(target: .none)).run()
    #expect(try store.listFailed().map(\.id).sorted() == [old.id, nullSender.id].sorted())
    // The notice for `old` is queued (its delivery failed too: the server is down); none for <>.
    let notices = try store.list()
    #expect(notices.count == 1)
    #expect(notices.first?.envelope.sender == "" && notices.first?.envelope.recipients == ["alice@example.com"])
    // With the server up, the notice is delivered.
    let up = try Self.config(port: server.startTLSPort!, caFile: server.caFile, logFile: dir + "/mail.log")
    clock.now += 86_400
    try QueueRunner(environment: Self.environment(clock), config: up, store: store, transcript: nil, log: DeliveryLog(target: .none)).run()
    let delivered = try #require(server.messages.first)
    #expect(delivered.record.mailFrom == "" && String(decoding: delivered.data, as: UTF8.self).contains("Subject: t"))
    #expect(try store.list().isEmpty)
  }

  @Test("The detached attempt of -odb: a refused recipient goes to failed/ and its notice is sent before it returns; the interactive attempt throws instead")
  func detachedAttempt() throws {
    let (server, dir) = try Self.rig([.permanentRecipientFailure("bob@example.org")])
    defer { server.stop() }
    let clock = Clock()
    let store = InMemoryQueueStore()
    let config = try Self.config(port: server.startTLSPort!, caFile: server.caFile, logFile: dir + "/mail.log")
    let environment = Self.environment(clock)
    let runner = Self.runner(clock, config, store)

    let interactive = try Self.enqueue(store, at: clock.now)
    let interactiveLock = try #require(try store.tryLock(interactive.id))
    #expect(throws: DeliveryFailure.self) {
      try runner.deliverNew(
        interactive, lock: interactiveLock, message: try MessageQueue.message(of: interactive, config: config, environment: environment))
    }
    interactiveLock.release()
    #expect(server.messages.isEmpty)

    let detached = try Self.enqueue(store, at: clock.now)
    let lock = try #require(try store.tryLock(detached.id))
    runner.deliverDetached(detached, lock: lock, message: try MessageQueue.message(of: detached, config: config, environment: environment))
    #expect(!lock.isHeld)
    #expect(Set(try store.listFailed().map(\.id)) == [interactive.id, detached.id])
    // One notice, for the detached attempt only, delivered from <> to the sender.
    #expect(server.messages.count == 1)
    #expect(server.messages.first?.record.mailFrom == "" && server.messages.first?.record.recipients == ["alice@example.com"])
    #expect(try store.list().isEmpty)
    let log = try String(contentsOfFile: dir + "/mail.log", encoding: .utf8)
    #expect(log.components(separatedBy: "status=bounced").count - 1 == 2 && log.contains("status=sent"))
  }

  @Test("A failure notice gives each recipient its own status and the server's reply (RFC 3464)")
  func perRecipientNotice() throws {
    let (server, dir) = try Self.rig([.permanentRecipientFailure("bob@example.org"), .temporaryRecipientFailure("carol@example.org")])
    defer { server.stop() }
    let clock = Clock()
    let store = InMemoryQueueStore()
    let config = try Self.config(port: server.startTLSPort!, caFile: server.caFile, logFile: dir + "/mail.log")
    let runner = Self.runner(clock, config, store)
    let draft = try store.create()
    try draft.append(Array("Hello.\r\n".utf8))
    let recipients = ["bob@example.org", "carol@example.org", "dave@example.org"]
    let (entry, lock) = try store.commit(
      draft, envelope: QueueEnvelope(sender: "alice@example.com", account: "a", recipients: recipients),
      header: Array("From: alice@example.com\r\nTo: bob@example.org\r\nSubject: t\r\n\r\n".utf8), arrival: clock.now)
    lock.release()

    try runner.run(force: true)
    #expect(try store.listFailed().map(\.id) == [entry.id])
    let notice = try #require(server.messages.first { $0.record.mailFrom == "" })
    let text = String(decoding: notice.data, as: UTF8.self)
    func report(_ address: String) -> String? {
      guard let start = text.range(of: "Final-Recipient: rfc822; \(address)\r\n") else { return nil }
      return String(text[start.upperBound...].prefix { $0 != "F" })
    }
    let bob = try #require(report("bob@example.org"), "\(text)")
    #expect(bob.contains("Status: 5.1.1\r\n") && bob.contains("Diagnostic-Code: smtp; 550 5.1.1"), "\(bob)")
    let carol = try #require(report("carol@example.org"), "\(text)")
    #expect(carol.contains("Status: 4.2.1\r\n") && carol.contains("Diagnostic-Code: smtp; 450 4.2.1"), "\(carol)")
    let dave = try #require(report("dave@example.org"), "\(text)")
    #expect(dave.contains("Status: 5.0.0\r\n") && dave.contains("x-gsendmail; not sent"), "\(dave)")
    #expect(!text.contains("Status: 5.0.0\r\nDiagnostic-Code: smtp"))
  }

  @Test("No token: deferred for login, not due until forced")
  func authenticationDeferral() throws {
    let (server, dir) = try Self.rig()
    defer { server.stop() }
    let clock = Clock()
    let store = InMemoryQueueStore()
    var config = try Self.config(port: server.startTLSPort!, caFile: server.caFile, auth: "oauth", logFile: dir + "/l")
    config.accounts[0].clientID = "x"
    let runner = QueueRunner(environment: Self.environment(clock), config: config, store: store, transcript: nil, log: DeliveryLog(target: .none))
    let entry = try Self.enqueue(store, at: clock.now)
    #expect(try runner.run().tried == 1)
    #expect(try store.load(entry.id).deferredForAuthentication)
    clock.now += 86_400
    #expect(try runner.run().tried == 0)
    #expect(try runner.run(force: true).tried == 1)
  }

  @Test("Log lines reach a syslog socket, framed as syslog(3) does")
  func syslogSocket() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("log-\(UUID().uuidString.prefix(8))").path
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd); unlink(path) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    #expect(bound == 0)
    let record = DeliveryRecord(
      id: "ABC", from: "a@example.com", to: ["b@example.org", "c@example.org"], size: 120,
      relay: "smtp.gmail.com[192.0.2.1]:587", delay: 2, status: .sent, detail: "250 2.0.0 OK  1757127926 x - gsmtp")
    DeliveryLog(target: .syslog, ident: "gsendmail", syslogSocket: path).log(record, now: (1_800_000_000, 0))
    var buffer = [UInt8](repeating: 0, count: 2048)
    let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
    let line = String(decoding: buffer[0..<max(0, n)], as: UTF8.self)
    #expect(line.hasPrefix("<22>Jan 15 08:00:00 gsendmail["))
    #expect(line.hasSuffix("]: id=ABC from=<a@example.com> to=<b@example.org>,<c@example.org> size=120 relay=smtp.gmail.com[192.0.2.1]:587 delay=2 status=sent (250 2.0.0 OK  1757127926 x - gsmtp)"))
    // A missing socket is skipped silently.
    DeliveryLog(target: .syslog, syslogSocket: path + ".missing").log(record, now: (0, 0))
  }
}
