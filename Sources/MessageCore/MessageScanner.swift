// SPDX-License-Identifier: MIT
// Reads a whole message from standard input chunk by chunk: keeps the header fields, counts
// the body without keeping it, and says which input bytes belong to the message so that the
// front end can spool the raw input and re-read the body later.
// Failure policy: NUL bytes, a header over its limit and a message over its limit are thrown
// as MessageError (exit 65 in the front end) as soon as they are seen.

/// Scans a message pushed in chunks of any size.
public struct MessageScanner: Sendable {
  /// Scanner settings.
  public struct Options: Equatable, Sendable {
    /// A line holding a single `.` ends the message (sendmail without `-i`).
    public var dotTerminates: Bool
    /// Largest header section, in bytes.
    public var maxHeaderBytes: Int
    /// Largest message (`max_message_size`), in input bytes; nil for no limit.
    public var maxMessageBytes: Int?

    /// Creates settings.
    /// - Parameters:
    ///   - dotTerminates: A line holding a single `.` ends the message.
    ///   - maxHeaderBytes: Largest header section, default 1 MiB.
    ///   - maxMessageBytes: Largest message in input bytes, nil for no limit.
    public init(dotTerminates: Bool = false, maxHeaderBytes: Int = 1 << 20,
                maxMessageBytes: Int? = nil) {
      self.dotTerminates = dotTerminates
      self.maxHeaderBytes = maxHeaderBytes
      self.maxMessageBytes = maxMessageBytes
    }
  }

  private let options: Options
  private var parser: MessageParser
  private var fields: [HeaderField] = []
  private var droppedFromLine: [UInt8]?
  private var headerEnd: MessageParser.HeaderEnd?
  private var messageEnd: MessageParser.MessageEnd?
  private var body = BodyStatistics()
  private var pushed = 0
  private var pendingBody: [UInt8] = []

  /// Creates a scanner.
  public init(options: Options = Options()) {
    self.options = options
    parser = MessageParser(
      options: .init(dotTerminates: options.dotTerminates, maxHeaderBytes: options.maxHeaderBytes))
  }

  /// Whether the message has ended (a `.` line with `dotTerminates`): the rest of the input
  /// does not belong to it and need not be read.
  public var isComplete: Bool { messageEnd != nil }

  // Concrete entry points: a generic called from another module runs unspecialized,
  // one protocol call per byte; these let the compiler specialize the body here.
  public mutating func push(_ chunk: [UInt8]) throws(MessageError) { try pushBytes(chunk) }
  public mutating func push(_ chunk: ArraySlice<UInt8>) throws(MessageError) { try pushBytes(chunk) }
  public mutating func push<C: Collection<UInt8>>(_ chunk: C) throws(MessageError) { try pushBytes(chunk) }

  /// Scans the next chunk of input.
  /// - Throws: `MessageError` for a NUL byte or a limit exceeded.
  @inline(__always) private mutating func pushBytes<C: Collection<UInt8>>(_ chunk: C) throws(MessageError) {
    guard messageEnd == nil else { return }
    pushed += chunk.count
    parser.push(chunk)
    try drain()
    if messageEnd == nil, let limit = options.maxMessageBytes, pushed > limit {
      throw .messageTooLarge(limit: limit)
    }
  }

  /// The body bytes found since the last call (as read: line ends not normalised), so that
  /// the caller can stream the body to disk without keeping it. Bytes after a terminating
  /// `.` line are never returned.
  public mutating func takeBody() -> [UInt8] {
    defer { pendingBody.removeAll(keepingCapacity: true) }
    return pendingBody
  }

  /// Ends the input and returns what was found.
  /// - Throws: `MessageError` for a NUL byte or a limit exceeded.
  public mutating func finish() throws(MessageError) -> ScannedMessage {
    parser.finish()
    try drain()
    let end = messageEnd ?? MessageParser.MessageEnd(endOffset: pushed, endedByDot: false)
    if let limit = options.maxMessageBytes, end.endOffset > limit {
      throw .messageTooLarge(limit: limit)
    }
    return ScannedMessage(
      fields: fields, droppedFromLine: droppedFromLine,
      headerEndReason: headerEnd?.reason ?? .endOfInput,
      bodyOffset: headerEnd?.bodyOffset ?? end.endOffset, endOffset: end.endOffset,
      endedByDot: end.endedByDot, body: body.completed)
  }

  private mutating func drain() throws(MessageError) {
    while messageEnd == nil {
      switch try parser.next() {
      case .needMore: return
      case .droppedFromLine(let line): droppedFromLine = line
      case .field(let field): fields.append(field)
      case .endOfHeader(let end): headerEnd = end
      case .body(let bytes):
        body.add(bytes)
        pendingBody.append(contentsOf: bytes)
      case .endOfMessage(let end): messageEnd = end
      }
    }
  }
}

/// A scanned message: its header fields and what is known of its body.
public struct ScannedMessage: Equatable, Sendable {
  /// The header fields, in order, as read.
  public var fields: [HeaderField]
  /// The mbox `From ` line that was dropped, if the input started with one.
  public var droppedFromLine: [UInt8]?
  /// Why the header section ended.
  public var headerEndReason: MessageParser.HeaderEndReason
  /// Offset in the input of the first body byte.
  public var bodyOffset: Int
  /// Offset in the input just after the message: the body is input[bodyOffset..<endOffset].
  public var endOffset: Int
  /// The message was ended by a line holding a single `.`.
  public var endedByDot: Bool
  /// Body statistics.
  public var body: BodyStatistics

  /// Whether any header field holds a byte outside US-ASCII.
  public var headerHas8bit: Bool { fields.contains { $0.has8bit } }
}
