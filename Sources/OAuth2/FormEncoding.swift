// SPDX-License-Identifier: MIT
// Percent-encoding for URL query strings and application/x-www-form-urlencoded bodies
// (RFC 3986 §2.1, WHATWG URL "application/x-www-form-urlencoded"). Pure.
// Failure policy: encoding cannot fail; decoding returns nil on a malformed escape or
// invalid UTF-8, never a guess.

/// Builds and reads `name=value&…` strings.
public enum FormEncoding {
  /// Percent-encodes everything except RFC 3986 unreserved characters
  /// (`A–Z a–z 0–9 - . _ ~`), so the result is safe in a query and in a form body.
  public static func percentEncode(_ text: String) -> String {
    var out: [UInt8] = []
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
        UInt8(ascii: "_"), UInt8(ascii: "~"):
        out.append(byte)
      default:
        let hex = Array("0123456789ABCDEF".utf8)
        out.append(UInt8(ascii: "%"))
        out.append(hex[Int(byte >> 4)])
        out.append(hex[Int(byte & 0x0F)])
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Joins pairs as `name=value&…`, both sides percent-encoded.
  public static func encode(_ fields: [(String, String)]) -> String {
    fields.map { percentEncode($0.0) + "=" + percentEncode($0.1) }.joined(separator: "&")
  }

  /// Decodes one query component: `%XX` escapes, and `+` as a space (form encoding).
  /// - Returns: nil when an escape is malformed or the bytes are not UTF-8.
  public static func percentDecode(_ text: Substring) -> String? {
    var out: [UInt8] = []
    var bytes = Array(text.utf8)[...]
    while let byte = bytes.popFirst() {
      switch byte {
      case UInt8(ascii: "+"): out.append(0x20)
      case UInt8(ascii: "%"):
        guard bytes.count >= 2, let high = hexValue(bytes.removeFirst()),
          let low = hexValue(bytes.removeFirst())
        else { return nil }
        out.append(high << 4 | low)
      default: out.append(byte)
      }
    }
    return String(validating: out, as: UTF8.self)
  }

  /// Splits a query (`a=1&b=2`, no leading `?`) into decoded pairs, in order.
  /// A field without `=` has an empty value; empty fields are skipped.
  /// - Returns: nil when any component is malformed.
  public static func decode(_ query: Substring) -> [(name: String, value: String)]? {
    var fields: [(name: String, value: String)] = []
    for part in query.split(separator: "&", omittingEmptySubsequences: true) {
      let name: Substring
      let value: Substring
      if let eq = part.firstIndex(of: "=") {
        name = part[..<eq]
        value = part[part.index(after: eq)...]
      } else {
        name = part
        value = ""
      }
      guard let n = percentDecode(name), let v = percentDecode(value) else { return nil }
      fields.append((n, v))
    }
    return fields
  }

  private static func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
  }
}
