// SPDX-License-Identifier: MIT
// RFC 2047 encoded words (`=?UTF-8?B?…?=`) for display names that are not printable ASCII.
// Pure; no failure modes.
import Codecs

enum EncodedWord {
  /// The text as B-encoded words of at most 75 characters (RFC 2047 §2), split between
  /// characters (never inside a UTF-8 sequence, §5 rule 3).
  static func encode(_ text: String) -> [String] {
    var words: [String] = []
    var chunk: [UInt8] = []
    for scalar in text.unicodeScalars {
      let bytes = Array(String(scalar).utf8)
      if chunk.count + bytes.count > 45 {  // 45 bytes -> 60 base64 chars + 12 = 72
        words.append("=?UTF-8?B?" + Base64.encode(chunk) + "?=")
        chunk = []
      }
      chunk += bytes
    }
    if !chunk.isEmpty { words.append("=?UTF-8?B?" + Base64.encode(chunk) + "?=") }
    return words
  }
}
