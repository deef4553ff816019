// SPDX-License-Identifier: MIT
import MessageCore
import TestSupport
import Testing

@Suite("Body encoders")
struct EncoderTests {
  static func normalize(_ input: [UInt8], _ feeding: Feeding) -> [UInt8] {
    var n = LineEndNormalizer()
    var out: [UInt8] = []
    for chunk in feeding.chunks(input) { out += n.push(chunk) }
    return out + n.finish()
  }

  static func encode(_ input: [UInt8], _ feeding: Feeding) -> [UInt8] {
    var e = QuotedPrintableEncoder()
    var out: [UInt8] = []
    for chunk in feeding.chunks(input) { out += e.push(chunk) }
    return out + e.finish()
  }

  /// RFC 2045 §6.7 decoder, strict enough to catch encoder mistakes.
  static func decode(_ encoded: [UInt8]) -> [UInt8]? {
    var out: [UInt8] = []
    var i = 0
    func hex(_ b: UInt8) -> UInt8? {
      switch b {
      case 0x30...0x39: return b - 0x30
      case 0x41...0x46: return b - 0x41 + 10
      default: return nil
      }
    }
    while i < encoded.count {
      let b = encoded[i]
      if b == 0x3D {
        if i + 2 < encoded.count, encoded[i + 1] == 0x0D, encoded[i + 2] == 0x0A {
          i += 3
          continue
        }
        guard i + 2 < encoded.count, let h = hex(encoded[i + 1]), let l = hex(encoded[i + 2]) else {
          return nil
        }
        out.append(h << 4 | l)
        i += 3
      } else if b == 0x0D {
        guard i + 1 < encoded.count, encoded[i + 1] == 0x0A else { return nil }
        out += [0x0D, 0x0A]
        i += 2
      } else {
        guard (b >= 33 && b <= 126) || b == 0x20 || b == 0x09 else { return nil }
        out.append(b)
        i += 1
      }
    }
    return out
  }

  static let normalizations: [(String, String)] = [
    ("", ""),
    ("a", "a\r\n"),
    ("a\n", "a\r\n"),
    ("a\r\n", "a\r\n"),
    ("a\rb", "a\r\nb\r\n"),
    ("a\r", "a\r\n"),
    ("\n\n", "\r\n\r\n"),
    ("a\r\r\nb\n\rc", "a\r\n\r\nb\r\n\r\nc\r\n"),
  ]

  @Test("Line ends become CRLF; a final one is supplied", arguments: normalizations)
  func normalizer(input: String, expected: String) {
    for feeding in Feeding.allCases {
      #expect(Self.normalize(Array(input.utf8), feeding).text == expected, "\(feeding)")
    }
  }

  static let encodings: [(String, String)] = [
    ("hello\r\n", "hello\r\n"),
    ("a=b\r\n", "a=3Db\r\n"),
    ("caf\u{e9}\r\n", "caf=C3=A9\r\n"),
    ("trailing \r\n", "trailing=20\r\n"),
    ("tab\t\r\nx", "tab=09\r\nx"),
    ("in side\r\n", "in side\r\n"),
    ("end ", "end=20"),
    ("lone\rcr\nlf\r\n", "lone=0Dcr=0Alf\r\n"),
    ("\u{7f}\u{1}\r\n", "=7F=01\r\n"),
  ]

  @Test("Quoted-printable encodings", arguments: encodings)
  func quotedPrintable(input: String, expected: String) {
    for feeding in Feeding.allCases {
      #expect(Self.encode(Array(input.utf8), feeding).text == expected, "\(feeding)")
    }
  }

  @Test("Soft line breaks keep lines at 76 characters")
  func softBreaks() {
    let line = String(repeating: "a", count: 76) + "\r\n"
    #expect(Self.encode(Array(line.utf8), .whole).text == line)
    let long = String(repeating: "a", count: 77) + "\r\n"
    #expect(Self.encode(Array(long.utf8), .whole).text
      == String(repeating: "a", count: 75) + "=\r\naa\r\n")
    let eight = String(repeating: "\u{e9}", count: 40) + "\r\n"
    let encoded = Self.encode(Array(eight.utf8), .whole)
    #expect(encoded.split(separator: 0x0A).allSatisfy { $0.count <= 77 })
  }

  @Test("Round trip through normalizer and encoder, every line at most 76 + CRLF")
  func roundTrip() {
    var seed: UInt64 = 7
    for round in 0..<300 {
      var bytes: [UInt8] = []
      for _ in 0..<Int(seed % 2500) {
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let r = Int(seed >> 33)
        let pick = r % 10
        bytes.append(pick < 5 ? UInt8(97 + r % 26) : pick < 7 ? [0x20, 0x09, 0x3D][r % 3]
          : pick < 8 ? [0x0A, 0x0D][r % 2] : UInt8(truncatingIfNeeded: r >> 8))
      }
      let feeding = Feeding.allCases[round % 3]
      let normalized = Self.normalize(bytes, feeding)
      let encoded = Self.encode(normalized, feeding)
      #expect(Self.decode(encoded) == normalized)
      var lineLength = 0
      var longest = 0
      for b in encoded {
        if b == 0x0A { lineLength = 0 } else { lineLength += 1 }
        longest = max(longest, lineLength)
      }
      #expect(longest <= 77)  // 76 characters and the CR
      for line in encoded.split(separator: 0x0A) where line.count >= 2 {
        let last = line[line.endIndex - 2]
        #expect(last != 0x20 && last != 0x09, "trailing white space")
      }
    }
  }
}
