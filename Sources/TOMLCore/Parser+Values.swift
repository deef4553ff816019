// SPDX-License-Identifier: MIT
// The values of the TOML parser: strings (basic, literal, multi-line), arrays, inline
// tables, and the bare values — booleans, integers, floats, dates and times — which are
// read as one run of bytes and then classified.

extension Parser {
  /// Parses the value at the position into a new node.
  /// - Parameter depth: The node's depth, for the nesting limit.
  /// - Returns: The node.
  mutating func value(depth: Int) throws(TOMLError) -> Int {
    let start = position
    switch peek() {
    case ASCII.quote, ASCII.apostrophe:
      return try newNode(.value(.string(string())), depth: depth, at: start)
    case ASCII.leftBracket:
      return try array(depth: depth)
    case ASCII.leftBrace:
      return try inlineTable(depth: depth)
    default:
      return try newNode(.value(bareValue()), depth: depth, at: start)
    }
  }

  // MARK: - Strings

  /// A basic (`"`) or literal (`'`) string, single-line or multi-line.
  mutating func string() throws(TOMLError) -> String {
    let delimiter = bytes[position]
    let isBasic = delimiter == ASCII.quote
    let isMultiline = isAt(tripleQuote: delimiter)
    position += isMultiline ? 3 : 1
    // A newline right after the opening delimiter is not part of the string.
    if isMultiline { _ = try takeNewline() }
    scratch.removeAll(keepingCapacity: true)
    // Whether the value is in `scratch`; else it is the bytes from `segment` on.
    var rewritten = false
    var segment = position
    while true {
      guard let byte = peek() else { throw error("unterminated string") }
      switch byte {
      case delimiter:
        var run = 1
        if isMultiline {
          while position + run < bytes.count, bytes[position + run] == delimiter { run += 1 }
          if run < 3 {
            position += run
            continue
          }
          // Up to two quotes before the closing three belong to the string.
          guard run <= 5 else { throw error(at: position + 5, "unexpected quote after the end of the string") }
          position += run - 3
        }
        let value: String
        if rewritten {
          scratch.append(contentsOf: bytes[segment..<position])
          value = String(decoding: scratch, as: UTF8.self)
        } else {
          value = String(decoding: UnsafeBufferPointer(rebasing: bytes[segment..<position]), as: UTF8.self)
        }
        position += isMultiline ? 3 : 1
        return value
      case ASCII.backslash where isBasic:
        scratch.append(contentsOf: bytes[segment..<position])
        rewritten = true
        try escape(isMultiline: isMultiline)
        segment = position
      case ASCII.lf where isMultiline:
        position += 1
      case ASCII.cr where isMultiline:
        // CRLF becomes LF.
        scratch.append(contentsOf: bytes[segment..<position])
        rewritten = true
        _ = try takeNewline()
        scratch.append(ASCII.lf)
        segment = position
      case ASCII.lf, ASCII.cr:
        throw error("unterminated string")
      default:
        if ASCII.isControl(byte) { throw controlCharacter(byte, in: "string") }
        position += 1
      }
    }
  }

  /// An escape sequence of a basic string, appended to `scratch`.
  mutating func escape(isMultiline: Bool) throws(TOMLError) {
    let start = position
    position += 1
    guard let letter = peek() else { throw error("unterminated string") }
    position += 1
    switch letter {
    case UInt8(ascii: "b"): scratch.append(0x08)
    case UInt8(ascii: "t"): scratch.append(ASCII.tab)
    case UInt8(ascii: "n"): scratch.append(ASCII.lf)
    case UInt8(ascii: "f"): scratch.append(0x0C)
    case UInt8(ascii: "r"): scratch.append(ASCII.cr)
    case ASCII.quote, ASCII.backslash: scratch.append(letter)
    case UInt8(ascii: "u"): try unicodeEscape(digits: 4, at: start)
    case UInt8(ascii: "U"): try unicodeEscape(digits: 8, at: start)
    case ASCII.space, ASCII.tab, ASCII.lf, ASCII.cr:
      // A line-ending backslash: drop the white space and newlines up to the next text.
      position -= 1
      skipWhitespace()
      guard isMultiline, try takeNewline() else { throw error(at: start, "invalid escape sequence") }
      while true {
        skipWhitespace()
        guard try takeNewline() else { break }
      }
    default:
      throw error(at: start, "invalid escape sequence")
    }
  }

  /// `\uXXXX` or `\UXXXXXXXX`: a Unicode scalar value, appended as UTF-8.
  mutating func unicodeEscape(digits: Int, at start: Int) throws(TOMLError) {
    var value: UInt32 = 0
    for _ in 0..<digits {
      guard let byte = peek(), let digit = Self.digitValue(byte, radix: 16) else {
        throw error(at: start, "\\u and \\U need \(digits == 4 ? "4" : "8") hexadecimal digits")
      }
      value = value << 4 | UInt32(digit)
      position += 1
    }
    guard let scalar = Unicode.Scalar(value) else { throw error(at: start, "escape is not a Unicode scalar value") }
    UTF8.encode(scalar) { scratch.append($0) }
  }

  // MARK: - Arrays and inline tables

  /// `[ value, value, ]` over any number of lines, with comments.
  mutating func array(depth: Int) throws(TOMLError) -> Int {
    let array = try newNode(.staticArray, depth: depth, at: position)
    position += 1
    try skipArraySpace()
    while !take(ASCII.rightBracket) {
      guard peek() != nil else { throw error("unterminated array") }
      let element = try value(depth: depth + 1)
      nodes[array].children.append(element)
      try skipArraySpace()
      if take(ASCII.comma) {
        try skipArraySpace()
        continue
      }
      guard take(ASCII.rightBracket) else {
        throw error(peek() == nil ? "unterminated array" : "expected ',' or ']' after an array element")
      }
      break
    }
    return array
  }

  /// White space, newlines and comments between array elements.
  mutating func skipArraySpace() throws(TOMLError) {
    repeat {
      skipWhitespace()
      try skipComment()
    } while try takeNewline()
  }

  /// `{ key = value, key = value }` on one line.
  mutating func inlineTable(depth: Int) throws(TOMLError) -> Int {
    let table = try newNode(.inlineTable, depth: depth, at: position)
    sections += 1
    let section = sections
    position += 1
    skipWhitespace()
    if take(ASCII.rightBrace) { return table }
    while true {
      try checkInlineTableContinues()
      try keyValue(into: table, section: section)
      skipWhitespace()
      if take(ASCII.rightBrace) { return table }
      guard take(ASCII.comma) else {
        try checkInlineTableContinues()
        throw error("expected ',' or '}' after a value of an inline table")
      }
      skipWhitespace()
      if peek() == ASCII.rightBrace { throw error("trailing comma in an inline table") }
    }
  }

  func checkInlineTableContinues() throws(TOMLError) {
    switch peek() {
    case nil: throw error("unterminated inline table")
    case ASCII.lf, ASCII.cr: throw error("newline in an inline table")
    default: break
    }
  }

  // MARK: - Booleans, numbers, dates and times

  /// A value that is not a string, an array or an inline table: the run of bytes up to white
  /// space, a newline, a comment or the end of an array or inline table.
  mutating func bareValue() throws(TOMLError) -> TOMLValue {
    let start = position
    skipRun()
    guard position > start else { throw error("expected a value") }
    // A date, a space and a time are one value.
    if position - start == 10, Self.looksLikeDate(UnsafeBufferPointer(rebasing: bytes[start..<position])),
      bytes.count - position > 3,
      bytes[position] == ASCII.space, ASCII.isDigit(bytes[position + 1]), ASCII.isDigit(bytes[position + 2]),
      bytes[position + 3] == ASCII.colon
    {
      position += 1
      skipRun()
    }
    let text = UnsafeBufferPointer(rebasing: bytes[start..<position])
    if Self.looksLikeDate(text) || Self.looksLikeTime(text) {
      switch TOMLDateTime.parse(text) {
      case .success(let dateTime): return .dateTime(dateTime)
      case .failure(.malformed): throw error(at: start, "invalid date or time")
      case .failure(.outOfRange(let field)): throw error(at: start, "\(field) out of range")
      }
    }
    if Self.equal(text, "true") { return .boolean(true) }
    if Self.equal(text, "false") { return .boolean(false) }
    guard let number = try number(text, at: start) else { throw error(at: start, "invalid value") }
    return number
  }

  mutating func skipRun() {
    while let byte = peek() {
      switch byte {
      case ASCII.space, ASCII.tab, ASCII.lf, ASCII.cr, ASCII.hash, ASCII.comma, ASCII.rightBracket, ASCII.rightBrace:
        return
      default:
        position += 1
      }
    }
  }

  /// `dddd-` at the start.
  static func looksLikeDate(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
    text.count >= 5 && text[4] == ASCII.minus && text[0..<4].allSatisfy(ASCII.isDigit)
  }

  /// `dd:` at the start.
  static func looksLikeTime(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
    text.count >= 3 && text[2] == ASCII.colon && text[0..<2].allSatisfy(ASCII.isDigit)
  }

  /// Whether the text is exactly `word`.
  static func equal(_ text: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
    word.withUTF8Buffer { text.elementsEqual($0) }
  }

  /// An integer (decimal, `0x`, `0o`, `0b`) or a float (with fraction or exponent, `inf`, `nan`).
  /// - Returns: nil when the text is neither.
  /// - Throws: `TOMLError` for an integer outside Int64.
  func number(_ text: UnsafeBufferPointer<UInt8>, at start: Int) throws(TOMLError) -> TOMLValue? {
    var i = 0
    let sign = text[0] == ASCII.plus || text[0] == ASCII.minus ? text[0] : nil
    if sign != nil { i = 1 }
    let unsigned = UnsafeBufferPointer(rebasing: text[i...])
    if Self.equal(unsigned, "inf") { return .float(sign == ASCII.minus ? -.infinity : .infinity) }
    if Self.equal(unsigned, "nan") { return .float(sign == ASCII.minus ? -.nan : .nan) }
    if sign == nil, text.count > 2, text[0] == ASCII.zero {
      let radix: UInt64? =
        switch text[1] {
        case UInt8(ascii: "x"): 16
        case UInt8(ascii: "o"): 8
        case UInt8(ascii: "b"): 2
        default: nil
        }
      if let radix {
        guard Self.digitRun(text, from: 2, radix: radix) == text.count else { return nil }
        return try integer(text[2...], radix: radix, limit: UInt64(Int64.max), negative: false, at: start)
      }
    }
    guard let integerEnd = Self.digitRun(text, from: i, radix: 10) else { return nil }
    // No leading zeros: `0`, but not `01` or `0_1`.
    guard text[i] != ASCII.zero || integerEnd == i + 1 else { return nil }
    var end = integerEnd
    var isFloat = false
    if end < text.count, text[end] == ASCII.dot {
      guard let fractionEnd = Self.digitRun(text, from: end + 1, radix: 10) else { return nil }
      end = fractionEnd
      isFloat = true
    }
    if end < text.count, text[end] == UInt8(ascii: "e") || text[end] == UInt8(ascii: "E") {
      end += 1
      if end < text.count, text[end] == ASCII.plus || text[end] == ASCII.minus { end += 1 }
      guard let exponentEnd = Self.digitRun(text, from: end, radix: 10) else { return nil }
      end = exponentEnd
      isFloat = true
    }
    guard end == text.count else { return nil }
    if isFloat {
      // The grammar is checked; Double reads the text without underscores.
      let digits = String(decoding: text.lazy.filter { $0 != ASCII.underscore }, as: UTF8.self)
      guard let value = Double(digits) else { return nil }
      return .float(value)
    }
    let limit = sign == ASCII.minus ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
    return try integer(text[i...], radix: 10, limit: limit, negative: sign == ASCII.minus, at: start)
  }

  /// The digits (underscores skipped) as an Int64 whose magnitude is at most `limit`.
  func integer(
    _ digits: Slice<UnsafeBufferPointer<UInt8>>, radix: UInt64, limit: UInt64, negative: Bool, at start: Int
  ) throws(TOMLError) -> TOMLValue {
    var magnitude: UInt64 = 0
    for byte in digits where byte != ASCII.underscore {
      let (shifted, overflow) = magnitude.multipliedReportingOverflow(by: radix)
      let (sum, carry) = shifted.addingReportingOverflow(UInt64(Self.digitValue(byte, radix: radix)!))
      guard !overflow, !carry, sum <= limit else { throw error(at: start, "integer does not fit in 64 bits") }
      magnitude = sum
    }
    return .integer(negative ? Int64(bitPattern: 0 &- magnitude) : Int64(magnitude))
  }

  /// The end of a run of digits with single underscores between them, starting at `from`.
  /// - Returns: nil when there is no digit at `from`.
  static func digitRun(_ text: UnsafeBufferPointer<UInt8>, from start: Int, radix: UInt64) -> Int? {
    guard start < text.count, digitValue(text[start], radix: radix) != nil else { return nil }
    var end = start + 1
    while end < text.count {
      if digitValue(text[end], radix: radix) != nil {
        end += 1
      } else if text[end] == ASCII.underscore, end + 1 < text.count, digitValue(text[end + 1], radix: radix) != nil {
        end += 2
      } else {
        break
      }
    }
    return end
  }

  static func digitValue(_ byte: UInt8, radix: UInt64) -> UInt8? {
    let value: UInt8
    switch byte {
    case ASCII.zero...ASCII.nine: value = byte - ASCII.zero
    case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): value = byte - UInt8(ascii: "A") + 10
    default: return nil
    }
    return UInt64(value) < radix ? value : nil
  }
}
