// SPDX-License-Identifier: MIT
// Base64 (RFC 4648 §4) and base64url (§5) for SASL payloads, MIME and JWTs.
// Pure: no I/O. Decoding rejects anything that is not canonical alphabet,
// padding or (when asked) line breaks, and never traps on hostile input.

/// Base64 encoding and decoding, in the standard and URL-safe alphabets.
public enum Base64 {
  /// The alphabet to use.
  public enum Alphabet: Sendable {
    /// RFC 4648 §4: `+` and `/`, padded with `=`.
    case standard
    /// RFC 4648 §5: `-` and `_`, without padding (as JWTs and PKCE use it).
    case url
  }

  private static let standardTable = Array(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
  private static let urlTable = Array(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

  /// Encodes bytes.
  /// - Parameters:
  ///   - bytes: The data to encode.
  ///   - alphabet: `.standard` pads with `=`; `.url` does not pad.
  /// - Returns: The encoded text.
  public static func encode<S: Sequence>(_ bytes: S, alphabet: Alphabet = .standard) -> String
  where S.Element == UInt8 {
    let input = Array(bytes)
    let table = alphabet == .standard ? standardTable : urlTable
    var out: [UInt8] = []
    out.reserveCapacity((input.count + 2) / 3 * 4)
    var i = 0
    while i + 3 <= input.count {
      let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
      out.append(table[Int(n >> 18 & 63)])
      out.append(table[Int(n >> 12 & 63)])
      out.append(table[Int(n >> 6 & 63)])
      out.append(table[Int(n & 63)])
      i += 3
    }
    let rest = input.count - i
    if rest > 0 {
      var n = UInt32(input[i]) << 16
      if rest == 2 { n |= UInt32(input[i + 1]) << 8 }
      out.append(table[Int(n >> 18 & 63)])
      out.append(table[Int(n >> 12 & 63)])
      if rest == 2 { out.append(table[Int(n >> 6 & 63)]) }
      if alphabet == .standard {
        out.append(UInt8(ascii: "="))
        if rest == 1 { out.append(UInt8(ascii: "=")) }
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Decodes text.
  /// - Parameters:
  ///   - text: Base64 text. Padding is optional; ASCII white space is skipped when
  ///     `ignoringWhitespace` is true.
  ///   - alphabet: Which alphabet the text uses.
  ///   - ignoringWhitespace: Skip spaces, tabs, CR and LF (MIME bodies).
  /// - Returns: The bytes, or `nil` when the text is not valid base64.
  public static func decode(
    _ text: some StringProtocol, alphabet: Alphabet = .standard, ignoringWhitespace: Bool = false
  ) -> [UInt8]? {
    var out: [UInt8] = []
    var acc: UInt32 = 0
    var bits = 0
    var padding = 0
    for c in text.utf8 {
      let v: UInt8
      switch c {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = c - UInt8(ascii: "A")
      case UInt8(ascii: "a")...UInt8(ascii: "z"): v = c - UInt8(ascii: "a") + 26
      case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0") + 52
      case UInt8(ascii: "+") where alphabet == .standard: v = 62
      case UInt8(ascii: "/") where alphabet == .standard: v = 63
      case UInt8(ascii: "-") where alphabet == .url: v = 62
      case UInt8(ascii: "_") where alphabet == .url: v = 63
      case UInt8(ascii: "="):
        padding += 1
        if padding > 2 { return nil }
        continue
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
        // A `where` clause would bind to the last pattern only: test it here.
        if ignoringWhitespace { continue }
        return nil
      default:
        return nil
      }
      if padding > 0 { return nil }  // data after padding
      acc = acc << 6 | UInt32(v)
      bits += 6
      if bits >= 8 {
        bits -= 8
        out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
        acc &= (1 << UInt32(bits)) - 1
      }
    }
    // 6 leftover bits can never be valid; non-zero leftover bits are not canonical.
    if bits >= 6 || acc != 0 { return nil }
    return out
  }
}
