// SPDX-License-Identifier: MIT
// One log line per delivery attempt (gsendmail(8), "LOGGING"), Postfix style, to syslog (facility mail), a
// file, or nowhere. Where /dev/log is missing (containers, CI) syslog lines are
// dropped silently: logging never fails a delivery.
// No secret reaches a log line: only envelope, relay, size, timing and the
// server's reply or our own reason. Every field is escaped (`LogEscaping`), so no
// address, reply or tag can start a line of its own.

import GSendmailCore
import MessageCore

#if canImport(Glibc)
import Glibc
#endif

/// What happened to one delivery attempt.
public struct DeliveryRecord: Equatable, Sendable {
  public enum Status: String, Sendable {
    case sent, deferred, bounced
  }
  public var id: String
  public var from: String
  public var to: [String]
  public var size: Int
  /// `host[ip]:port`, or `none` when no connection was made.
  public var relay: String
  /// Seconds since the message arrived.
  public var delay: Int
  public var status: Status
  /// The server's reply or the reason.
  public var detail: String

  /// The line, e.g. `id=… from=<a@b> to=<c@d> size=120 relay=h[ip]:587 delay=0 status=sent (250 …)`.
  public var line: String {
    let e = LogEscaping.escape
    let recipients = to.map { "<\(e($0))>" }.joined(separator: ",")
    return "id=\(e(id)) from=<\(e(from))> to=\(recipients) size=\(size) relay=\(e(relay)) delay=\(delay) status=\(status.rawValue) (\(e(detail)))"
  }
}

/// How text from outside (addresses, server replies, tags) is written into a log line.
public enum LogEscaping {
  /// `text` with every byte that could end or disguise a line written visibly: CR, LF and
  /// tab as `\r`, `\n`, `\t`, other C0 controls and DEL as `\xNN`, C1 controls and the
  /// Unicode line and paragraph separators as `\u{NNNN}`, and the backslash itself
  /// doubled, so the escaped text reads back unambiguously.
  public static func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
      switch scalar.value {
      case 0x0A: out += "\\n"
      case 0x0D: out += "\\r"
      case 0x09: out += "\\t"
      case 0x5C: out += "\\\\"
      case 0..<0x20, 0x7F: out += "\\x" + hex(scalar.value, digits: 2)
      case 0x80..<0xA0, 0x2028, 0x2029: out += "\\u{" + hex(scalar.value, digits: 4) + "}"
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  private static func hex(_ value: UInt32, digits: Int) -> String {
    let text = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
  }
}

/// Writes delivery log lines.
public struct DeliveryLog: Sendable {
  public var target: LogTarget
  public var ident: String
  /// The syslog socket (a parameter so tests can listen on their own).
  public var syslogSocket: String
  /// The file belongs to the system configuration: every process that delivers through it
  /// (root, a user through the setgid binary, the queue user) appends to it, so it is made
  /// `0660` group `gsendmail`; otherwise `0600`, the user's own.
  public var shared: Bool
  /// Where a line that could not be written to the file is reported (standard error).
  public var reportFailure: @Sendable (String) -> Void

  public init(
    target: LogTarget, ident: String = "gsendmail", syslogSocket: String = "/dev/log", shared: Bool = false,
    reportFailure: @escaping @Sendable (String) -> Void = { FileDescriptorSink(fd: 2).write("gsendmail: \($0)\n") }
  ) {
    self.target = target
    self.ident = ident
    self.syslogSocket = syslogSocket
    self.shared = shared
    self.reportFailure = reportFailure
  }

  /// Logs one record at the given time. Logging never fails a delivery: a line the file
  /// cannot take is reported on standard error and sent to syslog instead.
  public func log(_ record: DeliveryRecord, now: (seconds: Int, zoneOffsetMinutes: Int)) {
    let severity = record.status == .sent ? 6 : (record.status == .deferred ? 5 : 4)  // info, notice, warning
    write(record.line, severity: severity, now: now)
  }

  /// Logs a line that is not a delivery attempt (a removal from failed/, a password
  /// command's error output), at severity info unless told; `message` is escaped here.
  public func note(_ message: String, now: (seconds: Int, zoneOffsetMinutes: Int), severity: Int = 6) {
    write(LogEscaping.escape(message), severity: severity, now: now)
  }

  private func write(_ line: String, severity: Int, now: (seconds: Int, zoneOffsetMinutes: Int)) {
    switch target {
    case .none: return
    case .syslog: sendSyslog(line, severity: severity, now: now)
    case .file(let path):
      if let problem = LogFile.append(prefix(now) + line + "\n", to: path, shared: shared) {
        reportFailure("cannot write the log file \(LogEscaping.escape(path)): \(problem); the line goes to syslog")
        sendSyslog(line, severity: severity, now: now)
      }
    }
  }

  /// `Mmm dd hh:mm:ss ident[pid]: `, the start of a file line.
  func prefix(_ now: (seconds: Int, zoneOffsetMinutes: Int)) -> String {
    "\(Self.timestamp(now)) \(LogEscaping.escape(ident))[\(getpid())]: "
  }

  /// RFC 3164 framing over the local datagram socket, as syslog(3) does.
  func sendSyslog(_ message: String, severity: Int, now: (seconds: Int, zoneOffsetMinutes: Int)) {
    let facilityMail = 2
    let text = "<\(facilityMail * 8 + severity)>" + prefix(now) + message
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let path = Array(syslogSocket.utf8)
    guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (i, b) in path.enumerated() { raw[i] = b }
    }
    let bytes = Array(text.utf8)
    _ = withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
        bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, socklen_t(MemoryLayout<sockaddr_un>.size)) }
      }
    }
  }

  static func timestamp(_ now: (seconds: Int, zoneOffsetMinutes: Int)) -> String {
    DateStamp(epochSeconds: Int64(now.seconds), utcOffsetMinutes: now.zoneOffsetMinutes).syslog
  }
}
