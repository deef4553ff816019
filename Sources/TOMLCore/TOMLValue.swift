// SPDX-License-Identifier: MIT
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
