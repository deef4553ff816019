// SPDX-License-Identifier: MIT
// Helpers shared by the libFuzzer targets: a trap that names the broken invariant, and a
// chunker that splits an input the same way on every run of the same bytes.

/// A broken invariant: the trap makes libFuzzer save the input that caused it. (Not
/// `preconditionFailure`, whose message an optimised build drops.)
public func trap(_ why: String) -> Never {
  fatalError(why)
}

/// Splits a byte array into chunks of pseudo-random sizes (1…16 bytes mostly, now and
/// then up to 600), drawn from a generator seeded by `seed`, so that a saved input
/// replays with the same chunking.
public struct Chunker: Sequence, IteratorProtocol {
  private let bytes: [UInt8]
  private var index = 0
  private var state: UInt64

  /// - Parameters:
  ///   - bytes: What to split.
  ///   - seed: Chooses the sequence of chunk sizes.
  public init(_ bytes: [UInt8], seed: UInt8) {
    self.bytes = bytes
    self.state = 0x9E37_79B9_7F4A_7C15 &* (UInt64(seed) &+ 1)
  }

  public mutating func next() -> ArraySlice<UInt8>? {
    guard index < bytes.count else { return nil }
    // xorshift64*: cheap and deterministic.
    state ^= state >> 12
    state ^= state << 25
    state ^= state >> 27
    let draw = state &* 0x2545_F491_4F6C_DD1D
    let size = draw % 8 == 0 ? Int((draw >> 32) % 600) + 1 : Int((draw >> 40) % 16) + 1
    let end = Swift.min(bytes.count, index + size)
    defer { index = end }
    return bytes[index..<end]
  }
}
