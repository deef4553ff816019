// SPDX-License-Identifier: MIT
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
