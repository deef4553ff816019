// SPDX-License-Identifier: MIT
// One complete SMTP reply (RFC 5321 §4.2) with every line kept, so that EHLO
// capabilities and multi-line error texts survive intact. Pure value type; it is
// built only by SMTPReplyParser (below), which has already checked its syntax.

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

// MARK: - Parsing replies

// Push bytes in, pull complete SMTP replies out (RFC 5321 §4.2), in any chunking.
// Failure policy: every limit is enforced before memory grows past it (one line of at most
// `maximumLineLength` bytes, at most `maximumLineCount` lines per reply); any syntax error
// is a typed protocol violation, and once failed the parser stays failed.

/// An incremental SMTP reply parser.
///
/// Call ``append(_:)`` with whatever the connection delivered, then call ``nextReply()``
/// until it returns `nil`. Lines end in CRLF; a bare LF is accepted as well.
public struct SMTPReplyParser: Sendable {
  /// The longest reply line accepted, in bytes without the line end. RFC 5321 §4.5.3.1.5
  /// allows 512; the default is generous for servers that ignore that.
  public let maximumLineLength: Int
  /// The most lines one reply may have (EHLO replies have about ten).
  public let maximumLineCount: Int

  private var buffer: [UInt8] = []
  private var start = 0
  private var pendingCode: Int?
  private var pendingLines: [String] = []
  private var failure: SMTPFailure?

  /// Creates a parser.
  /// - Parameters:
  ///   - maximumLineLength: Longest line in bytes, without CRLF.
  ///   - maximumLineCount: Most lines in one reply.
  public init(maximumLineLength: Int = 4096, maximumLineCount: Int = 256) {
    self.maximumLineLength = maximumLineLength
    self.maximumLineCount = maximumLineCount
  }

  /// True when bytes are buffered that do not yet form a complete reply.
  public var hasBufferedBytes: Bool { start < buffer.count || !pendingLines.isEmpty }

  /// Adds bytes received from the server. Call ``nextReply()`` after each append: the
  /// buffer holds what was appended until it is parsed.
  public mutating func append(_ bytes: some Sequence<UInt8>) {
    buffer.append(contentsOf: bytes)
  }

  /// Returns the next complete reply, or `nil` when more bytes are needed.
  /// - Throws: ``SMTPFailure/protocolViolation(_:)`` for a line that is too long, too many
  ///   lines, a malformed line or mismatched codes; the same error on every later call.
  public mutating func nextReply() throws(SMTPFailure) -> SMTPReply? {
    if let failure { throw failure }
    do {
      return try parseReply()
    } catch {
      failure = .protocolViolation(error)
      throw .protocolViolation(error)
    }
  }

  /// Checks that nothing followed the `220` reply to `STARTTLS`, before the TLS handshake.
  /// - Throws: ``SMTPProtocolViolation/dataAfterSTARTTLS`` (wrapped) when bytes are buffered:
  ///   a man in the middle may have injected them into the plain-text stream (RFC 3207 §6).
  public mutating func expectNothingBeforeTLS() throws(SMTPFailure) {
    guard !hasBufferedBytes else {
      failure = .protocolViolation(.dataAfterSTARTTLS)
      throw .protocolViolation(.dataAfterSTARTTLS)
    }
    buffer.removeAll()
    start = 0
  }

  private mutating func parseReply() throws(SMTPProtocolViolation) -> SMTPReply? {
    while let line = try nextLine() {
      let isLast = line.count == 3 || line.count > 3 && line[3] == UInt8(ascii: " ")
      guard line.count >= 3, let code = Self.code(line), isLast || line[3] == UInt8(ascii: "-")
      else { throw .malformedLine(excerpt: Self.excerpt(line)) }
      if let pendingCode, pendingCode != code {
        throw .mismatchedCodes(first: pendingCode, then: code)
      }
      guard pendingLines.count < maximumLineCount else {
        throw .tooManyLines(limit: maximumLineCount)
      }
      pendingCode = code
      pendingLines.append(String(decoding: line.dropFirst(4), as: UTF8.self))
      if isLast {
        let reply = SMTPReply(code: code, lines: pendingLines)
        pendingCode = nil
        pendingLines = []
        return reply
      }
    }
    return nil
  }

  /// Removes and returns the next line without its line end, or nil if none is complete.
  private mutating func nextLine() throws(SMTPProtocolViolation) -> [UInt8]? {
    // A line may be followed by CR LF, so look at most two bytes past the limit.
    let searchEnd = min(buffer.count, start + maximumLineLength + 2)
    guard let lf = buffer[start..<searchEnd].firstIndex(of: UInt8(ascii: "\n")) else {
      if buffer.count - start > maximumLineLength + 1 {
        throw .lineTooLong(limit: maximumLineLength)
      }
      compact()
      return nil
    }
    var end = lf
    if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
    guard end - start <= maximumLineLength else { throw .lineTooLong(limit: maximumLineLength) }
    let line = Array(buffer[start..<end])
    start = lf + 1
    return line
  }

  /// Drops consumed bytes so the buffer holds at most one partial line.
  private mutating func compact() {
    guard start > 0 else { return }
    buffer.removeFirst(start)
    start = 0
  }

  private static func code(_ line: [UInt8]) -> Int? {
    var value = 0
    for byte in line.prefix(3) {
      guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
      value = value * 10 + Int(byte - UInt8(ascii: "0"))
    }
    return (200...599).contains(value) ? value : nil
  }

  private static func excerpt(_ line: [UInt8]) -> String {
    String(
      decoding: line.prefix(40).map { (0x20..<0x7f).contains($0) ? $0 : UInt8(ascii: "?") },
      as: UTF8.self)
  }
}
