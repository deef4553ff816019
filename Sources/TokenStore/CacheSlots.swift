// SPDX-License-Identifier: MIT
// The layout of the system token cache: two 4 KiB slots, each a header line
// `gsendmail-token-slot 2 GENERATION LENGTH CHECKSUM` followed by the cache's JSON and
// space padding. The checksum covers generation, length and content, so that no mix of
// a new header and an old slot can pass for a newer one. A writer that may not replace the file (anyone but root: the file must
// stay root's) rewrites the older slot in place; a write cut short (a crash, a file-size
// limit, a kill) spoils only that slot, whose checksum then fails, and readers take the
// newest valid slot. Pure.

/// The two-slot form of a cache file.
public enum CacheSlots {
  static let slotSize = 4096
  static let fileSize = 2 * slotSize
  static let magic = Array("gsendmail-token-slot 2 ".utf8)

  /// Whether the bytes are in this layout (else they are a plain JSON cache).
  public static func isSlotted(_ bytes: [UInt8]) -> Bool { bytes.starts(with: magic) }

  /// One slot holding `content`, or nil when it does not fit.
  static func slot(_ content: [UInt8], generation: UInt64) -> [UInt8]? {
    let sum = checksum(generation: generation, content: content)
    let header = magic + Array("\(generation) \(content.count) \(String(sum, radix: 16))\n".utf8)
    guard header.count + content.count <= slotSize else { return nil }
    return header + content + [UInt8](repeating: 0x20, count: slotSize - header.count - content.count)
  }

  /// A whole file: `content` in the first slot, the second one empty.
  static func file(_ content: [UInt8], generation: UInt64 = 1) -> [UInt8]? {
    slot(content, generation: generation).map { $0 + [UInt8](repeating: 0x20, count: slotSize) }
  }

  /// The newest valid slot: its index, generation and content; nil when neither is valid.
  static func newest(_ file: [UInt8]) -> (index: Int, generation: UInt64, content: [UInt8])? {
    var best: (index: Int, generation: UInt64, content: [UInt8])?
    for index in 0..<2 where file.count >= (index + 1) * slotSize {
      guard let (generation, content) = decode(file[(index * slotSize)..<((index + 1) * slotSize)]) else { continue }
      if generation > best?.generation ?? 0 { best = (index, generation, content) }
    }
    return best
  }

  /// A slot's generation and content, when its header is well formed and its checksum holds.
  static func decode(_ slot: ArraySlice<UInt8>) -> (UInt64, [UInt8])? {
    guard slot.starts(with: magic), let newline = slot.firstIndex(of: 0x0A) else { return nil }
    let fields = slot[(slot.startIndex + magic.count)..<newline].split(separator: 0x20)
    guard fields.count == 3, let generation = UInt64(String(decoding: fields[0], as: UTF8.self)),
      let length = Int(String(decoding: fields[1], as: UTF8.self)),
      let sum = UInt64(String(decoding: fields[2], as: UTF8.self), radix: 16),
      length >= 0, length <= slot.endIndex - newline - 1,
      generation < UInt64.max  // the next writer adds one
    else { return nil }
    let content = Array(slot[(newline + 1)..<(newline + 1 + length)])
    return checksum(generation: generation, content: content) == sum ? (generation, content) : nil
  }

  /// FNV-1a, 64 bits, over `GENERATION LENGTH ` and the content: enough to tell a whole
  /// slot from a torn or mixed one.
  static func checksum(generation: UInt64, content: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in Array("\(generation) \(content.count) ".utf8) + content {
      hash ^= UInt64(byte)
      hash = hash &* 0x100_0000_01b3
    }
    return hash
  }
}
