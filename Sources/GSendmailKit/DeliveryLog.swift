// SPDX-License-Identifier: MIT
// One log line per delivery attempt (gsendmail(8), "LOGGING"), Postfix style, to syslog
// (facility mail), a file, or nowhere. Where /dev/log is missing (containers,
// CI) syslog lines are dropped silently: logging never fails a delivery.
// No secret reaches a log line: only envelope, relay, size, timing and the
// server's reply or our own reason.

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
    let recipients = to.map { "<\($0)>" }.joined(separator: ",")
    let clean = String(detail.map { $0.isNewline || $0 == "\t" ? " " : $0 })
    return "id=\(id) from=<\(from)> to=\(recipients) size=\(size) relay=\(relay) delay=\(delay) status=\(status.rawValue) (\(clean))"
  }
}

/// Writes delivery log lines.
public struct DeliveryLog: Sendable {
  public var target: LogTarget
  public var ident: String
  /// The syslog socket (a parameter so tests can listen on their own).
  public var syslogSocket: String

  public init(target: LogTarget, ident: String = "gsendmail", syslogSocket: String = "/dev/log") {
    self.target = target
    self.ident = ident
    self.syslogSocket = syslogSocket
  }

  /// Logs one record at the given time; failures are ignored.
  public func log(_ record: DeliveryRecord, now: (seconds: Int, zoneOffsetMinutes: Int)) {
    let severity = record.status == .sent ? 6 : (record.status == .deferred ? 5 : 4)  // info, notice, warning
    switch target {
    case .none: return
    case .syslog: sendSyslog(record.line, severity: severity, now: now)
    case .file(let path): append(record.line, to: path, now: now)
    }
  }

  /// Logs a line that is not a delivery attempt (severity info); failures are ignored.
  public func note(_ message: String, now: (seconds: Int, zoneOffsetMinutes: Int)) {
    let clean = String(message.map { $0.isNewline || $0 == "\t" ? " " : $0 })
    switch target {
    case .none: return
    case .syslog: sendSyslog(clean, severity: 6, now: now)
    case .file(let path): append(clean, to: path, now: now)
    }
  }

  /// RFC 3164 framing over the local datagram socket, as syslog(3) does.
  func sendSyslog(_ message: String, severity: Int, now: (seconds: Int, zoneOffsetMinutes: Int)) {
    let facilityMail = 2
    let text = "<\(facilityMail * 8 + severity)>\(Self.timestamp(now)) \(ident)[\(getpid())]: \(message)"
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

  func append(_ message: String, to path: String, now: (seconds: Int, zoneOffsetMinutes: Int)) {
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array("\(Self.timestamp(now)) \(ident)[\(getpid())]: \(message)\n".utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  }

  static func timestamp(_ now: (seconds: Int, zoneOffsetMinutes: Int)) -> String {
    DateStamp(epochSeconds: Int64(now.seconds), utcOffsetMinutes: now.zoneOffsetMinutes).syslog
  }
}
