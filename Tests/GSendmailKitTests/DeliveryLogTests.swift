// SPDX-License-Identifier: MIT
// Log lines: every field escaped so that no input starts a line; -L checked; the
// log file created with the mode its writers need, never through a symbolic link,
// and a line it cannot take reported and sent to syslog.

import Synchronization
import Testing

@testable import GSendmailCore
@testable import GSendmailKit

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Delivery log")
struct DeliveryLogTests {
  static let forged = "x\nDec  7 01:02:03 gsendmail[1]: id=1 status=sent (forged)"

  static func record(from: String = "a@example.com", to: [String] = ["b@example.org"], detail: String = "250 OK")
    -> DeliveryRecord
  {
    DeliveryRecord(id: "ID1", from: from, to: to, size: 10, relay: "h[127.0.0.1]:25", delay: 0, status: .sent, detail: detail)
  }

  @Test("control characters, DEL, C1 controls, line separators and the backslash are escaped")
  func escaping() {
    #expect(LogEscaping.escape("a\r\nb\tc") == "a\\r\\nb\\tc")
    #expect(LogEscaping.escape("\u{1b}[2J\u{7f}\u{0}") == "\\x1B[2J\\x7F\\x00")
    #expect(LogEscaping.escape("\u{85}x\u{2028}") == "\\u{0085}x\\u{2028}")
    #expect(LogEscaping.escape("a\\nb") == "a\\\\nb")
    #expect(LogEscaping.escape("plain <a@b> é 250 2.0.0 OK") == "plain <a@b> é 250 2.0.0 OK")
  }

  @Test("no field of a record can start a new line")
  func fields() {
    let records = [
      Self.record(from: Self.forged), Self.record(to: ["ok@example.org", Self.forged]),
      Self.record(detail: "250-first\r\n250 " + Self.forged),
      DeliveryRecord(id: Self.forged, from: "", to: [], size: 0, relay: Self.forged, delay: 0, status: .bounced, detail: ""),
    ]
    for record in records {
      let line = record.line
      #expect(!line.contains { $0.isNewline || ($0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } ?? false) })
      #expect(line.contains("x\\nDec  7"))
    }
  }

  @Test("-L takes a short printable tag and refuses anything that could forge a line", arguments: [
    ("cron", true), ("my-app.daily_1", true), (String(repeating: "t", count: 32), true),
    ("", false), ("a b", false), ("x\nDec  7 forged", false), ("x\r", false), ("tab\there", false),
    ("é", false), ("a[1]", false), ("a:", false), ("\u{7f}", false), (String(repeating: "t", count: 33), false),
  ])
  func tag(value: String, accepted: Bool) throws {
    if accepted {
      #expect(try SendmailOptions.parse(["-L", value, "x@example.org"]).syslogTag == value)
      #expect(try SendmailOptions.parse(["-L" + value, "x@example.org"]).syslogTag == value)
    } else {
      #expect(throws: UsageError.self) { try SendmailOptions.parse(["-L", value, "x@example.org"]) }
    }
  }

  static func temporaryDirectory() throws -> String {
    var template = Array("/tmp/gsendmail-log-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    try #require(made != nil)
    return String(cString: made!)
  }

  static func mode(_ path: String) -> mode_t {
    var info = stat()
    return lstat(path, &info) == 0 ? info.st_mode & 0o7777 : 0
  }

  static func read(_ path: String) -> String {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 65536)
    let n = Glibc.read(fd, &buffer, buffer.count)
    return String(decoding: buffer.prefix(max(0, n)), as: UTF8.self)
  }

  @Test("a shared log file is made 0660 and a private one 0600, whatever the umask; lines append")
  func fileModes() throws {
    let dir = try Self.temporaryDirectory()
    defer { _ = system("rm -rf '\(dir)'") }
    let old = umask(0o077)
    defer { umask(old) }
    for (name, shared, mode) in [("shared.log", true, mode_t(0o660)), ("own.log", false, mode_t(0o600))] {
      let path = dir + "/" + name
      let log = DeliveryLog(target: .file(path), ident: "cron", shared: shared, reportFailure: { _ in Issue.record("failed") })
      log.log(Self.record(), now: (1_800_000_000, 0))
      log.log(Self.record(from: Self.forged), now: (1_800_000_001, 0))
      #expect(Self.mode(path) == mode)
      let lines = Self.read(path).split(separator: "\n")
      #expect(lines.count == 2)
      #expect(lines.allSatisfy { $0.contains(" cron[") && $0.contains("status=sent") })
    }
  }

  @Test("a symbolic link is not followed; the failure is reported and the line goes to syslog")
  func symlink() throws {
    let dir = try Self.temporaryDirectory()
    defer { _ = system("rm -rf '\(dir)'") }
    let target = dir + "/victim"
    let link = dir + "/gsendmail.log"
    #expect(Glibc.symlink(target, link) == 0)
    let socketPath = dir + "/syslog"
    let listener = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(listener) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (i, b) in socketPath.utf8.enumerated() { raw[i] = b }
    }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    #expect(bound == 0)
    let reports = Mutex<[String]>([])
    let log = DeliveryLog(
      target: .file(link), syslogSocket: socketPath, shared: true, reportFailure: { text in reports.withLock { $0.append(text) } })
    log.log(Self.record(), now: (1_800_000_000, 0))
    #expect(access(target, F_OK) != 0)
    let said = reports.withLock { $0 }
    #expect(said.count == 1 && said[0].contains("symbolic link") && said[0].contains("syslog"))
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = recv(listener, &buffer, buffer.count, Int32(MSG_DONTWAIT))
    #expect(n > 0 && String(decoding: buffer.prefix(max(0, n)), as: UTF8.self).contains("status=sent"))
  }

  @Test("a password command's note is escaped too")
  func note() throws {
    let dir = try Self.temporaryDirectory()
    defer { _ = system("rm -rf '\(dir)'") }
    let path = dir + "/g.log"
    DeliveryLog(target: .file(path)).note("failed: " + Self.forged, now: (1_800_000_000, 0))
    let text = Self.read(path)
    #expect(text.split(separator: "\n").count == 1 && text.contains("failed: x\\nDec"))
  }
}
