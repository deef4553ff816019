// SPDX-License-Identifier: MIT
// One SMTP reply as the server sends it, and its wire encoding (RFC 5321 §4.2,
// RFC 2034 enhanced status codes). Pure. Encoding never fails: a CR or LF inside a
// text line is replaced by a space so that a reply can never inject another reply.

/// A reply the server sends: a three-digit code, an optional enhanced status code and
/// one or more text lines.
///
/// Every line of a multi-line reply repeats the code and the enhanced code, as Gmail
/// does (`535-5.7.8 …` / `535 5.7.8  https://…`). A text line that begins with a space
/// keeps it, which is how Gmail's "two spaces" quirks are written.
public struct SMTPServerReply: Equatable, Sendable {
  /// The reply code, 200…599 (RFC 5321 §4.2).
  public var code: Int
  /// The enhanced status code such as `2.1.0` (RFC 3463), or `nil` for none.
  public var enhancedCode: String?
  /// The text lines; at least one (an empty text is sent as an empty line).
  public var lines: [String]

  /// Creates a reply.
  /// - Parameters:
  ///   - code: The reply code.
  ///   - enhancedCode: The enhanced status code, or `nil`.
  ///   - lines: The text lines, in order.
  public init(_ code: Int, _ enhancedCode: String? = nil, _ lines: [String]) {
    self.code = code
    self.enhancedCode = enhancedCode
    self.lines = lines.isEmpty ? [""] : lines
  }

  /// Creates a one-line reply.
  public init(_ code: Int, _ enhancedCode: String? = nil, _ line: String) {
    self.init(code, enhancedCode, [line])
  }

  /// Whether the code is a positive completion or intermediate reply (2xx, 3xx).
  public var isPositive: Bool { code >= 200 && code < 400 }

  /// The reply with `suffix` appended to its last line (Gmail's ` <sid> - gsmtp`).
  public func appending(_ suffix: String) -> SMTPServerReply {
    var copy = self
    copy.lines[copy.lines.count - 1] += suffix
    return copy
  }

  /// The reply as CRLF-terminated wire lines.
  public var encoded: [UInt8] {
    var out: [UInt8] = []
    let codeText = String(code)
    for (index, line) in lines.enumerated() {
      out += codeText.utf8
      out.append(index == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
      if let enhancedCode {
        out += enhancedCode.utf8
        if !line.isEmpty { out.append(UInt8(ascii: " ")) }
      }
      for byte in line.utf8 {
        out.append(byte == 13 || byte == 10 ? UInt8(ascii: " ") : byte)
      }
      out += [13, 10]
    }
    return out
  }
}
