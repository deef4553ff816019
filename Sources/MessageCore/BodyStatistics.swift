// SPDX-License-Identifier: MIT
// What the sender needs to know about a body it does not keep: size, 8-bit bytes, longest
// line, final newline. Lines end as in MessageParser (LF, CRLF or a lone CR). Pure; no
// failure modes.

/// Statistics of a message body, gathered chunk by chunk.
public struct BodyStatistics: Equatable, Sendable {
  /// Raw body bytes.
  public private(set) var byteCount = 0
  /// Whether any byte is 0x80 or above.
  public private(set) var has8bit = false
  /// Length in octets of the longest line, its line end not counted.
  public private(set) var longestLine = 0
  /// Number of lines (an unterminated last line counts).
  public private(set) var lineCount = 0
  /// Whether the body is non-empty and its last byte ends a line.
  public private(set) var endsWithNewline = false
  /// Size of the body once LineEndNormalizer has made every line end CRLF and supplied the
  /// final one.
  public private(set) var normalizedByteCount = 0

  private var currentLine = 0
  private var pendingCR = false

  /// Creates empty statistics.
  public init() {}

  /// Statistics of a body that was scanned earlier and stored already normalised
  /// (a queued message): its size, whether it holds 8-bit bytes, its longest line.
  public init(normalizedSize: Int, has8bit: Bool, longestLine: Int) {
    byteCount = normalizedSize
    normalizedByteCount = normalizedSize
    self.has8bit = has8bit
    self.longestLine = longestLine
    endsWithNewline = normalizedSize > 0
  }

  /// Adds body bytes.
  // Concrete entry points: a generic called from another module runs unspecialized,
  // one protocol call per byte; these let the compiler specialize the body here.
  public mutating func add(_ chunk: [UInt8]) { addBytes(chunk) }
  public mutating func add(_ chunk: ArraySlice<UInt8>) { addBytes(chunk) }
  public mutating func add<C: Collection<UInt8>>(_ chunk: C) { addBytes(chunk) }

  @inline(__always) private mutating func addBytes<C: Collection<UInt8>>(_ chunk: C) {
    byteCount += chunk.count
    var last: UInt8?
    for b in chunk {
      last = b
      if pendingCR {
        pendingCR = false
        if b == ASCII.lf { continue }
      }
      if b == ASCII.lf || b == ASCII.cr {
        endLine()
        pendingCR = b == ASCII.cr
      } else {
        if b >= 0x80 { has8bit = true }
        currentLine += 1
        normalizedByteCount += 1
      }
    }
    if let last { endsWithNewline = last == ASCII.lf || last == ASCII.cr }
  }

  /// Whether the body passes unchanged (apart from line ends) through a 7-bit SMTP server:
  /// no 8-bit byte and no line over 998 octets (RFC 5321 §4.5.3.1.6).
  public var isSevenBitClean: Bool { !has8bit && longestLine <= 998 }

  private mutating func endLine() {
    longestLine = max(longestLine, currentLine)
    currentLine = 0
    lineCount += 1
    normalizedByteCount += 2
  }

  /// The statistics with the unterminated last line counted.
  public var completed: BodyStatistics {
    var done = self
    if currentLine > 0 {
      done.longestLine = max(done.longestLine, currentLine)
      done.lineCount += 1
      done.normalizedByteCount += 2
      done.currentLine = 0
    }
    done.pendingCR = false
    return done
  }
}
