// SPDX-License-Identifier: MIT
import MessageCore
import TestSupport
import Testing

@Suite("MessageScanner")
struct MessageScannerTests {
  @Test("Header kept, body counted, offsets given", arguments: Feeding.allCases)
  func typical(feeding: Feeding) throws {
    let input = "From x@y Mon\r\nTo: a@b\r\nSubject: s\r\n\r\nline one\r\nline two is longer\r\n"
    let message = try scan(input, feeding).get()
    #expect(message.fields.map(\.name) == ["To", "Subject"])
    #expect(message.droppedFromLine == Array("From x@y Mon".utf8))
    #expect(message.headerEndReason == .emptyLine)
    #expect(message.bodyOffset == 37)
    #expect(message.endOffset == input.utf8.count)
    #expect(!message.endedByDot)
    let body = message.body
    #expect(body.byteCount == input.utf8.count - 37)
    #expect(body.longestLine == 18)
    #expect(body.lineCount == 2)
    #expect(body.endsWithNewline)
    #expect(!body.has8bit)
    #expect(body.normalizedByteCount == body.byteCount)
    #expect(body.isSevenBitClean)
  }

  @Test("Body statistics: 8-bit, no final newline, bare LF, lone CR", arguments: Feeding.allCases)
  func statistics(feeding: Feeding) throws {
    let message = try scan("\nab\ncd\r\n\rcaf\u{e9}", feeding).get()
    let body = message.body
    #expect(message.fields.isEmpty)
    #expect(message.bodyOffset == 1)
    #expect(body.byteCount == 13)
    #expect(body.has8bit)
    #expect(!body.endsWithNewline)
    #expect(body.lineCount == 4)  // "ab", "cd", "", "café"
    #expect(body.longestLine == 5)
    #expect(body.normalizedByteCount == 2 + 2 + 2 + 2 + 2 + 5 + 2)
    #expect(!body.isSevenBitClean)
  }

  @Test("A line of 999 octets is not 7-bit clean", arguments: Feeding.allCases)
  func longLine(feeding: Feeding) throws {
    let ok = try scan("\n" + String(repeating: "a", count: 998) + "\n", feeding).get()
    #expect(ok.body.longestLine == 998 && ok.body.isSevenBitClean)
    let long = try scan("\n" + String(repeating: "a", count: 999), feeding).get()
    #expect(long.body.longestLine == 999 && !long.body.isSevenBitClean)
  }

  @Test("A dot ends the message; the rest is ignored, even a NUL", arguments: Feeding.allCases)
  func dot(feeding: Feeding) throws {
    var scanner = MessageScanner(options: .init(dotTerminates: true))
    let input = Array("To: a\n\nhello\n.\nignored \u{0}\n".utf8)
    for chunk in feeding.chunks(input) { try scanner.push(chunk) }
    #expect(scanner.isComplete)
    let message = try scanner.finish()
    #expect(message.endedByDot)
    #expect(message.bodyOffset == 7 && message.endOffset == 13)
    #expect(message.body.byteCount == 6)
  }

  @Test("Empty input is an empty message", arguments: Feeding.allCases)
  func empty(feeding: Feeding) throws {
    let message = try scan("", feeding).get()
    #expect(message.fields.isEmpty && message.bodyOffset == 0 && message.endOffset == 0)
    #expect(message.body == BodyStatistics())
  }

  @Test("NUL, header and message limits are typed errors", arguments: Feeding.allCases)
  func errors(feeding: Feeding) {
    #expect(scan("To: a\n\nx\u{0}", feeding) == .failure(.nulByte(offset: 8)))
    #expect(scan("To: a\u{0}\n", feeding) == .failure(.nulByte(offset: 5)))
    let big = "To: " + String(repeating: "x", count: 300) + "\n\n"
    #expect(scan(big, feeding, options: .init(maxHeaderBytes: 256))
      == .failure(.headerTooLarge(limit: 256)))
    let body = "\n" + String(repeating: "y\n", count: 100)
    #expect(scan(body, feeding, options: .init(maxMessageBytes: 200))
      == .failure(.messageTooLarge(limit: 200)))
    #expect((try? scan(body, feeding, options: .init(maxMessageBytes: 201)).get()) != nil)
  }

  @Test("Binary junk gives a defined result, the same in every feeding")
  func junk() {
    var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
    for _ in 0..<200 {
      var bytes: [UInt8] = []
      for _ in 0..<Int(seed % 300) {
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let b = UInt8(truncatingIfNeeded: seed >> 56)
        bytes.append(b % 5 == 0 ? [0x0A, 0x0D, 0x3A, 0x20, 0x2E][Int(b) % 5] : b)
      }
      for dot in [false, true] {
        let options = MessageScanner.Options(dotTerminates: dot, maxHeaderBytes: 128)
        let whole = scan(bytes, .whole, options: options)
        #expect(scan(bytes, .byteByByte, options: options) == whole)
        #expect(scan(bytes, .lineByLine, options: options) == whole)
        if case .success(let m) = whole {
          #expect(m.bodyOffset <= m.endOffset && m.endOffset <= bytes.count)
          #expect(m.body.byteCount == m.endOffset - m.bodyOffset)
        }
      }
    }
  }
}
