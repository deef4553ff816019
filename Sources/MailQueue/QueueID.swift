// SPDX-License-Identifier: MIT
// Queue IDs: unique without coordination (time in base 32 + random), and
// validated before they ever become part of a path. Anything that is not 16–24
// characters of [0-9A-Za-z] is refused, so `../../etc/passwd` can never be one.

/// The identifier of a queue entry, also the base name of its files.
public struct QueueID: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The identifier text (16 to 24 characters of `[0-9A-Za-z]`).
  public let rawValue: String

  /// The shortest valid ID.
  public static let minimumLength = 16
  /// The longest valid ID.
  public static let maximumLength = 24

  /// Validates text as a queue ID (for `gsendmailctl queue show ID` and file names).
  /// - Throws: `QueueError.invalidID` for anything but 16–24 characters of `[0-9A-Za-z]`.
  public init(_ text: String) throws(QueueError) {
    guard QueueID.isValid(text) else { throw .invalidID(text) }
    rawValue = text
  }

  /// For text already known to be valid.
  init(unchecked text: String) { rawValue = text }

  /// Whether text is a valid queue ID.
  public static func isValid(_ text: String) -> Bool {
    let bytes = Array(text.utf8)
    guard bytes.count >= minimumLength, bytes.count <= maximumLength else { return false }
    return bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) }
  }

  private static let base32 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUV".utf8)
  private static let alphanumerics = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

  /// Makes a new ID: 7 base-32 digits of the seconds, 4 of the microseconds (so IDs sort
  /// by creation time), then 8 random alphanumerics (19 characters).
  /// - Parameters:
  ///   - seconds: Seconds since the epoch.
  ///   - microseconds: The sub-second part, 0..<1_000_000.
  ///   - generator: The source of randomness.
  public static func generate(
    seconds: Int, microseconds: Int, using generator: inout some RandomNumberGenerator
  ) -> QueueID {
    var out: [UInt8] = []
    out.reserveCapacity(19)
    for shift in stride(from: 30, through: 0, by: -5) {
      out.append(base32[(max(seconds, 0) >> shift) & 31])
    }
    let micro = min(max(microseconds, 0), 999_999)
    for shift in stride(from: 15, through: 0, by: -5) {
      out.append(base32[(micro >> shift) & 31])
    }
    for _ in 0..<8 {
      out.append(alphanumerics[Int(generator.next(upperBound: UInt64(alphanumerics.count)))])
    }
    return QueueID(unchecked: String(decoding: out, as: UTF8.self))
  }

  public static func < (lhs: QueueID, rhs: QueueID) -> Bool { lhs.rawValue < rhs.rawValue }
  public var description: String { rawValue }
}

/// A queue ID packed into 24 bytes without a heap allocation (a `QueueID` of 19
/// characters is a heap string, about 64 bytes with its array slot): the runner and
/// `mailq` hold one per entry of queues of 100,000 entries. The bytes are kept big-endian
/// and zero-padded, so packed IDs sort exactly as their text does.
public struct PackedQueueID: Comparable, Hashable, Sendable, CustomStringConvertible {
  private var high: UInt64
  private var middle: UInt64
  private var low: UInt64

  /// Packs a valid ID.
  public init(_ id: QueueID) {
    var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
    withUnsafeMutableBytes(of: &words) { raw in
      for (index, byte) in id.rawValue.utf8.enumerated() { raw[index] = byte }
    }
    (high, middle, low) = (UInt64(bigEndian: words.0), UInt64(bigEndian: words.1), UInt64(bigEndian: words.2))
  }

  /// Packs the text of an ID; nil when it is not a valid one.
  init?(bytes: UnsafeRawBufferPointer) {
    guard bytes.count >= QueueID.minimumLength, bytes.count <= QueueID.maximumLength,
      bytes.allSatisfy(PackedQueueID.isIDByte)
    else { return nil }
    var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
    withUnsafeMutableBytes(of: &words) { raw in raw.copyMemory(from: bytes) }
    (high, middle, low) = (UInt64(bigEndian: words.0), UInt64(bigEndian: words.1), UInt64(bigEndian: words.2))
  }

  static func isIDByte(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
  }

  /// Runs `body` over the ID's text (16 to 24 bytes).
  func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
    var words = (high.bigEndian, middle.bigEndian, low.bigEndian)
    return try withUnsafeBytes(of: &words) { raw in
      var count = QueueID.maximumLength
      while count > 0 && raw[count - 1] == 0 { count -= 1 }
      return try body(UnsafeRawBufferPointer(rebasing: raw[..<count]))
    }
  }

  /// The ID.
  public var id: QueueID { QueueID(unchecked: withBytes { String(decoding: $0, as: UTF8.self) }) }

  public var description: String { id.rawValue }

  public static func < (lhs: PackedQueueID, rhs: PackedQueueID) -> Bool {
    (lhs.high, lhs.middle, lhs.low) < (rhs.high, rhs.middle, rhs.low)
  }
}
