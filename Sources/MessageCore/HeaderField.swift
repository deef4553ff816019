// SPDX-License-Identifier: MIT
// One header field of a message, kept as the physical lines that were read so that it can be
// sent back byte for byte. Pure value type: building one never fails.

/// A header field (RFC 5322 §2.2) as read: its physical lines, name and unfolded value.
public struct HeaderField: Equatable, Hashable, Sendable {
  /// The physical lines of the field without their line ends; lines after the first are
  /// folded continuation lines and start with SP or HTAB.
  public let lines: [[UInt8]]
  /// Number of bytes of the name in the first line (the colon follows, maybe after WSP).
  private let nameLength: Int
  /// Offset of the byte after the colon in the first line.
  private let valueStart: Int

  /// Builds a field from lines already known to start with `name *WSP ":"`.
  init(lines: [[UInt8]], nameLength: Int, valueStart: Int) {
    self.lines = lines
    self.nameLength = nameLength
    self.valueStart = valueStart
  }

  /// Builds a new single-line field `Name: value`.
  /// - Parameters:
  ///   - name: The field name; it must be ftext (printable ASCII without a colon).
  ///   - value: The value; a leading space is added, and any CR or LF is replaced by a space
  ///     so that the value cannot start a new field.
  public init(name: String, value: String) {
    let n = Array(name.utf8)
    let v = value.utf8.map { $0 == ASCII.cr || $0 == ASCII.lf ? ASCII.space : $0 }
    self.init(lines: [n + [ASCII.colon, ASCII.space] + v], nameLength: n.count,
              valueStart: n.count + 1)
  }

  /// Builds a new folded field from its physical lines (the first holds `Name:`).
  init(name: String, physicalLines: [[UInt8]]) {
    let n = Array(name.utf8)
    self.init(lines: physicalLines, nameLength: n.count, valueStart: n.count + 1)
  }

  /// The same field in other physical lines (folded differently); nil when the first line
  /// would no longer hold the name and the colon.
  func refolded(into newLines: [[UInt8]]) -> HeaderField? {
    guard let first = newLines.first, first.count >= valueStart else { return nil }
    return HeaderField(lines: newLines, nameLength: nameLength, valueStart: valueStart)
  }

  /// The field name as written (without trailing white space), e.g. `Subject`.
  public var name: String { ASCII.text(lines[0][0..<nameLength]) }

  /// The raw value after the colon, unfolded (RFC 5322 §2.2.3: the line breaks removed),
  /// white space kept.
  public var rawValue: [UInt8] {
    var out = Array(lines[0][valueStart...])
    for line in lines.dropFirst() { out += line }
    return out
  }

  /// The unfolded value as text without leading and trailing white space; invalid UTF-8 is
  /// replaced by U+FFFD.
  public var value: String {
    let raw = rawValue
    var lo = raw.startIndex
    var hi = raw.endIndex
    while lo < hi, ASCII.isWSP(raw[lo]) { lo += 1 }
    while hi > lo, ASCII.isWSP(raw[hi - 1]) { hi -= 1 }
    return ASCII.text(raw[lo..<hi])
  }

  /// Whether the field's name is `other`, compared case-insensitively (RFC 5322 §1.2.2).
  public func hasName(_ other: String) -> Bool {
    ASCII.equalsIgnoringCase(lines[0][0..<nameLength], other.utf8)
  }

  /// Whether the name starts with `prefix`, compared case-insensitively.
  func nameHasPrefix(_ prefix: String) -> Bool {
    let p = Array(prefix.utf8)
    return nameLength >= p.count && ASCII.equalsIgnoringCase(lines[0][0..<p.count], p)
  }

  /// The field as it goes on the wire: each physical line followed by CRLF.
  public var wireBytes: [UInt8] {
    var out: [UInt8] = []
    for line in lines { out += line; out += ASCII.crlf }
    return out
  }

  /// Whether any byte of the field is outside US-ASCII.
  public var has8bit: Bool { lines.contains { $0.contains { $0 >= 0x80 } } }

  /// Parses the start of a header line: `1*ftext *WSP ":"` (RFC 5322 §3.6.8 and the
  /// obsolete white space before the colon of §4.5).
  /// - Returns: The name length and the offset after the colon, or nil for a non-header line.
  static func fieldStart(_ line: ArraySlice<UInt8>) -> (nameLength: Int, valueStart: Int)? {
    var i = line.startIndex
    while i < line.endIndex, ASCII.isFtext(line[i]) { i += 1 }
    let nameLength = i - line.startIndex
    guard nameLength > 0 else { return nil }
    while i < line.endIndex, ASCII.isWSP(line[i]) { i += 1 }
    guard i < line.endIndex, line[i] == ASCII.colon else { return nil }
    return (nameLength, i + 1 - line.startIndex)
  }
}
