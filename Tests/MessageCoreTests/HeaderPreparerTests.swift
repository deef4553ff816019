// SPDX-License-Identifier: MIT
import MessageCore
import Testing

@Suite("HeaderPreparer")
struct HeaderPreparerTests {
  @Test("A prepared header re-encoded for quoted-printable: CTE replaced, MIME-Version added, nothing else")
  func reencodePrepared() throws {
    let prepared = [
      HeaderField(name: "From", value: "a@example.com"), HeaderField(name: "Date", value: "Thu, 01 Jan 1970 00:00:00 +0000"),
      HeaderField(name: "Content-Transfer-Encoding", value: "8bit"), HeaderField(name: "Subject", value: "x"),
    ]
    let out = String(
      decoding: HeaderPreparer.serialised(try HeaderPreparer.reencodedFieldsAsQuotedPrintable(prepared)),
      as: UTF8.self)
    #expect(out == "From: a@example.com\r\nDate: Thu, 01 Jan 1970 00:00:00 +0000\r\n"
      + "Content-Transfer-Encoding: quoted-printable\r\nSubject: x\r\nMIME-Version: 1.0\r\n\r\n")
    let multipart = [HeaderField(name: "Content-Type", value: "multipart/mixed; boundary=b")]
    #expect(throws: PreparationError.cannotReencode(.compositeType("multipart"))) {
      try HeaderPreparer.reencodedFieldsAsQuotedPrintable(multipart)
    }
  }

  static let options = HeaderPreparer.Options(
    fromAddress: "alice@example.org", fromDisplayName: "Alice Example",
    date: DateStamp(epochSeconds: 1_700_000_000, utcOffsetMinutes: -300),
    messageIDUniquePart: "20231114.abc123", messageIDDomain: "example.org")

  static func fields(_ header: String) throws -> [HeaderField] {
    try scan(header + "\n\n", .whole).get().fields
  }

  /// The header sent for `header`, as a send makes it: prepared, then re-encoded for a
  /// quoted-printable body when asked.
  static func prepare(_ header: String, options: HeaderPreparer.Options = options,
                      quotedPrintable: Bool = false) throws -> String {
    var prepared = try HeaderPreparer.preparedFields(fields(header), options: options)
    if quotedPrintable { prepared = try HeaderPreparer.reencodedFieldsAsQuotedPrintable(prepared) }
    return HeaderPreparer.serialised(prepared).text
  }

  @Test("Bcc, Resent-Bcc and Return-Path go; missing fields are added at the end")
  func removeAndAdd() throws {
    let got = try Self.prepare("""
      Return-Path: <x@y>
      To: a@b
      BCC: secret@x,
       more@x
      Subject: hi
      Resent-Bcc:
      bcc:
      """)
    #expect(got == """
      To: a@b\r
      Subject: hi\r
      From: Alice Example <alice@example.org>\r
      Date: Tue, 14 Nov 2023 17:13:20 -0500\r
      Message-ID: <20231114.abc123@example.org>\r
      \r

      """)
  }

  @Test("Present fields are kept as they are, in order")
  func keep() throws {
    let header = "Date: x\nMessage-Id:  <a@b>\nSubject: s\n  folded\nfrom: Someone <s@x>"
    #expect(try Self.prepare(header)
      == "Date: x\r\nMessage-Id:  <a@b>\r\nSubject: s\r\n  folded\r\nfrom: Someone <s@x>\r\n\r\n")
  }

  static let names: [(String?, String)] = [
    (nil, "From: alice@example.org"),
    ("", "From: alice@example.org"),
    ("CronDaemon", "From: CronDaemon <alice@example.org>"),
    ("O'Brien, Pat", "From: \"O'Brien, Pat\" <alice@example.org>"),
    ("Say \"hi\" \\o/", "From: \"Say \\\"hi\\\" \\\\o/\" <alice@example.org>"),
    (" padded", "From: \" padded\" <alice@example.org>"),
    ("José Müller", "From: =?UTF-8?B?Sm9zw6kgTcO8bGxlcg==?= <alice@example.org>"),
    ("evil\r\nBcc: x@y", "From: =?UTF-8?B?ZXZpbA0KQmNjOiB4QHk=?= <alice@example.org>"),
  ]

  @Test("The added From quotes or encodes the display name", arguments: names)
  func fromName(name: String?, expected: String) throws {
    var options = Self.options
    options.fromDisplayName = name
    let got = try Self.prepare("Date: d\nMessage-ID: <m@x>", options: options)
    #expect(got == "Date: d\r\nMessage-ID: <m@x>\r\n" + expected + "\r\n\r\n")
  }

  @Test("A long non-ASCII name becomes several encoded words, each at most 75 characters")
  func longEncodedName() throws {
    var options = Self.options
    options.fromDisplayName = String(repeating: "é", count: 60)
    let got = try Self.prepare("Date: d\nMessage-ID: <m@x>", options: options)
    let lines = got.split(separator: "\r\n").dropFirst(2)
    #expect(lines.count == 3)
    for line in lines {
      let word = line.split(separator: " ").first { $0.hasPrefix("=?") } ?? ""
      #expect(word.count <= 75 && word.hasSuffix("?="))
    }
  }

  @Test("Bad From address or Message-ID parts are refused")
  func badInputs() throws {
    var options = Self.options
    options.fromAddress = "a@b\r\nBcc: x"
    #expect(throws: PreparationError.invalidFromAddress("a@b\r\nBcc: x")) {
      try Self.prepare("Date: d\nMessage-ID: <m@x>", options: options)
    }
    options = Self.options
    options.messageIDUniquePart = "a b"
    #expect(throws: PreparationError.invalidMessageID("a b@example.org")) {
      try Self.prepare("From: f\nDate: d", options: options)
    }
  }

  @Test("Quoted-printable rewrites or adds Content-Transfer-Encoding and MIME-Version")
  func quotedPrintable() throws {
    let base = "From: f\nDate: d\nMessage-ID: <m@x>\n"
    #expect(try Self.prepare(base + "Subject: s", quotedPrintable: true)
      == "From: f\r\nDate: d\r\nMessage-ID: <m@x>\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
      + "Content-Transfer-Encoding: quoted-printable\r\n\r\n")
    let mime = base + "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
      + "Content-Transfer-Encoding: 8bit\nX: y\ncontent-transfer-encoding: 7bit"
    #expect(try Self.prepare(mime, quotedPrintable: true)
      == "From: f\r\nDate: d\r\nMessage-ID: <m@x>\r\nMIME-Version: 1.0\r\n"
      + "Content-Type: text/plain; charset=utf-8\r\n"
      + "Content-Transfer-Encoding: quoted-printable\r\nX: y\r\n\r\n")
  }

  @Test("Composite types and encoded bodies are not re-encoded")
  func refuse() {
    #expect(throws: PreparationError.cannotReencode(.compositeType("multipart"))) {
      try Self.prepare("Content-Type: Multipart/Mixed; boundary=x", quotedPrintable: true)
    }
    #expect(throws: PreparationError.cannotReencode(.transferEncoding("base64"))) {
      try Self.prepare("Content-Transfer-Encoding: (c) BASE64", quotedPrintable: true)
    }
  }

  @Test("Lines over 998 octets are folded at white space, or refused")
  func longLines() throws {
    let words = (0..<300).map { "w\($0)@example.org" }.joined(separator: ", ")
    let got = try Self.prepare("From: f\nDate: d\nMessage-ID: <m@x>\nTo: " + words)
    let lines = got.split(separator: "\r\n", omittingEmptySubsequences: false)
    #expect(lines.allSatisfy { $0.utf8.count <= 998 })
    #expect(lines.count > 6)
    let unfolded = try scan(got, .whole).get().fields
    #expect(unfolded.last?.value == words)
    #expect(throws: PreparationError.unfoldableLine(field: "X")) {
      try Self.prepare("From: f\nX: " + String(repeating: "z", count: 1000))
    }
  }

  // MARK: Date

  /// Values from Python: email.utils.format_datetime(datetime.fromtimestamp(t, timezone(offset))).
  static let dates: [(Int64, Int, String)] = [
    (0, 0, "Thu, 01 Jan 1970 00:00:00 +0000"),
    (951_782_400, 0, "Tue, 29 Feb 2000 00:00:00 +0000"),
    (951_868_799, 60, "Wed, 01 Mar 2000 00:59:59 +0100"),
    (1_700_000_000, -300, "Tue, 14 Nov 2023 17:13:20 -0500"),
    (1_709_210_096, 330, "Thu, 29 Feb 2024 18:04:56 +0530"),
    (2_147_483_647, -720, "Mon, 18 Jan 2038 15:14:07 -1200"),
    (253_402_300_799, 0, "Fri, 31 Dec 9999 23:59:59 +0000"),
    (4_102_444_800, 840, "Fri, 01 Jan 2100 14:00:00 +1400"),
    (1_234_567_890, -210, "Fri, 13 Feb 2009 20:01:30 -0330"),
    (946_684_799, 0, "Fri, 31 Dec 1999 23:59:59 +0000"),
    (1_583_020_800, -60, "Sat, 29 Feb 2020 23:00:00 -0100"),
  ]

  @Test("Date formatting matches Python's email.utils", arguments: dates)
  func date(epoch: Int64, offset: Int, expected: String) {
    #expect(DateStamp(epochSeconds: epoch, utcOffsetMinutes: offset).rfc5322 == expected)
  }

  @Test("Out-of-range instants are clamped, not trapped on")
  func dateClamp() {
    #expect(DateStamp(epochSeconds: .min, utcOffsetMinutes: .min).rfc5322
      == "Sat, 27 Dec 1969 20:01:00 -9959")
    #expect(!DateStamp(epochSeconds: .max, utcOffsetMinutes: .max).rfc5322.isEmpty)
  }

  // MARK: Transfer encoding decision

  static func stats(_ body: String) throws -> BodyStatistics { try scan("\n" + body, .whole).get().body }

  @Test("Encoding decision")
  func decision() throws {
    let plain = try Self.stats("hello\n")
    let eight = try Self.stats("caf\u{e9}\n")
    let long = try Self.stats(String(repeating: "x", count: 1200) + "\n")
    let utf8Header = try Self.fields("Subject: caf\u{e9}")
    let multipart = try Self.fields("Content-Type: multipart/alternative; boundary=b")
    func decide(_ f: [HeaderField], _ b: BodyStatistics, _ server: Bool) -> TransferEncodingDecision {
      TransferEncodingDecision.decide(fields: f, body: b, serverSupports8BitMIME: server)
    }
    #expect(decide([], plain, true) == .sevenBit)
    #expect(decide([], plain, false) == .sevenBit)
    #expect(decide([], eight, true) == .eightBitMIME)
    #expect(decide([], eight, false) == .quotedPrintable(declare8BitMIME: false))
    #expect(decide([], long, true) == .quotedPrintable(declare8BitMIME: false))
    #expect(decide(utf8Header, long, true) == .quotedPrintable(declare8BitMIME: true))
    #expect(decide(utf8Header, plain, true) == .eightBitMIME)
    #expect(decide(utf8Header, plain, false) == .sevenBit)
    #expect(decide(multipart, long, true) == .refuse(.compositeType("multipart")))
    #expect(decide(multipart, eight, true) == .eightBitMIME)
    #expect(decide(multipart, eight, false) == .refuse(.compositeType("multipart")))
  }
}
