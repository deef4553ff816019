// SPDX-License-Identifier: MIT
// Byte constants and character classes of RFC 5322 §3.2 shared by the parsers of this module.
// Pure tables: no failure modes.

enum ASCII {
  static let nul: UInt8 = 0x00
  static let tab: UInt8 = 0x09
  static let lf: UInt8 = 0x0A
  static let cr: UInt8 = 0x0D
  static let space: UInt8 = 0x20
  static let quote: UInt8 = 0x22  // "
  static let leftParen: UInt8 = 0x28
  static let rightParen: UInt8 = 0x29
  static let comma: UInt8 = 0x2C
  static let dot: UInt8 = 0x2E
  static let colon: UInt8 = 0x3A
  static let semicolon: UInt8 = 0x3B
  static let less: UInt8 = 0x3C
  static let equals: UInt8 = 0x3D
  static let greater: UInt8 = 0x3E
  static let at: UInt8 = 0x40
  static let leftBracket: UInt8 = 0x5B
  static let backslash: UInt8 = 0x5C
  static let rightBracket: UInt8 = 0x5D
  static let crlf: [UInt8] = [0x0D, 0x0A]

  /// SP or HTAB (RFC 5234 WSP).
  static func isWSP(_ b: UInt8) -> Bool { b == space || b == tab }

  /// RFC 5322 atext, extended with every byte of a UTF-8 sequence (RFC 6532 §3.2).
  static func isAtext(_ b: UInt8) -> Bool {
    if b >= 0x80 { return true }
    switch b {
    case 0x41...0x5A, 0x61...0x7A, 0x30...0x39: return true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"),
      UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"),
      UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "="), UInt8(ascii: "?"),
      UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "{"),
      UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "~"):
      return true
    default: return false
    }
  }

  /// RFC 5322 ftext: printable US-ASCII except the colon.
  static func isFtext(_ b: UInt8) -> Bool { b >= 33 && b <= 126 && b != colon }

  /// ASCII lower-casing of one byte.
  static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b + 0x20 : b }

  /// Case-insensitive ASCII comparison of two byte sequences.
  static func equalsIgnoringCase<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
    // An index walk rather than zip(a, b).allSatisfy: the Zip2Sequence iterator's generic
    // metadata, built at run time on first use, cost more than all of a send's comparisons.
    guard a.count == b.count else { return false }
    var j = b.startIndex
    for x in a {
      if lower(x) != lower(b[j]) { return false }
      b.formIndex(after: &j)
    }
    return true
  }

  /// The text of bytes, with invalid UTF-8 replaced (for names in errors and display).
  static func text<S: Sequence<UInt8>>(_ bytes: S) -> String {
    String(decoding: Array(bytes), as: UTF8.self)
  }
}
