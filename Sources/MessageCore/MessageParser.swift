// SPDX-License-Identifier: MIT
// Push/next framing of a message read from standard input (the shape of OpenSMTPD's
// rfc5322.c): the caller pushes bytes in any chunking and pulls events: header fields, the end
// of the header, body chunks, the end of the message. No I/O.
//
// Decisions, for input that is not a well-formed RFC 5322 message:
// - Lines end with LF, CRLF or a lone CR (a CR not followed by LF). A lone CR is a line end
//   everywhere, as LineEndNormalizer makes it one on the wire: a bare CR must never reach the
//   server (RFC 5322 §2.3; bare line ends are an SMTP smuggling vector).
// - Only the first line may be an mbox `From ` line; it is dropped.
// - The header ends at an empty line (which is consumed), at end of input, or — as in Postfix's
//   cleanup — at the first line that is neither a field (`name:`) nor a continuation: that line
//   and everything after it are body. A continuation line with no field before it is body
//   too, so input that does not start with a header is all body.
// - With `dotTerminates` (sendmail without -i) a line holding only `.`, in the header or the
//   body, ends the message; it and the rest of the input are ignored.
// Failure policy: a NUL byte in the message and a header section over the limit are thrown as
// MessageError; after an error every call to next() throws it again. Memory is bounded by the
// header limit plus the chunk being pushed: body bytes are handed out, not kept.

/// Splits a message into header fields and body chunks, fed in chunks of any size.
public struct MessageParser: Sendable {
  /// Parser settings.
  public struct Options: Equatable, Sendable {
    /// A line holding a single `.` ends the message (sendmail without `-i`).
    public var dotTerminates: Bool
    /// Largest header section accepted, in bytes (the mbox `From ` line included).
    public var maxHeaderBytes: Int

    /// Creates settings.
    /// - Parameters:
    ///   - dotTerminates: A line holding a single `.` ends the message.
    ///   - maxHeaderBytes: Largest header section, default 1 MiB.
    public init(dotTerminates: Bool = false, maxHeaderBytes: Int = 1 << 20) {
      self.dotTerminates = dotTerminates
      self.maxHeaderBytes = maxHeaderBytes
    }
  }

  /// Why the header section ended.
  public enum HeaderEndReason: Equatable, Sendable {
    /// An empty line, the RFC 5322 separator.
    case emptyLine
    /// A line that is not a header field: it is the first body line.
    case nonHeaderLine
    /// A continuation line with no field before it: it is the first body line.
    case continuationWithoutField
    /// The input ended.
    case endOfInput
    /// A line holding a single `.` (with `dotTerminates`).
    case dotLine
  }

  /// The end of the header section.
  public struct HeaderEnd: Equatable, Sendable {
    /// Why the header ended.
    public var reason: HeaderEndReason
    /// Offset in the input of the first body byte.
    public var bodyOffset: Int

    /// Creates a header end.
    public init(reason: HeaderEndReason, bodyOffset: Int) {
      self.reason = reason
      self.bodyOffset = bodyOffset
    }
  }

  /// The end of the message.
  public struct MessageEnd: Equatable, Sendable {
    /// Offset in the input just after the last byte of the message: the body is the input
    /// from `HeaderEnd.bodyOffset` up to this offset.
    public var endOffset: Int
    /// The message was ended by a line holding a single `.`.
    public var endedByDot: Bool

    /// Creates a message end.
    public init(endOffset: Int, endedByDot: Bool) {
      self.endOffset = endOffset
      self.endedByDot = endedByDot
    }
  }

  /// What `next()` found.
  public enum Event: Equatable, Sendable {
    /// Push more bytes (or call `finish()`).
    case needMore
    /// The mbox `From ` line, dropped from the message (without its line end).
    case droppedFromLine([UInt8])
    /// A complete header field.
    case field(HeaderField)
    /// The header section ended; body events follow.
    case endOfHeader(HeaderEnd)
    /// Body bytes, raw, in input order.
    case body([UInt8])
    /// The message ended. Every later call returns this again.
    case endOfMessage(MessageEnd)
  }

  private enum Phase: Sendable { case firstLine, header, body, done }

  private let options: Options
  private var phase = Phase.firstLine
  private var buffer: [UInt8] = []
  private var start = 0  // index in buffer of the first unconsumed byte
  private var searched = 0  // buffer[start..<searched] holds no line end
  private var bufferOffset = 0  // input offset of buffer[0]
  private var finished = false
  private var fieldLines: [[UInt8]] = []
  private var fieldName = (nameLength: 0, valueStart: 0)
  private var headerBytes = 0
  private var atLineStart = true  // body: the next byte starts a line
  private var queued: [Event] = []
  private var failure: MessageError?
  private var end: MessageEnd?

  /// Creates a parser.
  public init(options: Options = Options()) { self.options = options }

  /// Offset in the input of the first byte not yet consumed.
  private var offset: Int { bufferOffset + start }

  /// Appends input bytes. Bytes pushed after `finish()` or after the end of the message are
  /// ignored.
  public mutating func push<C: Collection<UInt8>>(_ bytes: C) {
    guard !finished, phase != .done else { return }
    if start > 0, start >= buffer.count / 2 {
      buffer.removeFirst(start)
      bufferOffset += start
      searched -= start
      start = 0
    }
    buffer.append(contentsOf: bytes)
  }

  /// Marks the end of the input.
  public mutating func finish() { finished = true }

  /// Returns the next event.
  /// - Throws: `MessageError` for a NUL byte or a header section over the limit.
  public mutating func next() throws(MessageError) -> Event {
    if let failure { throw failure }
    do {
      return try step()
    } catch {
      failure = error
      throw error
    }
  }

  private mutating func step() throws(MessageError) -> Event {
    while true {
      if !queued.isEmpty { return queued.removeFirst() }
      switch phase {
      case .firstLine, .header:
        guard let line = peekLine() else {
          if headerBytes + (buffer.count - start) > options.maxHeaderBytes {
            throw .headerTooLarge(limit: options.maxHeaderBytes)
          }
          return .needMore
        }
        try headerLine(line)
      case .body:
        if let event = try bodyChunk() { return event }
        return .needMore
      case .done:
        return .endOfMessage(end ?? MessageEnd(endOffset: offset, endedByDot: false))
      }
    }
  }

  /// The next complete line: its content range in `buffer` and the index after its line end.
  /// At end of input an unterminated tail is a line; nil when no line is complete. The search
  /// resumes where the last one stopped, so a long line pushed in small chunks costs linear
  /// time.
  private mutating func peekLine() -> (content: Range<Int>, next: Int)? {
    var i = max(start, searched)
    defer { searched = max(start, i) }
    while i < buffer.count {
      let b = buffer[i]
      if b == ASCII.lf { return (start..<i, i + 1) }
      if b == ASCII.cr {
        if i + 1 < buffer.count { return (start..<i, buffer[i + 1] == ASCII.lf ? i + 2 : i + 1) }
        return finished ? (start..<i, i + 1) : nil
      }
      i += 1
    }
    if finished { return (start..<buffer.count, buffer.count) }
    return nil
  }

  private mutating func headerLine(_ line: (content: Range<Int>, next: Int)) throws(MessageError) {
    let content = buffer[line.content]
    if line.content.isEmpty && line.next == start {
      // End of input on a line boundary.
      endHeader(.endOfInput, bodyOffset: offset)
      return
    }
    if let nul = content.firstIndex(of: ASCII.nul) { throw .nulByte(offset: bufferOffset + nul) }
    let lineLength = line.next - start
    let isFirst = phase == .firstLine
    phase = .header
    if options.dotTerminates, content.elementsEqual([ASCII.dot]) {
      flushField()
      let at = offset
      queued.append(.endOfHeader(HeaderEnd(reason: .dotLine, bodyOffset: at)))
      finishMessage(MessageEnd(endOffset: at, endedByDot: true))
      return
    }
    if content.isEmpty {
      flushField()
      start = line.next
      endHeader(.emptyLine, bodyOffset: offset)
      return
    }
    if isFirst, content.starts(with: Array("From ".utf8)) {
      try countHeader(lineLength)
      start = line.next
      queued.append(.droppedFromLine(Array(content)))
      return
    }
    if ASCII.isWSP(content[content.startIndex]) {
      guard !fieldLines.isEmpty else {
        endHeader(.continuationWithoutField, bodyOffset: offset)
        return
      }
      try countHeader(lineLength)
      fieldLines.append(Array(content))
      start = line.next
      return
    }
    guard let field = HeaderField.fieldStart(content) else {
      flushField()
      endHeader(.nonHeaderLine, bodyOffset: offset)
      return
    }
    try countHeader(lineLength)
    flushField()
    fieldLines = [Array(content)]
    fieldName = field
    start = line.next
  }

  private mutating func countHeader(_ n: Int) throws(MessageError) {
    headerBytes += n
    if headerBytes > options.maxHeaderBytes { throw .headerTooLarge(limit: options.maxHeaderBytes) }
  }

  private mutating func flushField() {
    guard !fieldLines.isEmpty else { return }
    queued.append(
      .field(HeaderField(lines: fieldLines, nameLength: fieldName.nameLength,
                         valueStart: fieldName.valueStart)))
    fieldLines = []
  }

  private mutating func endHeader(_ reason: HeaderEndReason, bodyOffset: Int) {
    flushField()
    queued.append(.endOfHeader(HeaderEnd(reason: reason, bodyOffset: bodyOffset)))
    phase = .body
    atLineStart = true
  }

  private mutating func finishMessage(_ messageEnd: MessageEnd) {
    queued.append(.endOfMessage(messageEnd))
    end = messageEnd
    phase = .done
    buffer = []
    start = 0
  }

  /// Hands out the buffered body bytes, stopping at a dot line when asked to.
  private mutating func bodyChunk() throws(MessageError) -> Event? {
    var stop = buffer.count
    var dotAt: Int?
    if options.dotTerminates {
      var i = start
      while i < buffer.count {
        let b = buffer[i]
        if atLineStart, b == ASCII.dot {
          if i + 1 < buffer.count {
            let c = buffer[i + 1]
            if c == ASCII.lf || c == ASCII.cr { dotAt = i; break }
          } else if finished {
            dotAt = i; break
          } else {
            stop = i  // wait for the byte after the dot
            break
          }
        }
        atLineStart = b == ASCII.lf || b == ASCII.cr
        i += 1
      }
      if let dotAt { stop = dotAt }
    }
    let chunk = Array(buffer[start..<stop])
    if let nul = chunk.firstIndex(of: ASCII.nul) { throw .nulByte(offset: offset + nul) }
    start = stop
    if let dotAt {
      finishMessage(MessageEnd(endOffset: bufferOffset + dotAt, endedByDot: true))
    } else if finished && stop == buffer.count {
      finishMessage(MessageEnd(endOffset: offset, endedByDot: false))
    }
    if chunk.isEmpty { return queued.isEmpty ? nil : queued.removeFirst() }
    return .body(chunk)
  }
}
