// SPDX-License-Identifier: MIT
import MessageCore
import TestSupport
import Testing

@Suite("MessageParser")
struct MessageParserTests {
  typealias Event = MessageParser.Event

  static func field(_ name: String, _ value: String) -> String { "\(name):\(value)" }

  @Test("A header and a body, with LF or CRLF", arguments: Feeding.allCases, ["\n", "\r\n"])
  func simple(feeding: Feeding, eol: String) {
    let input = ["To: a@b", "Subject: hi", "", "body", ""].joined(separator: eol)
    let got = events(input, feeding)
    let bodyOffset = ("To: a@b" + eol + "Subject: hi" + eol + eol).utf8.count
    #expect(got.count == 5)
    guard got.count == 5, case .field(let to) = got[0], case .field(let subject) = got[1] else {
      return
    }
    #expect(to.name == "To" && to.value == "a@b")
    #expect(subject.name == "Subject" && subject.value == "hi")
    #expect(got[2] == .endOfHeader(.init(reason: .emptyLine, bodyOffset: bodyOffset)))
    #expect(got[3] == .body(Array(("body" + eol).utf8)))
    #expect(got[4] == .endOfMessage(.init(endOffset: input.utf8.count, endedByDot: false)))
  }

  @Test("Folded fields keep their lines and unfold", arguments: Feeding.allCases)
  func folding(feeding: Feeding) {
    let got = events("Subject: a\r\n  b\r\n\tc\r\nX-Y : z\r\n\r\n", feeding)
    guard case .field(let subject) = got.first, case .field(let xy) = got.dropFirst().first
    else {
      Issue.record("no fields: \(got)")
      return
    }
    #expect(subject.lines.map(\.text) == ["Subject: a", "  b", "\tc"])
    #expect(subject.rawValue.text == " a  b\tc")
    #expect(subject.value == "a  b\tc")
    #expect(subject.wireBytes.text == "Subject: a\r\n  b\r\n\tc\r\n")
    #expect(xy.name == "X-Y" && xy.value == "z" && xy.hasName("x-y"))
  }

  @Test("Only a first-line mbox From_ is dropped", arguments: Feeding.allCases)
  func mboxFrom(feeding: Feeding) {
    let got = events("From alice Mon Jan  1 00:00:00 2024\nTo: x\n\nFrom me\n", feeding)
    #expect(got.first == .droppedFromLine(Array("From alice Mon Jan  1 00:00:00 2024".utf8)))
    #expect(got.contains(.body(Array("From me\n".utf8))))
    let second = events("To: x\nFrom here\n", feeding)
    #expect(second.dropFirst().first == .endOfHeader(.init(reason: .nonHeaderLine, bodyOffset: 6)))
  }

  @Test("A line without a colon ends the header and starts the body", arguments: Feeding.allCases)
  func nonHeaderLine(feeding: Feeding) {
    let got = events("To: a@b\nthis is text\nMore: text\n", feeding)
    #expect(got.count == 4)
    #expect(got[1] == .endOfHeader(.init(reason: .nonHeaderLine, bodyOffset: 8)))
    #expect(got[2] == .body(Array("this is text\nMore: text\n".utf8)))
  }

  @Test("Input that does not start with a header is all body", arguments: Feeding.allCases,
        ["Hello there\nTo: x\n", " leading continuation\nTo: x\n", "\nTo: x\n", ": no name\n",
         "Bad name\u{7f}: x\n", "Ünïcode: x\n"])
  func allBody(feeding: Feeding, input: String) {
    let got = events(input, feeding)
    guard case .endOfHeader(let end) = got.first else {
      Issue.record("expected the header to end first: \(got)")
      return
    }
    let blank = input.hasPrefix("\n")
    #expect(end.bodyOffset == (blank ? 1 : 0))
    #expect(got.dropFirst().first == .body(Array(input.utf8.dropFirst(blank ? 1 : 0))))
    #expect(!got.contains { if case .field = $0 { return true } else { return false } })
  }

  @Test("A continuation line before any field is body", arguments: Feeding.allCases)
  func leadingContinuation(feeding: Feeding) {
    let got = events("From x\n continued\n", feeding)
    #expect(got[1] == .endOfHeader(.init(reason: .continuationWithoutField, bodyOffset: 7)))
  }

  @Test("Empty input and a header without a body", arguments: Feeding.allCases)
  func emptyAndHeaderOnly(feeding: Feeding) {
    #expect(
      events("", feeding) == [
        .endOfHeader(.init(reason: .endOfInput, bodyOffset: 0)),
        .endOfMessage(.init(endOffset: 0, endedByDot: false)),
      ])
    let got = events("Subject: x", feeding)
    #expect(got.count == 3)
    #expect(got[1] == .endOfHeader(.init(reason: .endOfInput, bodyOffset: 10)))
    #expect(got[2] == .endOfMessage(.init(endOffset: 10, endedByDot: false)))
  }

  @Test("A lone CR ends a line", arguments: Feeding.allCases)
  func loneCR(feeding: Feeding) {
    let got = events("A: 1\rB: 2\r\rbody", feeding)
    #expect(got.count == 5)
    #expect(got[2] == .endOfHeader(.init(reason: .emptyLine, bodyOffset: 11)))
    #expect(got[3] == .body(Array("body".utf8)))
  }

  @Test("A dot line ends the message only when asked", arguments: Feeding.allCases,
        ["\n", "\r\n", "\r"])
  func dotLine(feeding: Feeding, eol: String) {
    let head: String = "To: a" + eol + eol
    let kept: String = "x" + eol + ".." + eol
    let input: String = head + kept + "." + eol + "after" + eol
    let dot = events(input, feeding, options: .init(dotTerminates: true))
    let bodyStart = head.utf8.count
    let dotOffset = head.utf8.count + kept.utf8.count
    let expected: [Event] = [
      .body(Array(kept.utf8)), .endOfMessage(.init(endOffset: dotOffset, endedByDot: true)),
    ]
    #expect(Array(dot.suffix(2)) == expected)
    #expect(dot.contains(.endOfHeader(.init(reason: .emptyLine, bodyOffset: bodyStart))))
    let plain = events(input, feeding)
    #expect(plain.last == .endOfMessage(.init(endOffset: input.utf8.count, endedByDot: false)))
  }

  @Test("A dot line in the header ends header and message", arguments: Feeding.allCases)
  func dotInHeader(feeding: Feeding) {
    let got = events("To: a\n.\nSubject: lost\n", feeding, options: .init(dotTerminates: true))
    #expect(got.count == 3)
    #expect(got[1] == .endOfHeader(.init(reason: .dotLine, bodyOffset: 6)))
    #expect(got[2] == .endOfMessage(.init(endOffset: 6, endedByDot: true)))
  }

  @Test("A dot at the very end, and dots that are not alone", arguments: Feeding.allCases)
  func dotAtEnd(feeding: Feeding) {
    let options = MessageParser.Options(dotTerminates: true)
    #expect(events("\nab\n.", feeding, options: options).last
      == .endOfMessage(.init(endOffset: 4, endedByDot: true)))
    #expect(events("\n.a\n a.\n..\n", feeding, options: options).last
      == .endOfMessage(.init(endOffset: 11, endedByDot: false)))
  }

  @Test("A NUL byte is refused in the header and the body", arguments: Feeding.allCases)
  func nul(feeding: Feeding) {
    for (input, offset) in [("To: a\u{0}b\n\n", 5), ("To: a\n\nbo\u{0}dy", 9)] {
      var parser = MessageParser()
      var thrown: MessageError?
      for chunk in feeding.chunks(Array(input.utf8)) {
        parser.push(chunk)
        do {
          while try parser.next() != .needMore {}
        } catch {
          thrown = error
          break
        }
      }
      if thrown == nil {
        parser.finish()
        do { while true { _ = try parser.next() } } catch { thrown = error }
      }
      #expect(thrown == .nulByte(offset: offset))
      #expect(throws: MessageError.nulByte(offset: offset)) { try parser.next() }
    }
  }

  @Test("A header section over the limit is refused, a long body is not")
  func headerLimit() throws {
    var parser = MessageParser(options: .init(maxHeaderBytes: 100))
    parser.push(Array(("Subject: " + String(repeating: "x", count: 200)).utf8))
    #expect(throws: MessageError.headerTooLarge(limit: 100)) { try parser.next() }
    var folded = MessageParser(options: .init(maxHeaderBytes: 100))
    folded.push(Array(("Subject: x\n" + String(repeating: " y\n", count: 40)).utf8))
    #expect(throws: MessageError.headerTooLarge(limit: 100)) {
      while try folded.next() != .needMore {}
    }
    var body = MessageParser(options: .init(maxHeaderBytes: 100))
    body.push(Array(("\n" + String(repeating: "z", count: 10_000)).utf8))
    body.finish()
    var total = 0
    while true {
      let event = try body.next()
      if case .body(let b) = event { total += b.count }
      if case .endOfMessage = event { break }
    }
    #expect(total == 10_000)
  }

  @Test("A long header line pushed one byte at a time takes linear time", .timeLimit(.minutes(1)))
  func longLineByteByByte() throws {
    var scanner = MessageScanner()
    let line = Array(("Subject: " + String(repeating: "x", count: 400_000) + "\n\nb\n").utf8)
    for b in line { try scanner.push(CollectionOfOne(b)) }
    let message = try scanner.finish()
    #expect(message.fields.first?.rawValue.count == 400_001)
    #expect(message.body.byteCount == 2)
  }

  @Test("Built fields cannot carry a line break")
  func builtField() {
    let field = HeaderField(name: "X-Test", value: "a\r\nBcc: evil@x")
    #expect(field.wireBytes.text == "X-Test: a  Bcc: evil@x\r\n")
  }
}
