// SPDX-License-Identifier: MIT
// The DATA phase reader (RFC 5321 §4.1.1.4, §4.5.2): un-dot-stuffs lines until the
// `CRLF.CRLF` terminator. Pure, fed in chunks of any size. Memory is bounded by the
// size limit: past it the bytes are counted and dropped, and the message is reported
// as oversized once the terminator arrives.

/// Reads a message body in the DATA phase.
public struct MessageDataReader: Sendable {
  /// The outcome of feeding bytes.
  public enum Progress: Equatable, Sendable {
    /// The terminator has not been seen yet; every byte was consumed.
    case needMore
    /// The terminator ended at this offset of the fed bytes; the bytes after it belong
    /// to the next command.
    case complete(consumed: Int)
  }

  /// The size limit in bytes (after un-dot-stuffing).
  public let limit: Int
  /// The message so far, empty once it went over the limit.
  public private(set) var data: [UInt8] = []
  /// Whether the message went over the limit.
  public private(set) var isOversized = false

  /// Where the previous chunk stopped: at the start of a line, or holding the first
  /// bytes of a line that may be the terminator (`.` or `.CR`).
  private var atLineStart = true
  private var held: [UInt8] = []

  /// Creates a reader.
  /// - Parameter limit: The largest message kept, in bytes.
  public init(limit: Int) {
    self.limit = limit
  }

  /// Feeds received bytes.
  /// - Parameter chunk: The bytes, possibly followed by the next commands.
  /// - Returns: Whether the terminator was found, and where.
  public mutating func feed(_ chunk: ArraySlice<UInt8>) -> Progress {
    let heldCount = held.count
    let input: ArraySlice<UInt8> = heldCount == 0 ? chunk : ArraySlice(held + chunk)
    held.removeAll()
    var index = input.startIndex
    while index < input.endIndex {
      if atLineStart {
        if input[index] == UInt8(ascii: ".") {
          let available = input.endIndex - index
          if available < 2 || (available < 3 && input[index + 1] == 13) {
            held = Array(input[index...])
            return .needMore
          }
          if input[index + 1] == 13 && input[index + 2] == 10 {
            let end = index + 3 - input.startIndex - heldCount
            return .complete(consumed: end)
          }
          index += 1  // the stuffed dot
        }
        atLineStart = false
      }
      let lineEnd: Int
      if let newline = input[index...].firstIndex(of: 10) {
        lineEnd = newline + 1
        atLineStart = true
      } else {
        lineEnd = input.endIndex
      }
      append(input[index..<lineEnd])
      index = lineEnd
    }
    return .needMore
  }

  private mutating func append(_ bytes: ArraySlice<UInt8>) {
    if isOversized { return }
    if data.count + bytes.count > limit {
      isOversized = true
      data = []
    } else {
      data += bytes
    }
  }
}
