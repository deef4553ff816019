// SPDX-License-Identifier: MIT
// The document level of the TOML parser: lines, comments, [table] and [[array]] headers,
// keys, and the rules about defining a key or a table only once.
//
// The document is built as an arena of nodes linked by index and turned into TOMLValue
// at the end. Each table node remembers how it came to exist, which is all that the
// redefinition rules of TOML 1.0 need:
// - implicit: created as a parent by a header ([a.b] creates a). A later [a] defines it;
//   dotted keys may add to it, and from then on it counts as defined by them.
// - header: defined by [a], or an element of [[a]]. Never defined again; later headers may
//   add tables inside it, dotted keys of another section may not add to it.
// - dotted: created by dotted keys (a.b = 1) in one section — the lines after one header,
//   or one inline table. Only dotted keys of that section add to it; headers may add
//   tables inside it but not define it.
// - inline table, static array: frozen once written.
// One file over 400 lines on purpose: the table-definition rules above are enforced in
// one place.

/// One parse of one document.
struct Parser {
  /// How a node came to exist.
  enum Kind {
    case implicitTable
    case headerTable
    case dottedTable(section: Int)
    case inlineTable
    case arrayOfTables
    case staticArray
    case value(TOMLValue)
  }

  struct Node {
    var kind: Kind
    /// Levels below the root table, for the nesting limit.
    let depth: Int
    /// A table's keys, in document order.
    var keys: [String] = []
    /// Where each key was first written (parallel to `keys`), as byte offsets.
    var keyOffsets: [Int] = []
    /// A table's values (parallel to `keys`) or an array's elements, as node indices.
    var children: [Int] = []
  }

  /// A key of one table, for finding its value.
  struct Slot: Hashable {
    let table: Int
    let key: String
  }

  static let maximumDepth = 100

  let bytes: UnsafeBufferPointer<UInt8>
  var position = 0
  /// The root table is node 0.
  var nodes = [Node(kind: .headerTable, depth: 0)]
  var childIndex: [Slot: Int] = [:]
  /// The number of sections (headers and inline tables) seen; each is identified by it.
  var sections = 0
  /// Reused for strings that escapes or CRLF make differ from their bytes.
  var scratch: [UInt8] = []

  init(bytes: UnsafeBufferPointer<UInt8>) {
    self.bytes = bytes
  }

  /// Parses a whole document.
  static func run(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<TOMLTable, TOMLError> {
    var parser = Parser(bytes: bytes)
    do throws(TOMLError) {
      return .success(try parser.document())
    } catch {
      return .failure(error)
    }
  }

  mutating func document() throws(TOMLError) -> TOMLTable {
    var table = 0
    var section = 0
    // A UTF-8 byte order mark, as some editors write, is skipped.
    if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { position = 3 }
    while true {
      skipWhitespace()
      guard let byte = peek() else { break }
      switch byte {
      case ASCII.lf, ASCII.cr, ASCII.hash:
        break
      case ASCII.leftBracket:
        table = try header()
        section = sections
        skipWhitespace()
        try skipComment()
        try endOfLine(after: "table header")
        continue
      default:
        try keyValue(into: table, section: section)
      }
      skipWhitespace()
      try skipComment()
      try endOfLine(after: "value")
    }
    var lineStarts = [0]
    for i in 0..<bytes.count where bytes[i] == ASCII.lf { lineStarts.append(i + 1) }
    return materialize(0, lineStarts: lineStarts).table!
  }

  // MARK: - Structure

  /// `[a.b]` or `[[a.b]]`: finds or makes the table that the following lines fill.
  /// - Returns: The table's node.
  mutating func header() throws(TOMLError) -> Int {
    let start = position
    position += 1
    let isArray = take(ASCII.leftBracket)
    skipWhitespace()
    let key = try self.key()
    guard take(ASCII.rightBracket), !isArray || take(ASCII.rightBracket) else {
      throw error(isArray ? "expected ']]' after the table name" : "expected ']' after the table name")
    }
    sections += 1
    var table = 0
    for (i, part) in key.enumerated() {
      let isLast = i == key.count - 1
      let name = "'" + display(key[...i]) + "'"
      guard let child = childIndex[Slot(table: table, key: part)] else {
        if isLast && isArray {
          let array = try addChild(to: table, part, .arrayOfTables, at: start)
          return try addElement(to: array, at: start)
        }
        table = try addChild(to: table, part, isLast ? .headerTable : .implicitTable, at: start)
        continue
      }
      switch nodes[child].kind {
      case .arrayOfTables:
        if isLast {
          guard isArray else { throw error(at: start, "\(name) is already an array of tables") }
          return try addElement(to: child, at: start)
        }
        table = nodes[child].children[nodes[child].children.count - 1]
      case .implicitTable:
        if isLast {
          guard !isArray else { throw error(at: start, "\(name) is already a table") }
          nodes[child].kind = .headerTable
        }
        table = child
      case .headerTable, .dottedTable:
        if isLast {
          if isArray { throw error(at: start, "\(name) is already a table") }
          if case .headerTable = nodes[child].kind { throw error(at: start, "table \(name) defined twice") }
          throw error(at: start, "table \(name) already defined by dotted keys")
        }
        table = child
      case .inlineTable:
        throw error(at: start, "inline table \(name) cannot be extended")
      case .staticArray:
        throw error(at: start, "array \(name) cannot be extended")
      case .value:
        throw error(at: start, "\(name) is already a value")
      }
    }
    return table
  }

  /// `key = value`, the key possibly dotted, into a table of a section.
  mutating func keyValue(into table: Int, section: Int) throws(TOMLError) {
    let start = position
    let key = try self.key()
    guard take(ASCII.equals) else { throw error("expected '=' after key") }
    skipWhitespace()
    var parent = table
    for (i, part) in key.dropLast().enumerated() {
      guard let child = childIndex[Slot(table: parent, key: part)] else {
        parent = try addChild(to: parent, part, .dottedTable(section: section), at: start)
        continue
      }
      let name = "'" + display(key[...i]) + "'"
      switch nodes[child].kind {
      case .dottedTable(let s) where s == section:
        break
      case .implicitTable:
        nodes[child].kind = .dottedTable(section: section)
      case .headerTable, .dottedTable:
        throw error(at: start, "table \(name) is defined elsewhere; dotted keys cannot add to it")
      case .arrayOfTables:
        throw error(at: start, "dotted keys cannot add to array of tables \(name)")
      case .inlineTable:
        throw error(at: start, "inline table \(name) cannot be extended")
      case .staticArray, .value:
        throw error(at: start, "\(name) is already a value")
      }
      parent = child
    }
    let last = key[key.count - 1]
    guard childIndex[Slot(table: parent, key: last)] == nil else {
      throw error(at: start, "duplicate key '\(display(key[...]))'")
    }
    let value = try self.value(depth: nodes[parent].depth + 1)
    link(value, to: parent, as: last, at: start)
  }

  /// A new table (or array of tables) named `key` in `table`.
  mutating func addChild(to table: Int, _ key: String, _ kind: Kind, at offset: Int) throws(TOMLError) -> Int {
    let child = try newNode(kind, depth: nodes[table].depth + 1, at: offset)
    link(child, to: table, as: key, at: offset)
    return child
  }

  /// A new element table of an array of tables.
  mutating func addElement(to array: Int, at offset: Int) throws(TOMLError) -> Int {
    let element = try newNode(.headerTable, depth: nodes[array].depth + 1, at: offset)
    nodes[array].children.append(element)
    return element
  }

  mutating func newNode(_ kind: Kind, depth: Int, at offset: Int) throws(TOMLError) -> Int {
    guard depth <= Self.maximumDepth else { throw error(at: offset, "nested too deeply") }
    nodes.append(Node(kind: kind, depth: depth))
    return nodes.count - 1
  }

  mutating func link(_ child: Int, to table: Int, as key: String, at offset: Int) {
    nodes[table].keys.append(key)
    nodes[table].keyOffsets.append(offset)
    nodes[table].children.append(child)
    childIndex[Slot(table: table, key: key)] = child
  }

  /// The value of a node; `lineStarts` are the offsets where lines begin, for key lines.
  func materialize(_ node: Int, lineStarts: [Int]) -> TOMLValue {
    switch nodes[node].kind {
    case .value(let value): return value
    case .staticArray, .arrayOfTables:
      return .array(nodes[node].children.map { materialize($0, lineStarts: lineStarts) })
    case .implicitTable, .headerTable, .dottedTable, .inlineTable:
      return .table(
        TOMLTable(
          keys: nodes[node].keys, values: nodes[node].children.map { materialize($0, lineStarts: lineStarts) },
          lines: nodes[node].keyOffsets.map { Self.line(of: $0, lineStarts: lineStarts) }))
    }
  }

  /// The 1-based line of a byte offset.
  static func line(of offset: Int, lineStarts: [Int]) -> Int {
    var low = 0
    var high = lineStarts.count
    while high - low > 1 {
      let middle = (low + high) / 2
      if lineStarts[middle] <= offset { low = middle } else { high = middle }
    }
    return low + 1
  }

  // MARK: - Keys

  /// A key: bare or quoted parts separated by dots, with white space around the dots.
  mutating func key() throws(TOMLError) -> [String] {
    var parts = [try keyPart()]
    skipWhitespace()
    while take(ASCII.dot) {
      skipWhitespace()
      parts.append(try keyPart())
      skipWhitespace()
    }
    return parts
  }

  mutating func keyPart() throws(TOMLError) -> String {
    switch peek() {
    case ASCII.quote, ASCII.apostrophe:
      if isAt(tripleQuote: bytes[position]) { throw error("a key cannot be a multi-line string") }
      return try string()
    default:
      let start = position
      while let byte = peek(), ASCII.isBareKey(byte) { position += 1 }
      guard position > start else { throw error("expected a key") }
      return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }
  }

  /// Key parts joined for a message, quoted where they are not bare, with quotes,
  /// backslashes and control characters escaped as in a TOML basic string (a key must
  /// not bring line breaks or terminal escapes into a message).
  func display(_ key: ArraySlice<String>) -> String {
    key.map { part in
      if !part.isEmpty && part.utf8.allSatisfy(ASCII.isBareKey) { return part }
      var out = "\""
      for scalar in part.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
          let hex = String(scalar.value, radix: 16, uppercase: true)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
      }
      return out + "\""
    }.joined(separator: ".")
  }

  // MARK: - White space, comments, line ends

  func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

  mutating func take(_ byte: UInt8) -> Bool {
    guard peek() == byte else { return false }
    position += 1
    return true
  }

  /// Whether the three bytes at the position are `"""` or `'''`.
  func isAt(tripleQuote quote: UInt8) -> Bool {
    bytes.count - position >= 3 && bytes[position] == quote && bytes[position + 1] == quote
      && bytes[position + 2] == quote
  }

  /// Spaces and tabs.
  mutating func skipWhitespace() {
    while let byte = peek(), byte == ASCII.space || byte == ASCII.tab { position += 1 }
  }

  /// A `#` comment up to, not including, the end of the line.
  mutating func skipComment() throws(TOMLError) {
    guard take(ASCII.hash) else { return }
    while let byte = peek(), byte != ASCII.lf {
      if byte == ASCII.cr, position + 1 < bytes.count, bytes[position + 1] == ASCII.lf { return }
      if ASCII.isControl(byte) { throw controlCharacter(byte, in: "comment") }
      position += 1
    }
  }

  /// LF or CRLF, if there is one.
  mutating func takeNewline() throws(TOMLError) -> Bool {
    if take(ASCII.lf) { return true }
    guard peek() == ASCII.cr else { return false }
    guard position + 1 < bytes.count, bytes[position + 1] == ASCII.lf else {
      throw error("carriage return without line feed")
    }
    position += 2
    return true
  }

  /// The end of a line or of the document, after a statement.
  mutating func endOfLine(after what: String) throws(TOMLError) {
    guard peek() != nil, try !takeNewline() else { return }
    throw error("expected a new line after the \(what)")
  }

  // MARK: - Errors

  func error(_ message: String) -> TOMLError { error(at: position, message) }

  /// An error at a byte offset, with its 1-based line and column (in Unicode scalars).
  func error(at offset: Int, _ message: String) -> TOMLError {
    let offset = min(offset, bytes.count)
    var line = 1
    var lineStart = 0
    for i in 0..<offset where bytes[i] == ASCII.lf {
      line += 1
      lineStart = i + 1
    }
    var column = 1
    for i in lineStart..<offset where bytes[i] & 0xC0 != 0x80 { column += 1 }
    return TOMLError(line: line, column: column, message: message)
  }

  func controlCharacter(_ byte: UInt8, in place: String) -> TOMLError {
    if byte == ASCII.cr { return error("carriage return without line feed") }
    let hex = String(byte, radix: 16, uppercase: true)
    return error("control character U+" + String(repeating: "0", count: 4 - hex.count) + hex + " in \(place)")
  }
}

/// The bytes the parser looks for.
enum ASCII {
  static let tab: UInt8 = 0x09
  static let lf: UInt8 = 0x0A
  static let cr: UInt8 = 0x0D
  static let space = UInt8(ascii: " ")
  static let quote = UInt8(ascii: "\"")
  static let hash = UInt8(ascii: "#")
  static let apostrophe = UInt8(ascii: "'")
  static let plus = UInt8(ascii: "+")
  static let comma = UInt8(ascii: ",")
  static let minus = UInt8(ascii: "-")
  static let dot = UInt8(ascii: ".")
  static let zero = UInt8(ascii: "0")
  static let nine = UInt8(ascii: "9")
  static let colon = UInt8(ascii: ":")
  static let equals = UInt8(ascii: "=")
  static let leftBracket = UInt8(ascii: "[")
  static let backslash = UInt8(ascii: "\\")
  static let rightBracket = UInt8(ascii: "]")
  static let underscore = UInt8(ascii: "_")
  static let leftBrace = UInt8(ascii: "{")
  static let rightBrace = UInt8(ascii: "}")

  static func isDigit(_ byte: UInt8) -> Bool { byte >= zero && byte <= nine }

  /// A-Z a-z 0-9 - _
  static func isBareKey(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), zero...nine, minus, underscore:
      return true
    default:
      return false
    }
  }

  /// U+0000-U+001F except tab, and U+007F: not allowed in strings or comments.
  static func isControl(_ byte: UInt8) -> Bool { (byte < 0x20 && byte != tab) || byte == 0x7F }
}
