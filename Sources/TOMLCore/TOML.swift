// SPDX-License-Identifier: MIT
// A TOML v1.0.0 parser (https://toml.io/en/v1.0.0) on UTF-8 bytes, with the standard
// library only: gsendmail reads its configuration on every message, and this keeps
// Foundation and a C++ library out of the sendmail binary.
//
// Decisions:
// - The whole of TOML 1.0 is accepted, and everything it calls invalid is an error,
//   including every rule against defining a key or a table twice.
// - Integers are Int64; one that does not fit is an error (the spec's "must throw").
// - A second of 60 (a leap second) is accepted, as RFC 3339 and TOML's ABNF allow.
// - CRLF in a multi-line string becomes LF, as the spec permits.
// - A UTF-8 byte order mark at the start is skipped (TOML 1.0 does not mention one;
//   editors on some systems write it, and the TOML parser used before accepted it).
// - Nesting (tables, arrays, inline tables) is limited to 100 levels so that a hostile
//   file cannot exhaust the stack.
// Failure policy: the first problem throws a `TOMLError` with its line, column and a short
// message; messages quote keys but never values.

/// Parses TOML documents.
public enum TOML {
  /// Parses a TOML document.
  /// - Returns: The root table.
  /// - Throws: `TOMLError` at the first problem.
  public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
    var text = text
    text.makeContiguousUTF8()
    // A native string is valid UTF-8 already, so it is not checked again.
    return try text.utf8.withContiguousStorageIfAvailable(Parser.run)!.get()
  }

  /// Parses a TOML document given as bytes, which must be valid UTF-8.
  /// - Returns: The root table.
  /// - Throws: `TOMLError` at the first problem, invalid UTF-8 included.
  public static func parse(utf8 bytes: some Collection<UInt8>) throws(TOMLError) -> TOMLTable {
    func validated(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<TOMLTable, TOMLError> {
      if let offset = firstInvalidUTF8(buffer) {
        return .failure(Parser(bytes: buffer).error(at: offset, "invalid UTF-8"))
      }
      return Parser.run(buffer)
    }
    if let result = bytes.withContiguousStorageIfAvailable(validated) { return try result.get() }
    return try Array(bytes).withUnsafeBufferPointer(validated).get()
  }

  /// The offset of the first byte that is not part of a valid UTF-8 sequence, if any.
  static func firstInvalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    var iterator = bytes.makeIterator()
    var parser = Unicode.UTF8.ForwardParser()
    var offset = 0
    while true {
      switch parser.parseScalar(from: &iterator) {
      case .valid(let scalar): offset += scalar.count
      case .emptyInput: return nil
      case .error: return offset
      }
    }
  }
}

// MARK: - Values

// The values of a parsed TOML document: tables keep their keys in document order;
// integers are 64-bit as TOML 1.0 requires; dates and times keep their components and
// the text they were written as.

/// A TOML value.
public enum TOMLValue: Sendable, Equatable {
  case string(String)
  case integer(Int64)
  case float(Double)
  case boolean(Bool)
  /// An offset date-time, a local date-time, a local date or a local time.
  indirect case dateTime(TOMLDateTime)
  /// An array, including an array of tables.
  case array([TOMLValue])
  case table(TOMLTable)

  /// The string, if this is a string.
  public var string: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  /// The integer, if this is an integer.
  public var int: Int? {
    if case .integer(let i) = self { return Int(exactly: i) }
    return nil
  }

  /// The boolean, if this is a boolean.
  public var bool: Bool? {
    if case .boolean(let b) = self { return b }
    return nil
  }

  /// The table, if this is a table.
  public var table: TOMLTable? {
    if case .table(let t) = self { return t }
    return nil
  }

  /// Equal values of the same type; two NaN floats are equal, so that a document equals itself.
  public static func == (lhs: TOMLValue, rhs: TOMLValue) -> Bool {
    switch (lhs, rhs) {
    case (.string(let a), .string(let b)): return a == b
    case (.integer(let a), .integer(let b)): return a == b
    case (.float(let a), .float(let b)): return a == b || (a.isNaN && b.isNaN)
    case (.boolean(let a), .boolean(let b)): return a == b
    case (.dateTime(let a), .dateTime(let b)): return a == b
    case (.array(let a), .array(let b)): return a == b
    case (.table(let a), .table(let b)): return a == b
    default: return false
    }
  }
}

/// A TOML table: keys in the order the document first names them, each with its value
/// and the line where it was first written.
public struct TOMLTable: Sendable, Equatable {
  /// The keys, in document order.
  public let keys: [String]
  let values: [TOMLValue]
  let lines: [Int]

  init(keys: [String], values: [TOMLValue], lines: [Int]) {
    self.keys = keys
    self.values = values
    self.lines = lines
  }

  /// The value of `key`, or nil. A linear search: configuration tables are small.
  public subscript(key: String) -> TOMLValue? {
    keys.firstIndex(of: key).map { values[$0] }
  }

  /// The 1-based line where `key` was first written: its `key = …` line, the header that
  /// named it (`[key]`, `[key.sub]`), or the line of the dotted key (`key.sub = …`).
  public func line(of key: String) -> Int? {
    keys.firstIndex(of: key).map { lines[$0] }
  }

  /// The same keys with equal values, in any order (TOML tables are unordered).
  public static func == (lhs: TOMLTable, rhs: TOMLTable) -> Bool {
    lhs.keys.count == rhs.keys.count && zip(lhs.keys, lhs.values).allSatisfy { rhs[$0] == $1 }
  }
}
