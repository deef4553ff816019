// SPDX-License-Identifier: MIT
// Feeds a streaming parser its input three ways (whole, line by line, one byte at a
// time) so that every test checks that chunking cannot change a result (h11's `tr`).
/// The ways a test cuts its input into chunks.
public enum Feeding: String, CaseIterable, Sendable, CustomStringConvertible {
  case whole
  case lineByLine = "line by line"
  case byteByByte = "byte by byte"

  public var description: String { rawValue }

  /// The input cut into chunks; line chunks end after each LF.
  public func chunks(_ bytes: [UInt8]) -> [[UInt8]] {
    switch self {
    case .whole:
      return [bytes]
    case .byteByByte:
      return bytes.map { [$0] }
    case .lineByLine:
      var out: [[UInt8]] = []
      var line: [UInt8] = []
      for b in bytes {
        line.append(b)
        if b == 0x0A {
          out.append(line)
          line = []
        }
      }
      if !line.isEmpty { out.append(line) }
      return out
    }
  }
}
