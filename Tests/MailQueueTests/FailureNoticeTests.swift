// SPDX-License-Identifier: MIT
import TestSupport
import Testing
@testable import MailQueue

@Suite("Failure notice")
struct FailureNoticeTests {
  static let entry = QueueEntry(
    id: QueueID(unchecked: "0ABCDEFGHIJKLMNOPQ"), arrival: 1_709_632_800, envelope: sampleEnvelope,
    header: sampleHeader, body: BodyStatistics(size: 7, has8BitBytes: false, longestLine: 5), attempts: 3,
    nextAttempt: 0)
  static let failures = [
    FailureNotice.FailedRecipient(address: "bob@example.com", status: "5.1.1", diagnostic: "550 5.1.1 no such user\r\n"),
    FailureNotice.FailedRecipient(
      address: "carol@example.org", status: "4.4.7", diagnosticType: "x-gsendmail", diagnostic: "delivery time expired"),
  ]

  /// A zone whose offset changes between the arrival (+01:00) and the notice (+02:00).
  static func zone(_ seconds: Int) -> Int { seconds < 1_709_800_000 ? 60 : 120 }

  static func make(_ entry: QueueEntry, maximum: Int = 10 << 20) -> FailureNotice? {
    var generator = SplitMix64(seed: 7)
    return FailureNotice.make(
      for: entry, failures: failures, reportingHost: "host.example.com", fromAddress: "alice@example.com",
      now: 1_710_000_000, zoneOffsetMinutes: zone, maximumOriginalSize: maximum, using: &generator)
  }

  static func text(_ notice: FailureNotice, body: String = "Hello\r\n") -> String {
    notice.segments.map {
      switch $0 {
      case .bytes(let bytes): return String(decoding: bytes, as: UTF8.self)
      case .originalBody: return body
      }
    }.joined()
  }

  @Test("Structure: multipart/report with three parts and the RFC 3464 fields")
  func structure() throws {
    let notice = try #require(Self.make(Self.entry))
    #expect(notice.recipient == "alice@example.com")
    #expect(notice.segments.count == 3 && notice.segments[1] == .originalBody)
    #expect(!notice.requires8BitMIME)
    let text = Self.text(notice)
    let b = notice.boundary
    #expect(b.hasPrefix("=_gsendmail_") && b.count == 36)
    #expect(text.components("--\(b)\r\n") == 3)
    #expect(text.hasSuffix("\r\n--\(b)--\r\n"))
    for line in [
      "From: Mail Delivery System <alice@example.com>", "To: <alice@example.com>",
      "Subject: Undelivered Mail Returned to Sender", "Date: Sat, 09 Mar 2024 18:00:00 +0200",
      "Auto-Submitted: auto-replied", "MIME-Version: 1.0",
      "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"\(b)\"",
      "Content-Type: message/delivery-status", "Reporting-MTA: dns; host.example.com",
      "Arrival-Date: Tue, 05 Mar 2024 11:00:00 +0100", "Final-Recipient: rfc822; bob@example.com",
      "Action: failed", "Status: 5.1.1", "Diagnostic-Code: smtp; 550 5.1.1 no such user",
      "Final-Recipient: rfc822; carol@example.org", "Status: 4.4.7",
      "Diagnostic-Code: x-gsendmail; delivery time expired", "Content-Type: message/rfc822",
    ] {
      #expect(text.contains(line + "\r\n"), "missing \(line)")
    }
    #expect(text.contains("Content-Type: message/rfc822\r\n\r\n" + String(decoding: sampleHeader, as: UTF8.self) + "Hello\r\n"))
    #expect(!text.contains("\n\n") && !text.contains("\r\r"))
    #expect(notice.size(bodySize: 7) == text.utf8.count)
  }

  @Test("No notice for the null sender or NOTIFY without FAILURE")
  func notWanted() {
    var entry = Self.entry
    entry.envelope.sender = ""
    #expect(Self.make(entry) == nil)
    entry.envelope.sender = "alice@example.com"
    entry.envelope.notify = "NEVER"
    #expect(Self.make(entry) == nil)
    entry.envelope.notify = "SUCCESS, DELAY"
    #expect(Self.make(entry) == nil)
    entry.envelope.notify = "success,failure"
    #expect(Self.make(entry) != nil)
  }

  @Test("RET=HDRS or a big message: only the header, as text/rfc822-headers")
  func headersOnly() throws {
    var entry = Self.entry
    entry.envelope.ret = "hdrs"
    for notice in [try #require(Self.make(entry)), try #require(Self.make(Self.entry, maximum: 10))] {
      #expect(!notice.segments.contains(.originalBody))
      let text = Self.text(notice)
      #expect(text.contains("Content-Type: text/rfc822-headers\r\n\r\n" + String(decoding: sampleHeader, as: UTF8.self)))
      #expect(!text.contains("message/rfc822"))
    }
  }

  @Test("An 8-bit original makes the notice 8bit")
  func eightBit() throws {
    var entry = Self.entry
    entry.body.has8BitBytes = true
    let notice = try #require(Self.make(entry))
    #expect(notice.requires8BitMIME)
    #expect(Self.text(notice).components("Content-Transfer-Encoding: 8bit\r\n") == 2)
  }

  @Test("The boundary never occurs in the attached header")
  func boundaryAvoidsHeader() throws {
    let first = try #require(Self.make(Self.entry))
    var entry = Self.entry
    entry.header = Array("X-Trap: \(first.boundary)\r\n\r\n".utf8)
    let second = try #require(Self.make(entry))
    #expect(second.boundary != first.boundary)
  }
}

extension String {
  /// How many times `separator` occurs.
  func components(_ separator: String) -> Int {
    split(separator: separator, omittingEmptySubsequences: false).count - 1
  }
}
