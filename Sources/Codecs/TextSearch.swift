// SPDX-License-Identifier: MIT
// Substring search on UTF-8 bytes. The standard library's `contains(_:)` and
// `split(separator:)` for string arguments live in _StringProcessing, and calling
// them links its regex engine (and its 3,000 start-up relocations) into every program.
// The texts searched here are protocol and file-format strings, where byte equality
// is the right comparison.

extension StringProtocol {
  /// Whether `needle` occurs in this text (byte-wise on UTF-8; an empty needle occurs).
  public func containsText(_ needle: String) -> Bool {
    firstByteOffset(of: needle) != nil
  }

  /// The text with every occurrence of `target` (non-empty) replaced by `replacement`,
  /// scanning left to right without overlaps.
  public func replacingText(_ target: String, with replacement: String) -> String {
    precondition(!target.isEmpty, "replacingText needs a non-empty target")
    let bytes = Array(utf8)
    let pattern = Array(target.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = 0
    while i < bytes.count {
      if i + pattern.count <= bytes.count && bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
        out += replacement.utf8
        i += pattern.count
      } else {
        out.append(bytes[i])
        i += 1
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  private func firstByteOffset(of needle: String) -> Int? {
    let pattern = Array(needle.utf8)
    if pattern.isEmpty { return 0 }
    let bytes = Array(utf8)
    guard bytes.count >= pattern.count else { return nil }
    for start in 0...(bytes.count - pattern.count)
    where bytes[start] == pattern[0] && bytes[start..<(start + pattern.count)].elementsEqual(pattern) {
      return start
    }
    return nil
  }
}
