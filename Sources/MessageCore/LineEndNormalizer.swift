// SPDX-License-Identifier: MIT
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
