// Dot-stuffing fed whole and one byte at a time: same output either way.

import SMTPCore
import Testing

@Suite("DotStuffingEncoder")
struct DotStuffingEncoderTests {
  static let cases: [(String, String)] = [
    ("", ".\r\n"),
    ("Hello\r\n", "Hello\r\n.\r\n"),
    (".\r\n", "..\r\n.\r\n"),
    (".leading\r\nmid.dle\r\n.\r\n..two\r\n", "..leading\r\nmid.dle\r\n..\r\n...two\r\n.\r\n"),
    ("no final newline", "no final newline\r\n.\r\n"),
    ("line\r\n.", "line\r\n..\r\n.\r\n"),
    ("\r\n\r\n", "\r\n\r\n.\r\n"),
    ("a\rb.\r\n", "a\rb.\r\n.\r\n"),
  ]

  static func encode(_ text: String, chunkSize: Int) -> String {
    var encoder = DotStuffingEncoder()
    let bytes = Array(text.utf8)
    var out: [UInt8] = []
    var index = 0
    while index < bytes.count {
      out += encoder.encode(bytes[index..<min(index + chunkSize, bytes.count)])
      index += chunkSize
    }
    out += encoder.finish()
    return String(decoding: out, as: UTF8.self)
  }

  @Test("Whole, in pairs and one byte at a time", arguments: cases)
  func stuffing(input: String, expected: String) {
    for chunkSize in [Int.max / 2, 2, 1] {
      #expect(Self.encode(input, chunkSize: chunkSize) == expected, "chunk \(chunkSize)")
    }
  }
}
