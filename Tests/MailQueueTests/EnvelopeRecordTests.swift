// SPDX-License-Identifier: MIT
import Testing
@testable import MailQueue

@Suite("Envelope file format")
struct EnvelopeRecordTests {
  static let id = QueueID(unchecked: "0ABCDEFGHIJKLMNOPQ")

  static let entry = QueueEntry(
    id: id, arrival: 1_709_632_800,
    envelope: QueueEnvelope(
      sender: "", account: "work", recipients: ["bob@example.com", "\"john doe\"@example.org"],
      notify: "FAILURE,DELAY", ret: "HDRS", envid: "QQ314159"),
    header: Array("Subject: x\r\n\r\n".utf8),
    body: BodyStatistics(size: 7, has8BitBytes: true, longestLine: 5), attempts: 2,
    nextAttempt: 1_709_633_400, lastError: "421 4.7.0 try later", deferredForAuthentication: true)

  @Test("The file is exactly the documented format")
  func golden() {
    let text = String(decoding: EnvelopeRecord.encode(Self.entry), as: UTF8.self)
    #expect(
      text == """
        gsendmail-queue 1
        id 0ABCDEFGHIJKLMNOPQ
        arrival 1709632800
        sender
        account work
        rcpt bob@example.com
        rcpt "john doe"@example.org
        notify FAILURE,DELAY
        ret HDRS
        envid QQ314159
        body-size 7
        body-8bit 1
        longest-line 5
        attempts 2
        next-attempt 1709633400
        last-error 421 4.7.0 try later
        deferred-auth 1
        header 14
        Subject: x\r\n\r\n
        end

        """)
  }

  @Test("Version 2: the submitter's uid and the held flag; without them version 1 is written")
  func version2() {
    var entry = Self.entry
    entry.envelope.submitter = 1000
    entry.held = true
    let text = String(decoding: EnvelopeRecord.encode(entry), as: UTF8.self)
    #expect(text.hasPrefix("gsendmail-queue 2\nid 0ABCDEFGHIJKLMNOPQ\narrival 1709632800\nsender\naccount work\nuid 1000\n"))
    #expect(text.contains("deferred-auth 1\nheld 1\nheader 14\n"))
    #expect(EnvelopeRecord.decode(Array(text.utf8), id: Self.id, area: .queued) == .success(entry))
    let missingHeld = text.replacingFirst("held 1\n", "")
    #expect(EnvelopeRecord.decode(Array(missingHeld.utf8), id: Self.id, area: .queued) == .failure(.init(reason: "missing held")))
    let hugeUID = text.replacingFirst("uid 1000", "uid 4294967296")
    #expect(EnvelopeRecord.decode(Array(hugeUID.utf8), id: Self.id, area: .queued) == .failure(.init(reason: "bad uid")))
  }

  @Test("No account chosen: version 2 without an account line; a real account named none is an account")
  func optionalAccount() {
    var unchosen = Self.entry
    unchosen.envelope.account = nil
    let text = String(decoding: EnvelopeRecord.encode(unchosen), as: UTF8.self)
    #expect(text.hasPrefix("gsendmail-queue 2\nid 0ABCDEFGHIJKLMNOPQ\narrival 1709632800\nsender\nrcpt "), "\(text)")
    #expect(EnvelopeRecord.decode(Array(text.utf8), id: Self.id, area: .queued) == .success(unchosen))
    var named = Self.entry
    named.envelope.account = "none"
    named.envelope.submitter = 0
    #expect(EnvelopeRecord.decode(EnvelopeRecord.encode(named), id: Self.id, area: .queued) == .success(named))
    // Version 1 wrote the name "none" for "no account chosen".
    let old = String(decoding: EnvelopeRecord.encode(Self.entry), as: UTF8.self).replacingFirst("account work\n", "account none\n")
    #expect(old.hasPrefix("gsendmail-queue 1\n"))
    #expect(EnvelopeRecord.decode(Array(old.utf8), id: Self.id, area: .queued) == .success(unchosen))
  }

  @Test("Encode then decode gives the entry back")
  func roundTrip() {
    let decoded = EnvelopeRecord.decode(EnvelopeRecord.encode(Self.entry), id: Self.id, area: .queued)
    #expect(decoded == .success(Self.entry))
  }

  @Test("Every strict prefix of a valid file is refused (a file cut short is never read)")
  func everyPrefixFails() {
    let bytes = EnvelopeRecord.encode(Self.entry)
    for length in 0..<bytes.count {
      guard case .failure = EnvelopeRecord.decode(Array(bytes[0..<length]), id: Self.id, area: .queued) else {
        Issue.record("prefix of \(length) bytes was accepted")
        return
      }
    }
  }

  @Test("Any one byte changed: the parser (which walks the bytes in place) refuses the file or reads an entry that round-trips")
  func everyByteChanged() {
    var entry = Self.entry
    entry.envelope.submitter = 1000
    let bytes = EnvelopeRecord.encode(entry)
    for index in bytes.indices {
      for replacement: UInt8 in [0x00, 0x0a, 0x20, 0x30, 0x39, 0x7f, 0xc3, 0xff] where replacement != bytes[index] {
        var damaged = bytes
        damaged[index] = replacement
        // (A leading zero or a space in a value is read as written, so the bytes may differ;
        // the encoder trims the spaces around the last error.)
        guard case .success(var decoded) = EnvelopeRecord.decode(damaged, id: Self.id, area: .queued) else { continue }
        decoded.lastError = EnvelopeRecord.sanitizedLine(decoded.lastError)
        if EnvelopeRecord.decode(EnvelopeRecord.encode(decoded), id: Self.id, area: .queued) != .success(decoded) {
          Issue.record("byte \(index) as \(replacement): read as something else")
        }
      }
    }
  }

  static let damage: [(String, @Sendable (String) -> String, String)] = [
    ("wrong version", { $0.replacingFirst("gsendmail-queue 1", "gsendmail-queue 3") }, "unknown format version"),
    ("a version 2 record in version 1", { $0.replacingFirst("account work\n", "account work\nuid 7\n") }, "unknown record uid"),
    ("no end", { $0.replacingFirst("end\n", "") }, "missing end record"),
    ("data after end", { $0 + "x\n" }, "data after end record"),
    ("bad number", { $0.replacingFirst("attempts 2", "attempts -2") }, "bad attempts"),
    ("huge number", { $0.replacingFirst("attempts 2", "attempts 9999999999999999999") }, "bad attempts"),
    ("bad flag", { $0.replacingFirst("body-8bit 1", "body-8bit yes") }, "bad body-8bit"),
    ("unknown key", { $0.replacingFirst("attempts 2", "colour blue") }, "unknown record colour"),
    ("repeated key", { $0.replacingFirst("attempts 2", "attempts 2\nattempts 3") }, "repeated attempts"),
    ("missing key", { $0.replacingFirst("account work\n", "") }, "missing account"),
    ("no recipients", { $0.replacingFirst("rcpt bob@example.com\nrcpt \"john doe\"@example.org\n", "") }, "no recipients"),
    ("header longer", { $0.replacingFirst("header 14", "header 12") }, "header longer than recorded"),
    ("header shorter", { $0.replacingFirst("header 14", "header 400") }, "truncated header"),
    ("other id", { $0.replacingFirst("id 0ABCDEFGHIJKLMNOPQ", "id 0ABCDEFGHIJKLMNOPR") }, "id does not match the file name"),
    ("control character", { $0.replacingFirst("try later", "try\u{1}later") }, "control character"),
  ]

  @Test("Damaged files are refused with a reason", arguments: 0..<damage.count)
  func damaged(index: Int) {
    let (_, change, reason) = Self.damage[index]
    let text = change(String(decoding: EnvelopeRecord.encode(Self.entry), as: UTF8.self))
    #expect(
      EnvelopeRecord.decode(Array(text.utf8), id: Self.id, area: .queued)
        == .failure(EnvelopeRecord.ParseFailure(reason: reason)))
  }

  @Test("Invalid UTF-8 is refused")
  func invalidUTF8() {
    var bytes = EnvelopeRecord.encode(Self.entry)
    bytes.insert(0xff, at: 30)
    #expect(EnvelopeRecord.decode(bytes, id: Self.id, area: .queued) == .failure(.init(reason: "invalid UTF-8")))
  }

  @Test("The last error is kept on one line")
  func sanitizedError() {
    #expect(EnvelopeRecord.sanitizedLine("550 5.1.1 no\r\nsuch\tuser\u{0}  ") == "550 5.1.1 no  such user")
    #expect(EnvelopeRecord.sanitizedLine(String(repeating: "é", count: 800)).utf8.count == 1000)
  }

  @Test(
    "Envelopes that cannot be stored are refused",
    arguments: [
      (QueueEnvelope(sender: "a@b", account: "w", recipients: []), "no recipients"),
      (QueueEnvelope(sender: "a@b\r\nrcpt x@y", account: "w", recipients: ["c@d"]), "sender contains a line break or control character"),
      (QueueEnvelope(sender: "a@b", account: "w", recipients: ["c@d\n"]), "recipient contains a line break or control character"),
      (QueueEnvelope(sender: "a@b", account: "w", recipients: [""]), "empty recipient"),
      (QueueEnvelope(sender: " a@b", account: "w", recipients: ["c@d"]), "sender begins or ends with a space"),
    ])
  func invalidEnvelope(envelope: QueueEnvelope, reason: String) {
    #expect(throws: QueueError.invalidEnvelope(reason)) { try EnvelopeRecord.validate(envelope) }
  }
}

extension String {
  func replacingFirst(_ target: String, _ replacement: String) -> String {
    replacing(target, with: replacement, maxReplacements: 1)
  }
}
