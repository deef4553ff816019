// SPDX-License-Identifier: MIT
// A reader for the one JSON shape SMTP servers put in OAuth error challenges: a single
// object whose values are strings, numbers, booleans or null. Bounded (input size, field
// count, no nesting); anything else is refused with nil rather than guessed at.

/// Reads `{"key": "value", ...}` into a dictionary of string fields.
enum FlatJSONObject {
  /// The largest input accepted, in bytes.
  static let maximumLength = 4096
  /// The most fields accepted.
  static let maximumFields = 64

  /// Parses a flat JSON object. Number, `true`, `false` and `null` values are read and
  /// dropped; nested objects and arrays are refused.
  /// - Returns: The string fields, or nil when the input is not such an object.
  static func parse(_ bytes: [UInt8]) -> [String: String]? {
    guard bytes.count <= maximumLength else { return nil }
    var reader = Reader(bytes: bytes)
    return reader.object()
  }

  private struct Reader {
    let bytes: [UInt8]
    var index = 0

    mutating func object() -> [String: String]? {
      var fields: [String: String] = [:]
      var count = 0
      guard consume(UInt8(ascii: "{")) else { return nil }
      if consume(UInt8(ascii: "}")) { return atEnd() ? fields : nil }
      repeat {
        count += 1
        guard count <= maximumFields, let key = string(), consume(UInt8(ascii: ":")) else {
          return nil
        }
        skipSpace()
        if peek() == UInt8(ascii: "\"") {
          guard let value = string() else { return nil }
          fields[key] = value
        } else {
          guard scalar() else { return nil }
        }
      } while consume(UInt8(ascii: ","))
      return consume(UInt8(ascii: "}")) && atEnd() ? fields : nil
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpace() {
      while let byte = peek(), [0x20, 0x09, 0x0A, 0x0D].contains(byte) { index += 1 }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
      skipSpace()
      guard peek() == byte else { return false }
      index += 1
      return true
    }

    private mutating func atEnd() -> Bool {
      skipSpace()
      return index == bytes.count
    }

    /// A number, `true`, `false` or `null`: the bytes up to the next delimiter.
    private mutating func scalar() -> Bool {
      let start = index
      while let byte = peek(),
        byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
          || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
          || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
          || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
      {
        index += 1
      }
      let word = String(decoding: bytes[start..<index], as: UTF8.self)
      return ["true", "false", "null"].contains(word) || Double(word) != nil
    }

    /// A JSON string with its escapes (RFC 8259 §7); `\u` pairs make surrogates whole.
    private mutating func string() -> String? {
      guard consume(UInt8(ascii: "\"")) else { return nil }
      var scalars = String.UnicodeScalarView()
      var raw: [UInt8] = []
      func flush() {
        scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
        raw.removeAll()
      }
      while let byte = peek() {
        index += 1
        switch byte {
        case UInt8(ascii: "\""):
          flush()
          return String(scalars)
        case UInt8(ascii: "\\"):
          guard let escaped = peek() else { return nil }
          index += 1
          flush()
          switch escaped {
          case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
            scalars.append(Unicode.Scalar(escaped))
          case UInt8(ascii: "b"): scalars.append("\u{8}")
          case UInt8(ascii: "f"): scalars.append("\u{c}")
          case UInt8(ascii: "n"): scalars.append("\n")
          case UInt8(ascii: "r"): scalars.append("\r")
          case UInt8(ascii: "t"): scalars.append("\t")
          case UInt8(ascii: "u"):
            guard let scalar = unicodeEscape() else { return nil }
            scalars.append(scalar)
          default: return nil
          }
        case 0..<0x20: return nil
        default: raw.append(byte)
        }
      }
      return nil
    }

    /// The rest of a `\uXXXX` escape (and its low surrogate, if it starts a pair).
    private mutating func unicodeEscape() -> Unicode.Scalar? {
      guard let high = hex4() else { return nil }
      if (0xD800..<0xDC00).contains(high) {
        guard peek() == UInt8(ascii: "\\"), index + 1 < bytes.count,
          bytes[index + 1] == UInt8(ascii: "u")
        else { return nil }
        index += 2
        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
        return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
      }
      return Unicode.Scalar(high)
    }

    private mutating func hex4() -> UInt32? {
      guard index + 4 <= bytes.count else { return nil }
      var value: UInt32 = 0
      for byte in bytes[index..<index + 4] {
        guard let digit = hexDigit(byte) else { return nil }
        value = value << 4 | digit
      }
      index += 4
      return value
    }

    private func hexDigit(_ byte: UInt8) -> UInt32? {
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
      default: nil
      }
    }
  }
}
