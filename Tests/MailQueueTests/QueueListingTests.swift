// SPDX-License-Identifier: MIT
import MessageCore
import Testing
@testable import MailQueue

@Suite("mailq and JSON listings")
struct QueueListingTests {
  static let first = QueueEntry(
    id: QueueID(unchecked: "0ABCDEFGHIJKLMNOPQ"), arrival: 1_709_632_800, envelope: sampleEnvelope,
    header: [UInt8](repeating: 0x41, count: 100), body: BodyStatistics(size: 1134), attempts: 2,
    nextAttempt: 1_709_633_400,
    lastError: "connect to smtp.gmail.com[142.250.1.1]:587: Connection timed out")
  static let second = QueueEntry(
    id: QueueID(unchecked: "0ABCDEFGHIJKLMNOPR"), arrival: 1_712_228_461,
    envelope: QueueEnvelope(sender: "", account: "relay", recipients: ["ops@example.net"]),
    header: [UInt8](repeating: 0x41, count: 48), body: BodyStatistics(size: 2000), nextAttempt: 1_712_228_461,
    deferredForAuthentication: true)

  @Test("Empty queue")
  func empty() {
    #expect(QueueListing.mailq([], zoneOffsetMinutes: { _ in 0 }) == "Mail queue is empty\n")
    #expect(QueueListing.json([]) == "[]\n")
  }

  /// Central European time: +01:00, and +02:00 from 2024-03-31 01:00 UTC.
  static func paris(_ seconds: Int) -> Int { seconds < 1_711_846_800 ? 60 : 120 }

  @Test("Postfix layout, golden; each arrival in its own date's offset (CET, then CEST)")
  func golden() {
    let text = QueueListing.mailq([Self.first, Self.second], zoneOffsetMinutes: Self.paris)
    #expect(
      text == """
        -Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
        0ABCDEFGHIJKLMNOPQ    1234 Tue Mar  5 11:00:00  alice@example.com
        (connect to smtp.gmail.com[142.250.1.1]:587: Connection timed out)
                                                 bob@example.com
                                                 carol@example.org

        0ABCDEFGHIJKLMNOPR!    2048 Thu Apr  4 13:01:01  MAILER-DAEMON
                                                 ops@example.net

        -- 4 Kbytes in 2 Requests.

        """)
  }

  @Test("One request is singular; the total rounds up")
  func singular() {
    let text = QueueListing.mailq([Self.first], zoneOffsetMinutes: { _ in 0 })
    #expect(text.hasSuffix("\n\n-- 2 Kbytes in 1 Request.\n"))
    #expect(text.contains(" 1234 Tue Mar  5 10:00:00  alice@example.com\n"))
  }

  @Test("JSON, golden")
  func json() {
    var entry = Self.first
    entry.lastError = "550 \"no\"\\ such\tuser \u{1}"
    #expect(
      QueueListing.json([entry, Self.second]) == """
        [
        {"id":"0ABCDEFGHIJKLMNOPQ","queue":"queued","arrival":1709632800,"size":1234,"sender":"alice@example.com","account":"work","recipients":["bob@example.com","carol@example.org"],"attempts":2,"next_attempt":1709633400,"last_error":"550 \\"no\\"\\\\ such\\tuser \\u0001","deferred_for_auth":false,"held":false,"uid":null},
        {"id":"0ABCDEFGHIJKLMNOPR","queue":"queued","arrival":1712228461,"size":2048,"sender":"","account":"relay","recipients":["ops@example.net"],"attempts":0,"next_attempt":1712228461,"last_error":"","deferred_for_auth":true,"held":false,"uid":null}
        ]

        """)
  }

  @Test("A held entry: marked !, with the limit and the time it may go")
  func held() {
    var entry = Self.first
    entry.held = true
    entry.nextAttempt = 1_709_636_400
    entry.lastError = "Gmail daily sending limit: 550 5.4.5 Daily user sending limit exceeded."
    entry.envelope.submitter = 1000
    let text = QueueListing.mailq([entry], zoneOffsetMinutes: { _ in 0 })
    #expect(text.contains("0ABCDEFGHIJKLMNOPQ!"))
    #expect(text.contains("(held until Tue Mar  5 11:00:00: Gmail daily sending limit: 550 5.4.5 Daily user sending limit exceeded.)\n"))
    #expect(QueueListing.json([entry]).contains(#""held":true,"uid":1000}"#))
  }

  @Test("Calendar arithmetic", arguments: [
    (0, 0, "Thu Jan  1 00:00:00", "Thu, 01 Jan 1970 00:00:00 +0000"),
    (951_782_400, 0, "Tue Feb 29 00:00:00", "Tue, 29 Feb 2000 00:00:00 +0000"),
    (1_709_632_800, 3600, "Tue Mar  5 11:00:00", "Tue, 05 Mar 2024 11:00:00 +0100"),
    (1_709_632_800, -16_200, "Tue Mar  5 05:30:00", "Tue, 05 Mar 2024 05:30:00 -0430"),
    (4_102_444_800, 0, "Fri Jan  1 00:00:00", "Fri, 01 Jan 2100 00:00:00 +0000"),
  ])
  func calendar(epoch: Int, offset: Int, mailq: String, rfc5322: String) {
    let time = DateStamp(epochSeconds: Int64(epoch), utcOffsetMinutes: offset / 60)
    #expect(time.mailq == mailq)
    #expect(time.rfc5322 == rfc5322)
  }
}
