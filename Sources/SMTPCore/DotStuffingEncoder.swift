// SPDX-License-Identifier: MIT
// SMTP dot-stuffing of message data (RFC 5321 §4.5.2), streaming: chunks in any size,
// a line may be split anywhere. Input must already have CRLF line ends (the message
// preparation does that); this encoder cannot fail.

/// Doubles the `.` that starts any line, and produces the end-of-data terminator.
///
/// Write `encode(chunk)` for each chunk of the prepared message, then `finish()`.
public struct DotStuffingEncoder: Sendable {
  private var atLineStart = true
  private var previous: UInt8?
  private var last: UInt8?

  /// Creates an encoder positioned at the start of the data.
  public init() {}

  /// Encodes the next chunk of message bytes.
  /// - Returns: The bytes to send, with a `.` added before every line that starts with one.
  // Concrete entry points: a generic called from another module runs unspecialized,
  // one protocol call per byte; these let the compiler specialize the body here.
  public mutating func encode(_ chunk: [UInt8]) -> [UInt8] { encodeBytes(chunk) }
  public mutating func encode(_ chunk: ArraySlice<UInt8>) -> [UInt8] { encodeBytes(chunk) }
  public mutating func encode(_ chunk: some Sequence<UInt8>) -> [UInt8] { encodeBytes(chunk) }

  @inline(__always) private mutating func encodeBytes(_ chunk: some Sequence<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(chunk.underestimatedCount + 8)
    for byte in chunk {
      if atLineStart && byte == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
      out.append(byte)
      atLineStart = byte == UInt8(ascii: "\n")
      previous = last
      last = byte
    }
    return out
  }

  /// Ends the data.
  /// - Returns: `.\r\n`, preceded by `\r\n` unless the data was empty or ended with CRLF.
  public func finish() -> [UInt8] {
    let endedWithCRLF =
      last == nil || (previous == UInt8(ascii: "\r") && last == UInt8(ascii: "\n"))
    return (endedWithCRLF ? [] : [0x0D, 0x0A]) + [UInt8(ascii: "."), 0x0D, 0x0A]
  }
}
