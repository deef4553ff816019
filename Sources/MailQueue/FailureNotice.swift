// SPDX-License-Identifier: MIT
// The failure notice (RFC 3464 delivery status notification) sent to the
// envelope sender when a message is given up. Pure: the clock, zone, host name
// and randomness are parameters. The original body is never loaded: the notice
// is a list of byte segments with a placeholder where the caller streams the
// body from the queue (`QueueStore.openBody`).
//
// Structure (RFC 3462 multipart/report, RFC 3464 message/delivery-status):
//   header (From, To, Subject, Date, Message-ID, Auto-Submitted, MIME)
//   part 1  text/plain           what happened, for people
//   part 2  message/delivery-status  Reporting-MTA, Arrival-Date, and per
//                                recipient Final-Recipient, Action: failed,
//                                Status, Diagnostic-Code
//   part 3  message/rfc822       the original message, or text/rfc822-headers
//                                when it is too big or the sender asked RET=HDRS
// No notice is made for the null sender (RFC 5321 §4.5.5: it would loop) nor
// when the sender asked NOTIFY without FAILURE (RFC 3461 §4.1).

import MessageCore
/// A failure notice, ready to be queued or sent from the null sender (`MAIL FROM:<>`).
public struct FailureNotice: Equatable, Sendable {
  /// One recipient the message could not be delivered to.
  public struct FailedRecipient: Equatable, Sendable {
    /// The envelope recipient.
    public var address: String
    /// The RFC 3463 status, e.g. `5.1.1`, or `4.4.7` for an expired message.
    public var status: String
    /// The diagnostic type (RFC 3464 §2.3.6): `smtp` for a server reply, else `x-gsendmail`.
    public var diagnosticType: String
    /// The server's reply or the reason, one line.
    public var diagnostic: String

    /// Makes a failed recipient.
    public init(address: String, status: String, diagnosticType: String = "smtp", diagnostic: String) {
      self.address = address
      self.status = status
      self.diagnosticType = diagnosticType
      self.diagnostic = diagnostic
    }
  }

  /// A piece of the notice, in order.
  public enum Segment: Equatable, Sendable {
    /// Bytes to send as they are.
    case bytes([UInt8])
    /// Stream the original body here, from the queue entry.
    case originalBody
  }

  /// Who receives the notice: the original envelope sender.
  public var recipient: String
  /// The notice: header, the first two parts, the original, the closing boundary.
  public var segments: [Segment]
  /// Whether the notice contains 8-bit bytes (send with `BODY=8BITMIME`).
  public var requires8BitMIME: Bool
  /// The MIME boundary used.
  public var boundary: String

  /// Whether the sender of an entry should get a notice: not for the null sender, and
  /// not when DSN `NOTIFY` was given without `FAILURE`.
  public static func isWanted(for entry: QueueEntry) -> Bool {
    guard !entry.envelope.sender.isEmpty else { return false }
    guard let notify = entry.envelope.notify else { return true }
    return notify.uppercased().split(separator: ",").contains { $0.filter { $0 != " " } == "FAILURE" }
  }

  /// The total size when the body is included (for a SIZE parameter).
  public func size(bodySize: Int) -> Int {
    segments.reduce(0) {
      switch $1 {
      case .bytes(let bytes): return $0 + bytes.count
      case .originalBody: return $0 + bodySize
      }
    }
  }

  /// Builds the notice for an entry, or `nil` when none is wanted (`isWanted`).
  /// - Parameters:
  ///   - entry: The entry given up.
  ///   - failures: The recipients that failed, with status and diagnostic.
  ///   - reportingHost: This host's name (Reporting-MTA, Message-ID).
  ///   - fromAddress: The notice's `From:` address (the sending account's address, since
  ///     Gmail rewrites any other).
  ///   - now: The current time (Date:), seconds since the epoch.
  ///   - zoneOffsetMinutes: The local zone's offset from UTC in minutes at a time, for
  ///     Date: and Arrival-Date:.
  ///   - maximumOriginalSize: Above this message size only the header is attached.
  ///   - generator: Randomness for the boundary and Message-ID.
  public static func make(
    for entry: QueueEntry, failures: [FailedRecipient], reportingHost: String, fromAddress: String,
    now: Int, zoneOffsetMinutes: (Int) -> Int, maximumOriginalSize: Int = 10 << 20,
    using generator: inout some RandomNumberGenerator
  ) -> FailureNotice? {
    guard isWanted(for: entry) else { return nil }
    let host = oneLine(reportingHost, limit: 255)
    var boundary: String
    repeat {
      boundary = "=_gsendmail_" + randomText(24, using: &generator)
    } while contains(entry.header, Array(boundary.utf8))
    let messageID = "<" + randomText(20, using: &generator) + ".notice@" + host + ">"
    let withBody = entry.envelope.ret?.uppercased() != "HDRS" && entry.size <= maximumOriginalSize

    var report = ""
    report += "Reporting-MTA: dns; \(host)\r\n"
    report += "X-Gsendmail-Queue-ID: \(entry.id)\r\n"
    if let envid = entry.envelope.envid { report += "Original-Envelope-Id: \(oneLine(envid, limit: 200))\r\n" }
    report += "Arrival-Date: \(DateStamp(entry.arrival, zone: zoneOffsetMinutes).rfc5322)\r\n"
    var human = ""
    for failure in failures {
      let diagnostic = oneLine(failure.diagnostic, limit: 900)
      report += "\r\nFinal-Recipient: rfc822; \(oneLine(failure.address, limit: 500))\r\n"
      report += "Action: failed\r\n"
      report += "Status: \(oneLine(failure.status, limit: 20))\r\n"
      report += "Diagnostic-Code: \(oneLine(failure.diagnosticType, limit: 40)); \(diagnostic)\r\n"
      human += "<\(oneLine(failure.address, limit: 500))>: \(diagnostic)\r\n"
    }

    var head = ""
    head += "From: Mail Delivery System <\(oneLine(fromAddress, limit: 500))>\r\n"
    head += "To: <\(entry.envelope.sender)>\r\n"
    head += "Subject: Undelivered Mail Returned to Sender\r\n"
    head += "Date: \(DateStamp(now, zone: zoneOffsetMinutes).rfc5322)\r\n"
    head += "Message-ID: \(messageID)\r\n"
    head += "Auto-Submitted: auto-replied\r\n"
    head += "MIME-Version: 1.0\r\n"
    head += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"\(boundary)\"\r\n"
    let humanPart =
      "This is the mail system at host \(host).\r\n\r\n"
      + "Your message could not be delivered to one or more recipients.\r\n"
      + (withBody ? "It is attached below.\r\n" : "Its header is attached below.\r\n")
      + "\r\n" + human
    var parts = ""
    parts += "\r\nThis is a MIME-encapsulated message.\r\n\r\n"
    parts += "--\(boundary)\r\nContent-Description: Notification\r\n"
    parts += "Content-Type: text/plain; charset=utf-8\r\n\r\n" + humanPart + "\r\n"
    parts += "--\(boundary)\r\nContent-Description: Delivery report\r\n"
    parts += "Content-Type: message/delivery-status\r\n\r\n" + report + "\r\n"
    parts += "--\(boundary)\r\n"
    parts += withBody
      ? "Content-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n"
      : "Content-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n"

    let eightBit =
      (withBody && entry.body.has8BitBytes) || entry.header.contains { $0 >= 0x80 }
      || (head + parts).utf8.contains { $0 >= 0x80 }
    if eightBit {
      head += "Content-Transfer-Encoding: 8bit\r\n"
      parts += "Content-Transfer-Encoding: 8bit\r\n"
    }
    parts += "\r\n"

    var segments: [Segment] = [.bytes(Array((head + parts).utf8) + entry.header)]
    if withBody { segments.append(.originalBody) }
    segments.append(.bytes(Array("\r\n--\(boundary)--\r\n".utf8)))
    return FailureNotice(
      recipient: entry.envelope.sender, segments: segments, requires8BitMIME: eightBit, boundary: boundary)
  }

  private static let alphanumerics = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

  private static func randomText(_ count: Int, using generator: inout some RandomNumberGenerator) -> String {
    String(decoding: (0..<count).map { _ in
      alphanumerics[Int(generator.next(upperBound: UInt64(alphanumerics.count)))]
    }, as: UTF8.self)
  }

  /// One header-safe line of at most `limit` bytes.
  private static func oneLine(_ text: String, limit: Int) -> String {
    var out = String.UnicodeScalarView()
    var length = 0
    for scalar in EnvelopeRecord.sanitizedLine(text).unicodeScalars {
      length += String(scalar).utf8.count
      if length > limit { break }
      out.append(scalar)
    }
    return String(out)
  }

  private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    return (0...(haystack.count - needle.count)).contains { start in
      haystack[start..<start + needle.count].elementsEqual(needle)
    }
  }
}
