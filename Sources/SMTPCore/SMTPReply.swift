// SPDX-License-Identifier: MIT
// One complete SMTP reply (RFC 5321 §4.2) with every line kept, so that EHLO
// capabilities and multi-line error texts survive intact. Pure value type; it is
// built only by SMTPReplyParser, which has already checked its syntax.

/// An RFC 3463 enhanced status code such as `5.7.8`.
public struct EnhancedStatusCode: Hashable, Sendable, CustomStringConvertible {
  /// The class digit: 2 (success), 4 (persistent transient) or 5 (permanent).
  public let statusClass: Int
  /// The subject (0...999).
  public let subject: Int
  /// The detail (0...999).
  public let detail: Int

  /// Creates a code from its three parts.
  public init(statusClass: Int, subject: Int, detail: Int) {
    self.statusClass = statusClass
    self.subject = subject
    self.detail = detail
  }

  /// The dotted form, `5.7.8`.
  public var description: String { "\(statusClass).\(subject).\(detail)" }

  /// Reads a code at the start of `text` (RFC 3463 §2: class `2|4|5`, then 1–3 digits twice),
  /// followed by a space or the end. Returns the code and the length of the prefix it used.
  static func parse(prefixOf text: Substring.UTF8View) -> (EnhancedStatusCode, Int)? {
    let bytes = Array(text.prefix(16))
    var index = 0
    // Reads 1...maxDigits decimal digits at `index`.
    func number(maxDigits: Int) -> Int? {
      var value = 0
      let start = index
      while index < bytes.count, index - start < maxDigits,
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index])
      {
        value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
        index += 1
      }
      return index == start ? nil : value
    }
    // Consumes a "." at `index`.
    func dot() -> Bool {
      guard index < bytes.count, bytes[index] == UInt8(ascii: ".") else { return false }
      index += 1
      return true
    }
    guard let statusClass = number(maxDigits: 1), [2, 4, 5].contains(statusClass), dot(),
      let subject = number(maxDigits: 3), dot(), let detail = number(maxDigits: 3),
      index < bytes.count ? bytes[index] == UInt8(ascii: " ") : text.count == index
    else { return nil }
    return (EnhancedStatusCode(statusClass: statusClass, subject: subject, detail: detail), index)
  }
}

/// A complete SMTP reply: the three-digit code and the text of every line.
public struct SMTPReply: Hashable, Sendable, CustomStringConvertible {
  /// The reply code, 200...599.
  public let code: Int
  /// The enhanced status code at the start of the first line's text, if the server sent one.
  public let enhancedStatus: EnhancedStatusCode?
  /// The text of each line after `NNN-` / `NNN `, in order, unchanged (at least one line).
  public let lines: [String]

  /// Creates a reply; the enhanced status code is read from the first line.
  /// - Parameters:
  ///   - code: The reply code.
  ///   - lines: The text of each line; an empty array is taken as one empty line.
  public init(code: Int, lines: [String]) {
    self.code = code
    self.lines = lines.isEmpty ? [""] : lines
    self.enhancedStatus = EnhancedStatusCode.parse(prefixOf: self.lines[0].utf8[...])?.0
  }

  /// True for 2xx replies (RFC 5321 §4.2.1 "positive completion").
  public var isPositiveCompletion: Bool { (200..<300).contains(code) }
  /// True for 3xx replies ("positive intermediate", e.g. 334, 354).
  public var isPositiveIntermediate: Bool { (300..<400).contains(code) }
  /// True for 4xx replies ("transient negative completion": try again later).
  public var isTransientNegative: Bool { (400..<500).contains(code) }
  /// True for 5xx replies ("permanent negative completion").
  public var isPermanentNegative: Bool { (500..<600).contains(code) }

  /// The lines as the server sent them, `NNN-text` … `NNN text`, without CRLF.
  public var wireLines: [String] {
    lines.indices.map { i in "\(code)\(i == lines.count - 1 ? " " : "-")\(lines[i])" }
  }

  /// The text of all lines joined by one space, with each line's leading enhanced status
  /// code and surrounding spaces removed: for messages to the user.
  public var text: String {
    lines.map { line -> Substring in
      var rest = line[...]
      if let (_, length) = EnhancedStatusCode.parse(prefixOf: rest.utf8) {
        rest = rest.dropFirst(length)
      }
      return rest.drop { $0 == " " }
    }
    .filter { !$0.isEmpty }
    .joined(separator: " ")
  }

  /// `535 5.7.8 Username and Password not accepted. …`: code, enhanced code and ``text``.
  public var description: String {
    [String(code), enhancedStatus?.description, text.isEmpty ? nil : text]
      .compactMap { $0 }.joined(separator: " ")
  }
}
