// SPDX-License-Identifier: MIT
// A small, bounded JSON (RFC 8259) reader and writer for the documents OAuth needs:
// token responses, error objects, Google's client-secret and service-account files.
// Pure. Failure policy: every malformed, truncated or oversized input throws a
// `JSONError` naming the first problem and its byte offset; nothing traps, nothing
// grows past `maximumBytes` or `maximumDepth`. Error text never quotes the input.

/// A parsed JSON value. Numbers keep their source text, so large integers lose nothing.
public enum JSONValue: Equatable, Sendable {
  case string(String)
  /// The number's text as written (`3599`, `1.5e3`).
  case number(String)
  case bool(Bool)
  case null
  /// Members in document order; a later duplicate key wins in `subscript`.
  case object([(key: String, value: JSONValue)])
  case array([JSONValue])

  public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
    switch (lhs, rhs) {
    case (.string(let a), .string(let b)), (.number(let a), .number(let b)): return a == b
    case (.bool(let a), .bool(let b)): return a == b
    case (.null, .null): return true
    case (.array(let a), .array(let b)): return a == b
    case (.object(let a), .object(let b)):
      return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    default: return false
    }
  }

  /// The member named `key` of an object (the last one when repeated), else nil.
  public subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.last { $0.key == key }?.value
  }

  /// The string, if this is a string.
  public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  /// The value as an integer, if this is a number without fraction or exponent that
  /// fits in `Int` (or a string holding one, as some servers send `"3599"`).
  public var intValue: Int? {
    switch self {
    case .number(let text), .string(let text): return Int(text)
    default: return nil
    }
  }

  /// A short name of the kind of value, for error messages.
  public var kindName: String {
    switch self {
    case .string: return "a string"
    case .number: return "a number"
    case .bool: return "a boolean"
    case .null: return "null"
    case .object: return "an object"
    case .array: return "an array"
    }
  }
}

/// Why a JSON document could not be read.
public enum JSONError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The document is longer than the limit.
  case tooLarge(limit: Int)
  /// The document ends in the middle of a value.
  case truncated
  /// Nesting deeper than the limit.
  case tooDeep(limit: Int)
  /// A byte that cannot start or continue a value here.
  case unexpected(offset: Int)
  /// A string with a bad escape, a control character or invalid UTF-8.
  case invalidString(offset: Int)
  /// A number that does not follow the JSON grammar.
  case invalidNumber(offset: Int)
  /// Something other than white space after the value.
  case trailingData(offset: Int)

  public var description: String {
    switch self {
    case .tooLarge(let limit): return "JSON document larger than \(limit) bytes"
    case .truncated: return "JSON document is truncated"
    case .tooDeep(let limit): return "JSON nested deeper than \(limit) levels"
    case .unexpected(let offset): return "not JSON (unexpected byte at offset \(offset))"
    case .invalidString(let offset): return "invalid JSON string at offset \(offset)"
    case .invalidNumber(let offset): return "invalid JSON number at offset \(offset)"
    case .trailingData(let offset):
      return "unexpected data after the JSON value at offset \(offset)"
    }
  }
}

/// Parses and writes JSON.
public enum JSON {
  /// The default size limit: far above any token response or key file.
  public static let defaultMaximumBytes = 256 * 1024
  /// The default nesting limit (a client-secret file needs 3).
  public static let defaultMaximumDepth = 16

  /// Parses one JSON document.
  /// - Parameters:
  ///   - bytes: UTF-8 text (a leading byte-order mark is skipped).
  ///   - maximumBytes: Longer input is refused before any parsing.
  ///   - maximumDepth: Deeper nesting of objects and arrays is refused.
  /// - Returns: The value.
  /// - Throws: `JSONError`.
  public static func parse(
    _ bytes: [UInt8], maximumBytes: Int = defaultMaximumBytes,
    maximumDepth: Int = defaultMaximumDepth
  ) throws(JSONError) -> JSONValue {
    guard bytes.count <= maximumBytes else { throw .tooLarge(limit: maximumBytes) }
    var parser = Parser(bytes: bytes, maximumDepth: maximumDepth)
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.index = 3 }
    parser.skipSpace()
    let value = try parser.value(depth: 0)
    parser.skipSpace()
    guard parser.index == bytes.count else { throw .trailingData(offset: parser.index) }
    return value
  }

  /// Parses UTF-8 text (see `parse(_:maximumBytes:maximumDepth:)` on bytes).
  public static func parse(_ text: String, maximumBytes: Int = defaultMaximumBytes)
    throws(JSONError)
    -> JSONValue
  {
    try parse(Array(text.utf8), maximumBytes: maximumBytes)
  }

  /// Writes a value compactly (no spaces), members in the given order.
  public static func serialize(_ value: JSONValue) -> String {
    var out = ""
    write(value, to: &out)
    return out
  }

  private static func write(_ value: JSONValue, to out: inout String) {
    switch value {
    case .string(let s): out += quoted(s)
    case .number(let n): out += n
    case .bool(let b): out += b ? "true" : "false"
    case .null: out += "null"
    case .array(let items):
      out += "["
      for (i, item) in items.enumerated() {
        if i > 0 { out += "," }
        write(item, to: &out)
      }
      out += "]"
    case .object(let members):
      out += "{"
      for (i, member) in members.enumerated() {
        if i > 0 { out += "," }
        out += quoted(member.key)
        out += ":"
        write(member.value, to: &out)
      }
      out += "}"
    }
  }

  /// A JSON string literal for `s` (RFC 8259 §7), escaping `"`, `\` and control characters.
  public static func quoted(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      // Control characters must be escaped (RFC 8259 §7); DEL and the line and paragraph
      // separators are escaped too, so the output is safe on a terminal and in JavaScript.
      case let c where c.value < 0x20 || c.value == 0x7f || c.value == 0x2028 || c.value == 0x2029:
        let hex = String(c.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}

private struct Parser {
  let bytes: [UInt8]
  let maximumDepth: Int
  var index = 0

  init(bytes: [UInt8], maximumDepth: Int) {
    self.bytes = bytes
    self.maximumDepth = maximumDepth
  }

  mutating func skipSpace() {
    while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
  }

  func peek() throws(JSONError) -> UInt8 {
    guard index < bytes.count else { throw .truncated }
    return bytes[index]
  }

  mutating func value(depth: Int) throws(JSONError) -> JSONValue {
    switch try peek() {
    case UInt8(ascii: "{"): return try object(depth: depth + 1)
    case UInt8(ascii: "["): return try array(depth: depth + 1)
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"):
      try literal("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try literal("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try literal("null")
      return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
    default: throw .unexpected(offset: index)
    }
  }

  mutating func literal(_ word: String) throws(JSONError) {
    for expected in word.utf8 {
      guard index < bytes.count else { throw .truncated }
      guard bytes[index] == expected else { throw .unexpected(offset: index) }
      index += 1
    }
  }

  mutating func object(depth: Int) throws(JSONError) -> JSONValue {
    guard depth <= maximumDepth else { throw .tooDeep(limit: maximumDepth) }
    index += 1  // {
    var members: [(key: String, value: JSONValue)] = []
    skipSpace()
    if try peek() == UInt8(ascii: "}") {
      index += 1
      return .object(members)
    }
    while true {
      skipSpace()
      guard try peek() == UInt8(ascii: "\"") else { throw .unexpected(offset: index) }
      let key = try string()
      skipSpace()
      guard try peek() == UInt8(ascii: ":") else { throw .unexpected(offset: index) }
      index += 1
      skipSpace()
      members.append((key, try value(depth: depth)))
      skipSpace()
      switch try peek() {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "}"):
        index += 1
        return .object(members)
      default: throw .unexpected(offset: index)
      }
    }
  }

  mutating func array(depth: Int) throws(JSONError) -> JSONValue {
    guard depth <= maximumDepth else { throw .tooDeep(limit: maximumDepth) }
    index += 1  // [
    var items: [JSONValue] = []
    skipSpace()
    if try peek() == UInt8(ascii: "]") {
      index += 1
      return .array(items)
    }
    while true {
      skipSpace()
      items.append(try value(depth: depth))
      skipSpace()
      switch try peek() {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "]"):
        index += 1
        return .array(items)
      default: throw .unexpected(offset: index)
      }
    }
  }

  mutating func number() throws(JSONError) -> String {
    let start = index
    func digits(_ p: inout Parser) -> Int {
      var n = 0
      while p.index < p.bytes.count,
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p.bytes[p.index])
      {
        p.index += 1
        n += 1
      }
      return n
    }
    if bytes[index] == UInt8(ascii: "-") { index += 1 }
    guard index < bytes.count else { throw .truncated }
    if bytes[index] == UInt8(ascii: "0") {
      index += 1
    } else if digits(&self) == 0 {
      throw .invalidNumber(offset: start)
    }
    if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
      index += 1
      guard index < bytes.count else { throw .truncated }
      guard digits(&self) > 0 else { throw .invalidNumber(offset: start) }
    }
    if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
      index += 1
      if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")
      {
        index += 1
      }
      guard index < bytes.count else { throw .truncated }
      guard digits(&self) > 0 else { throw .invalidNumber(offset: start) }
    }
    return String(decoding: bytes[start..<index], as: UTF8.self)
  }

  mutating func string() throws(JSONError) -> String {
    let start = index
    index += 1  // opening quote
    var out: [UInt8] = []
    while true {
      guard index < bytes.count else { throw .truncated }
      let byte = bytes[index]
      switch byte {
      case UInt8(ascii: "\""):
        index += 1
        // Reject invalid UTF-8 rather than silently replacing it.
        guard let text = String(validating: out, as: UTF8.self) else {
          throw .invalidString(offset: start)
        }
        return text
      case UInt8(ascii: "\\"):
        index += 1
        guard index < bytes.count else { throw .truncated }
        let escape = bytes[index]
        index += 1
        switch escape {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try hex4()
          if (0xD800...0xDBFF).contains(scalar) {
            // A high surrogate must be followed by an escaped low surrogate.
            guard index + 1 < bytes.count else { throw .truncated }
            guard bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
              throw .invalidString(offset: start)
            }
            index += 2
            let low = try hex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw .invalidString(offset: start) }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let u = Unicode.Scalar(scalar) else { throw .invalidString(offset: start) }
          out.append(contentsOf: Array(String(Character(u)).utf8))
        default: throw .invalidString(offset: start)
        }
      case 0x00..<0x20: throw .invalidString(offset: start)
      default:
        out.append(byte)
        index += 1
      }
    }
  }

  mutating func hex4() throws(JSONError) -> UInt32 {
    var value: UInt32 = 0
    for _ in 0..<4 {
      guard index < bytes.count else { throw .truncated }
      let c = bytes[index]
      let digit: UInt8
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
      default: throw .invalidString(offset: index)
      }
      value = value << 4 | UInt32(digit)
      index += 1
    }
    return value
  }
}
