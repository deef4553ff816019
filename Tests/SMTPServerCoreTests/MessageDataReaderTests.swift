import SMTPServerCore
import TestSupport
import Testing

@Suite("MessageDataReader")
struct MessageDataReaderTests {
  /// Feeds `input` cut as `feeding` says; returns the data and the bytes left after the
  /// terminator, or nil when it never completed.
  static func read(_ input: String, _ feeding: Feeding, limit: Int = 1000)
    -> (data: String, rest: String, oversized: Bool)?
  {
    var reader = MessageDataReader(limit: limit)
    let chunks = feeding.chunks(Array(input.utf8))
    for (index, chunk) in chunks.enumerated() {
      if case .complete(let consumed) = reader.feed(chunk[...]) {
        let rest = chunk[consumed...] + chunks[(index + 1)...].joined()
        return (
          String(decoding: reader.data, as: UTF8.self), String(decoding: rest, as: UTF8.self),
          reader.isOversized
        )
      }
    }
    return nil
  }

  static let cases: [(String, String, String)] = [
    (".\r\n", "", ""),
    ("a\r\n.\r\nNOOP\r\n", "a\r\n", "NOOP\r\n"),
    ("..\r\n.\r\n", ".\r\n", ""),
    ("...x\r\n.\r\n", "..x\r\n", ""),
    (".x\r\n.y\r\n.\r\n", "x\r\ny\r\n", ""),
    ("a.\r\n.\r\n", "a.\r\n", ""),
    (".\rx\r\n.\r\n", "\rx\r\n", ""),
    ("a\n.\r\n", "a\n", ""),
    ("line\r\n.\r\n.\r\n", "line\r\n", ".\r\n"),
  ]

  @Test("Un-dot-stuffing and the terminator, in every feeding", arguments: cases, Feeding.allCases)
  func unstuffing(testCase: (String, String, String), feeding: Feeding) {
    let result = Self.read(testCase.0, feeding)
    #expect(result?.data == testCase.1)
    #expect(result?.rest == testCase.2)
    #expect(result?.oversized == false)
  }

  @Test(
    "No terminator: still waiting",
    arguments: ["a\r\n", "a\r\n.", "a\r\n.\r", "a\r\n.x\r\n", "a.\r\n"])
  func incomplete(input: String) {
    #expect(Self.read(input, .whole) == nil)
    #expect(Self.read(input, .byteByByte) == nil)
  }

  @Test(
    "Over the limit: data dropped, flagged, terminator still found", arguments: Feeding.allCases)
  func oversized(feeding: Feeding) {
    let result = Self.read("0123456789\r\n.\r\nX", feeding, limit: 11)
    #expect(result?.oversized == true)
    #expect(result?.data == "")
    #expect(result?.rest == "X")
    #expect(Self.read("0123456789\r\n.\r\n", feeding, limit: 12)?.oversized == false)
  }
}
