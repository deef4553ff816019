// The reply parser fed whole, line by line and one byte at a time, with good and bad input.

import SMTPCore
import Testing

@Suite("SMTPReplyParser")
struct SMTPReplyParserTests {
  /// Feeds `text` in chunks and collects replies; the first error ends the feed.
  static func parse(
    _ text: String, chunking: Chunking, parser: SMTPReplyParser = SMTPReplyParser()
  ) -> (replies: [SMTPReply], error: SMTPFailure?) {
    var parser = parser
    let bytes = Array(text.utf8)
    let chunks: [[UInt8]] =
      switch chunking {
      case .whole: [bytes]
      case .lineByLine: Self.lines(bytes)
      case .byteByByte: bytes.map { [$0] }
      }
    var replies: [SMTPReply] = []
    do {
      for chunk in chunks {
        parser.append(chunk)
        while let reply = try parser.nextReply() { replies.append(reply) }
      }
    } catch {
      return (replies, error)
    }
    return (replies, nil)
  }

  /// Cuts bytes after each LF.
  static func lines(_ bytes: [UInt8]) -> [[UInt8]] {
    var chunks: [[UInt8]] = [[]]
    for byte in bytes {
      chunks[chunks.count - 1].append(byte)
      if byte == 10 { chunks.append([]) }
    }
    return chunks
  }

  // MARK: - Good input

  @Test("Gmail's EHLO reply keeps every line", arguments: Chunking.allCases)
  func ehloReply(chunking: Chunking) {
    let text =
      "250-smtp.gmail.com at your service, [203.0.113.7]\r\n250-SIZE 35882577\r\n"
      + "250-AUTH LOGIN PLAIN XOAUTH2\r\n250 SMTPUTF8\r\n"
    let (replies, error) = Self.parse(text, chunking: chunking)
    #expect(error == nil)
    #expect(replies.count == 1)
    #expect(replies.first?.code == 250)
    #expect(
      replies.first?.lines == [
        "smtp.gmail.com at your service, [203.0.113.7]", "SIZE 35882577",
        "AUTH LOGIN PLAIN XOAUTH2",
        "SMTPUTF8",
      ])
    #expect(replies.first?.enhancedStatus == nil)
  }

  @Test("Several replies in one chunk, bare LF, code-only line", arguments: Chunking.allCases)
  func severalReplies(chunking: Chunking) {
    let text = "250 2.1.0 OK\r\n250 2.1.5 OK\n354\r\n"
    let (replies, error) = Self.parse(text, chunking: chunking)
    #expect(error == nil)
    #expect(replies.map(\.code) == [250, 250, 354])
    #expect(replies.map { $0.enhancedStatus?.description } == ["2.1.0", "2.1.5", nil])
    #expect(replies.last?.lines == [""])
  }

  @Test("Enhanced code, text and wire form of a multi-line error")
  func multiLineError() {
    let text =
      "535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
      + "535 5.7.8  https://support.google.com/mail/?p=BadCredentials <sid> - gsmtp\r\n"
    let reply = Self.parse(text, chunking: .whole).replies.first
    #expect(reply?.enhancedStatus == EnhancedStatusCode(statusClass: 5, subject: 7, detail: 8))
    #expect(
      reply?.text
        == "Username and Password not accepted. For more information, go to "
        + "https://support.google.com/mail/?p=BadCredentials <sid> - gsmtp")
    #expect(reply?.wireLines == text.split(separator: "\r\n").map(String.init))
    #expect(reply?.description.hasPrefix("535 5.7.8 Username and Password") == true)
  }

  @Test(
    "Enhanced status codes are read only when well formed",
    arguments: [
      ("250 2.0.0 OK", "2.0.0"), ("550 5.7.26 Unauthenticated", "5.7.26"), ("454 5.5.1 x", "5.5.1"),
      ("250 2.0.0", "2.0.0"), ("250 2.0 OK", nil), ("250 3.0.0 OK", nil), ("250 2.0.0x", nil),
      ("250 2.1234.0 OK", nil), ("250 OK 2.0.0", nil), ("220 smtp.gmail.com ESMTP", nil),
    ] as [(String, String?)])
  func enhancedCodes(line: String, expected: String?) {
    let reply = Self.parse(line + "\r\n", chunking: .whole).replies.first
    #expect(reply?.enhancedStatus?.description == expected)
  }

  // MARK: - Bad input

  @Test(
    "Malformed lines are protocol violations",
    arguments: [
      "HTTP/1.1 400 Bad Request\r\n", "25\r\n", "250_OK\r\n", "2x0 OK\r\n", "199 too low\r\n",
      "600 too high\r\n", "\r\n", " 250 OK\r\n",
    ])
  func malformed(text: String) {
    for chunking in Chunking.allCases {
      let (replies, error) = Self.parse(text, chunking: chunking)
      #expect(replies.isEmpty)
      guard case .protocolViolation(.malformedLine) = error else {
        Issue.record("\(chunking): \(String(describing: error))")
        continue
      }
    }
  }

  @Test("Mismatched codes in one reply", arguments: Chunking.allCases)
  func mismatched(chunking: Chunking) {
    let (_, error) = Self.parse("250-first\r\n550 second\r\n", chunking: chunking)
    #expect(error == .protocolViolation(.mismatchedCodes(first: 250, then: 550)))
  }

  @Test("An endless line fails once past the limit, without growing", arguments: Chunking.allCases)
  func endlessLine(chunking: Chunking) {
    var parser = SMTPReplyParser(maximumLineLength: 64, maximumLineCount: 4)
    var failed: SMTPFailure?
    var fed = 0
    while failed == nil && fed < 10_000 {
      parser.append(
        chunking == .byteByByte
          ? [UInt8(ascii: "2")] : Array(repeating: UInt8(ascii: "2"), count: 16))
      fed += chunking == .byteByByte ? 1 : 16
      do { _ = try parser.nextReply() } catch { failed = error }
    }
    #expect(failed == .protocolViolation(.lineTooLong(limit: 64)))
    #expect(fed <= 64 + 2 + 16)
  }

  @Test("A line of exactly the limit passes, one byte more fails")
  func lineLimitBoundary() {
    let parser = SMTPReplyParser(maximumLineLength: 10, maximumLineCount: 4)
    let ok = Self.parse(
      "250 " + String(repeating: "a", count: 6) + "\r\n", chunking: .byteByByte, parser: parser)
    #expect(ok.error == nil && ok.replies.count == 1)
    let long = Self.parse(
      "250 " + String(repeating: "a", count: 7) + "\r\n", chunking: .byteByByte, parser: parser)
    #expect(long.error == .protocolViolation(.lineTooLong(limit: 10)))
    let bareLF = Self.parse(
      "250 " + String(repeating: "a", count: 7) + "\n", chunking: .whole, parser: parser)
    #expect(bareLF.error == .protocolViolation(.lineTooLong(limit: 10)))
  }

  @Test("An endless multi-line reply fails at the line limit", arguments: Chunking.allCases)
  func endlessReply(chunking: Chunking) {
    let parser = SMTPReplyParser(maximumLineLength: 100, maximumLineCount: 3)
    let three = Self.parse("250-a\r\n250-b\r\n250 c\r\n", chunking: chunking, parser: parser)
    #expect(three.error == nil && three.replies.first?.lines == ["a", "b", "c"])
    let four = Self.parse(
      "250-a\r\n250-b\r\n250-c\r\n250 d\r\n", chunking: chunking, parser: parser)
    #expect(four.error == .protocolViolation(.tooManyLines(limit: 3)))
  }

  @Test("A failed parser stays failed")
  func sticky() {
    var parser = SMTPReplyParser()
    parser.append(Array("garbage\r\n250 OK\r\n".utf8))
    #expect(throws: SMTPFailure.self) { try parser.nextReply() }
    #expect(throws: SMTPFailure.self) { try parser.nextReply() }
  }

  @Test("Bytes buffered before TLS are refused; none is fine")
  func beforeTLS() throws {
    var clean = SMTPReplyParser()
    clean.append(Array("220 2.0.0 Ready\r\n".utf8))
    _ = try clean.nextReply()
    #expect(!clean.hasBufferedBytes)
    try clean.expectNothingBeforeTLS()

    var injected = SMTPReplyParser()
    injected.append(Array("220 2.0.0 Ready\r\n250 x".utf8))
    _ = try injected.nextReply()
    #expect(throws: SMTPFailure.protocolViolation(.dataAfterSTARTTLS)) {
      try injected.expectNothingBeforeTLS()
    }
  }

  @Test("The malformed-line excerpt is short and printable")
  func excerpt() {
    let (_, error) = Self.parse(
      "\u{1b}[31m" + String(repeating: "x", count: 100) + "\r\n", chunking: .whole)
    guard case .protocolViolation(.malformedLine(let excerpt)) = error else {
      Issue.record("\(String(describing: error))")
      return
    }
    #expect(excerpt.count == 40)
    #expect(excerpt.hasPrefix("?[31m"))
  }
}
