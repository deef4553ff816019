// SPDX-License-Identifier: MIT
// The body of a message as it goes out: its statistics, its line ends made CRLF, and the
// choice of its transfer encoding.
//
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

// MARK: - Line ends

// Streaming body filter that makes every line end CRLF: LF, CRLF and a lone CR (a CR not
// followed by LF) each become CRLF, the same line ends MessageParser and BodyStatistics see.
// A lone CR is turned into a line end rather than kept because a bare CR must not reach the
// server (RFC 5322 §2.3, RFC 5321 §2.3.8). A missing final line end is supplied. No failure
// modes.

/// Converts a body pushed in chunks to CRLF line ends.
public struct LineEndNormalizer: Sendable {
  private var pendingCR = false
  private var atLineStart = true  // nothing written since the last line end

  /// Creates a normalizer.
  public init() {}

  // Concrete entry points: a generic called from another module runs unspecialized,
  // one protocol call per byte; these let the compiler specialize the body here.
  public mutating func push(_ chunk: [UInt8]) -> [UInt8] { return pushBytes(chunk) }
  public mutating func push(_ chunk: ArraySlice<UInt8>) -> [UInt8] { return pushBytes(chunk) }
  public mutating func push<C: Collection<UInt8>>(_ chunk: C) -> [UInt8] { return pushBytes(chunk) }

  /// Converts the next chunk.
  /// - Returns: The bytes to send; a trailing CR is held back until the next byte is known.
  @inline(__always) private mutating func pushBytes<C: Collection<UInt8>>(_ chunk: C) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(chunk.count + chunk.count / 16)
    for b in chunk {
      if pendingCR {
        pendingCR = false
        out += ASCII.crlf
        atLineStart = true
        if b == ASCII.lf { continue }
      }
      if b == ASCII.cr {
        pendingCR = true
      } else if b == ASCII.lf {
        out += ASCII.crlf
        atLineStart = true
      } else {
        out.append(b)
        atLineStart = false
      }
    }
    return out
  }

  /// Ends the body.
  /// - Returns: The held-back line end, or a CRLF when the body did not end with one; nothing
  ///   for an empty body.
  public mutating func finish() -> [UInt8] {
    if pendingCR || !atLineStart {
      pendingCR = false
      atLineStart = true
      return ASCII.crlf
    }
    return []
  }
}

// MARK: - Transfer encoding

// Chooses how a body goes to the server (gsendmail(8), "THE MESSAGE"): as it is (7bit or BODY=8BITMIME),
// re-encoded as quoted-printable, or refused when it needs re-encoding but is not a
// single-part 7bit/8bit message. Pure function of the scan and the server's EHLO.

/// Why a body that needs re-encoding cannot be re-encoded.
public enum ReencodingRefusal: Error, Equatable, Sendable {
  /// The message is multipart or message/* (RFC 2046 §5: composite types are never encoded).
  case compositeType(String)
  /// The body already has this Content-Transfer-Encoding (neither 7bit nor 8bit).
  case transferEncoding(String)
}

/// How the body goes to the server.
public enum TransferEncodingDecision: Equatable, Sendable {
  /// Unchanged apart from line ends; no BODY parameter.
  case sevenBit
  /// Unchanged apart from line ends, with MAIL FROM's `BODY=8BITMIME` (RFC 6152).
  case eightBitMIME
  /// Re-encoded with QuotedPrintableEncoder and the header rewritten by HeaderPreparer;
  /// `declare8BitMIME` when the header itself holds 8-bit text and the server offers 8BITMIME.
  case quotedPrintable(declare8BitMIME: Bool)
  /// It needs re-encoding but cannot be (the front end refuses the message: exit 65).
  case refuse(ReencodingRefusal)

  /// Decides for a scanned message.
  ///
  /// Re-encoding is needed for a line over 998 octets (RFC 5321 §4.5.3.1.6), or for 8-bit
  /// bytes when the server lacks 8BITMIME. An 8-bit header with a server that lacks 8BITMIME
  /// cannot be helped: it goes as `.sevenBit` (or re-encoded for the body's sake).
  /// - Parameters:
  ///   - fields: The header fields.
  ///   - body: The body statistics.
  ///   - serverSupports8BitMIME: The server advertised 8BITMIME.
  public static func decide(fields: [HeaderField], body: BodyStatistics,
                            serverSupports8BitMIME: Bool) -> TransferEncodingDecision {
    let header8bit = fields.contains { $0.has8bit }
    let needsReencoding = body.longestLine > 998 || (body.has8bit && !serverSupports8BitMIME)
    if needsReencoding {
      if let refusal = reencodingRefusal(fields) { return .refuse(refusal) }
      return .quotedPrintable(declare8BitMIME: header8bit && serverSupports8BitMIME)
    }
    if (body.has8bit || header8bit) && serverSupports8BitMIME { return .eightBitMIME }
    return .sevenBit
  }

  /// Why this header's body cannot be re-encoded, or nil when it can: no MIME header, or a
  /// discrete Content-Type with no Content-Transfer-Encoding or 7bit/8bit.
  static func reencodingRefusal(_ fields: [HeaderField]) -> ReencodingRefusal? {
    if let type = fields.first(where: { $0.hasName("Content-Type") }) {
      let token = leadingToken(type.rawValue, stoppingAt: [UInt8(ascii: "/"), ASCII.semicolon])
      if token == "multipart" || token == "message" {
        return .compositeType(token)
      }
    }
    for cte in fields where cte.hasName("Content-Transfer-Encoding") {
      let token = leadingToken(cte.rawValue, stoppingAt: [ASCII.semicolon])
      if token != "7bit" && token != "8bit" { return .transferEncoding(token) }
    }
    return nil
  }

  /// The lower-cased first token of a MIME field value, comments and white space removed.
  static func leadingToken(_ value: [UInt8], stoppingAt stops: [UInt8]) -> String {
    var out: [UInt8] = []
    var depth = 0
    var i = 0
    while i < value.count {
      let b = value[i]
      if b == ASCII.backslash, depth > 0 {
        i += 1
      } else if b == ASCII.leftParen {
        depth += 1
      } else if b == ASCII.rightParen, depth > 0 {
        depth -= 1
      } else if depth == 0 {
        if stops.contains(b) { break }
        if !ASCII.isWSP(b) { out.append(ASCII.lower(b)) }
      }
      i += 1
    }
    return ASCII.text(out)
  }
}
