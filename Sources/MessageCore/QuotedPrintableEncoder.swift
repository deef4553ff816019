// SPDX-License-Identifier: MIT
// Streaming quoted-printable encoder (RFC 2045 §6.7) for bodies that cannot go as they are.
// Input is meant to have CRLF line ends (LineEndNormalizer's output): each CRLF is a hard line
// break; a lone CR or LF is encoded as =0D / =0A. `=`, controls, 8-bit bytes and white space
// before a line end are encoded; output lines are at most 76 characters before their CRLF,
// with soft line breaks (`=` CRLF). No failure modes.

/// Encodes a body pushed in chunks as quoted-printable.
public struct QuotedPrintableEncoder: Sendable {
  private var held: UInt8?  // last input byte, not written until we know whether a line end follows
  private var sawCR = false
  private var column = 0

  /// Creates an encoder.
  public init() {}

  // Concrete entry points: a generic called from another module runs unspecialized,
  // one protocol call per byte; these let the compiler specialize the body here.
  public mutating func push(_ chunk: [UInt8]) -> [UInt8] { return pushBytes(chunk) }
  public mutating func push(_ chunk: ArraySlice<UInt8>) -> [UInt8] { return pushBytes(chunk) }
  public mutating func push<C: Collection<UInt8>>(_ chunk: C) -> [UInt8] { return pushBytes(chunk) }

  /// Encodes the next chunk.
  /// - Returns: The encoded bytes; up to two input bytes are held back.
  @inline(__always) private mutating func pushBytes<C: Collection<UInt8>>(_ chunk: C) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(chunk.count + chunk.count / 2)
    for b in chunk {
      if sawCR {
        sawCR = false
        if b == ASCII.lf {
          emitHeld(lastOnLine: true, into: &out)
          out += ASCII.crlf
          column = 0
          continue
        }
        shift(ASCII.cr, into: &out)
      }
      if b == ASCII.cr {
        sawCR = true
      } else {
        shift(b, into: &out)
      }
    }
    return out
  }

  /// Ends the body.
  /// - Returns: The held-back bytes, encoded.
  public mutating func finish() -> [UInt8] {
    var out: [UInt8] = []
    if sawCR {
      sawCR = false
      shift(ASCII.cr, into: &out)
    }
    emitHeld(lastOnLine: true, into: &out)
    return out
  }

  private mutating func shift(_ b: UInt8, into out: inout [UInt8]) {
    emitHeld(lastOnLine: false, into: &out)
    held = b
  }

  private mutating func emitHeld(lastOnLine: Bool, into out: inout [UInt8]) {
    guard let b = held else { return }
    held = nil
    let literal = (b >= 33 && b <= 126 && b != ASCII.equals) || (ASCII.isWSP(b) && !lastOnLine)
    let width = literal ? 1 : 3
    // A soft break needs one column for its `=`, unless this is the line's last character.
    if column + width > (lastOnLine ? 76 : 75) {
      out += [ASCII.equals, ASCII.cr, ASCII.lf]
      column = 0
    }
    if literal {
      out.append(b)
    } else {
      let hex = Array("0123456789ABCDEF".utf8)
      out += [ASCII.equals, hex[Int(b >> 4)], hex[Int(b & 15)]]
    }
    column += width
  }
}
