// SPDX-License-Identifier: MIT
@testable import TOMLCore
import Testing

/// Parses a document that must be valid.
private func parse(_ text: String) throws -> TOMLTable { try TOML.parse(text) }

/// The value of `v` in a one-line document `v = …`.
private func value(_ text: String) throws -> TOMLValue? { try TOML.parse("v = " + text + "\n")["v"] }

@Suite("TOML: values")
struct ValueTests {
  @Test("Basic strings and every escape", arguments: [
    (#""plain""#, "plain"),
    (#""tab\there""#, "tab\there"),
    (#""\b\t\n\f\r\"\\""#, "\u{8}\t\n\u{C}\r\"\\"),
    (#""\u00e9\u20AC\U0001F600""#, "é€😀"),
    (#""\u0000""#, "\u{0}"),
    (#""\U0010FFFF""#, "\u{10FFFF}"),
    ("\"日本語\"", "日本語"),
    ("\"x\ty\"", "x\ty"),
    (#""""#, ""),
  ])
  func basicStrings(text: String, expected: String) throws {
    #expect(try value(text) == .string(expected))
  }

  @Test("Literal strings keep backslashes", arguments: [
    (#"'C:\Users\nodejs'"#, #"C:\Users\nodejs"#),
    (#"'Tom "Dubs" Preston-Werner'"#, #"Tom "Dubs" Preston-Werner"#),
    ("''", ""),
  ])
  func literalStrings(text: String, expected: String) throws {
    #expect(try value(text) == .string(expected))
  }

  @Test("Multi-line strings: first newline trimmed, line-ending backslash, quotes, CRLF", arguments: [
    ("\"\"\"\nRoses\nViolets\"\"\"", "Roses\nViolets"),
    ("\"\"\"\r\nRoses\r\nViolets\r\n\"\"\"", "Roses\nViolets\n"),
    ("\"\"\"The quick \\\n\n   brown \\   \n  fox\"\"\"", "The quick brown fox"),
    ("\"\"\"a\\\r\n  b\"\"\"", "ab"),
    ("\"\"\"two \"\" quotes\"\"\"", "two \"\" quotes"),
    ("\"\"\"\"quoted\"\"\"\"", "\"quoted\""),
    ("\"\"\"x\"\"\"\"\"", "x\"\""),
    ("\"\"\"\\u00e9\\t\"\"\"", "é\t"),
    ("'''\nraw \\n\n'''", "raw \\n\n"),
    ("''''That,' she said''''", "'That,' she said'"),
    ("'''a\r\nb'''", "a\nb"),
  ])
  func multilineStrings(text: String, expected: String) throws {
    #expect(try value(text) == .string(expected))
  }

  @Test("Integers", arguments: [
    ("+99", 99), ("42", 42), ("0", 0), ("-0", 0), ("+0", 0), ("-17", -17), ("1_000", 1000), ("5_349_221", 5_349_221),
    ("0xDEADBEEF", 0xDEAD_BEEF), ("0xdead_beef", 0xDEAD_BEEF), ("0o755", 0o755), ("0b1101_0110", 0b1101_0110),
    ("0x00000001", 1), ("9223372036854775807", Int64.max), ("-9223372036854775808", Int64.min),
    ("0x7FFFFFFFFFFFFFFF", Int64.max),
  ] as [(String, Int64)])
  func integers(text: String, expected: Int64) throws {
    #expect(try value(text) == .integer(expected))
  }

  @Test("Floats", arguments: [
    ("+1.0", 1.0), ("3.1415", 3.1415), ("-0.01", -0.01), ("5e+22", 5e22), ("1e06", 1e6), ("-2E-2", -0.02),
    ("6.626e-34", 6.626e-34), ("224_617.445_991_228", 224_617.445_991_228), ("1e1_0", 1e10), ("0e0", 0),
    ("inf", .infinity), ("+inf", .infinity), ("-inf", -.infinity), ("1e400", .infinity), ("1e-400", 0),
  ] as [(String, Double)])
  func floats(text: String, expected: Double) throws {
    #expect(try value(text) == .float(expected))
  }

  @Test("nan and -0.0 keep their sign")
  func floatSigns() throws {
    guard case .float(let nan) = try value("nan"), case .float(let negativeNaN) = try value("-nan"),
      case .float(let negativeZero) = try value("-0.0")
    else { Issue.record("not floats"); return }
    #expect(nan.isNaN && negativeNaN.isNaN && nan.sign == .plus && negativeNaN.sign == .minus)
    #expect(negativeZero == 0 && negativeZero.sign == .minus)
  }

  @Test("Booleans")
  func booleans() throws {
    #expect(try value("true") == .boolean(true))
    #expect(try value("false") == .boolean(false))
  }

  @Test("Offset date-time: components, offset in minutes, text as written")
  func offsetDateTime() throws {
    guard case .dateTime(let d) = try value("1979-05-27 00:32:00.999999999-07:30") else {
      Issue.record("not a date-time")
      return
    }
    #expect(d.date?.year == 1979 && d.date?.month == 5 && d.date?.day == 27)
    #expect(d.time?.hour == 0 && d.time?.minute == 32 && d.time?.second == 0 && d.time?.nanosecond == 999_999_999)
    #expect(d.offsetMinutes == -450)
    #expect(d.text == "1979-05-27 00:32:00.999999999-07:30")
  }

  @Test("Local date-time, date and time; Z is offset 0; extra fraction digits are truncated")
  func localDateTimes() throws {
    guard case .dateTime(let ldt) = try value("1979-05-27T07:32:00"), case .dateTime(let ld) = try value("1979-05-27"),
      case .dateTime(let lt) = try value("07:32:00.1234567891"), case .dateTime(let z) = try value("1979-05-27t07:32:00z")
    else {
      Issue.record("not date-times")
      return
    }
    #expect(ldt.date != nil && ldt.time != nil && ldt.offsetMinutes == nil)
    #expect(ld.date != nil && ld.time == nil && ld.offsetMinutes == nil)
    #expect(lt.date == nil && lt.time?.nanosecond == 123_456_789 && lt.offsetMinutes == nil)
    #expect(z.offsetMinutes == 0 && z.text == "1979-05-27t07:32:00z")
  }

  @Test("Leap days and a leap second are valid", arguments: ["2000-02-29", "2024-02-29", "1600-02-29", "23:59:60", "1990-12-31T23:59:60Z"])
  func validDates(text: String) throws {
    #expect(try value(text)?.string == nil)
  }

  @Test("Arrays: nested, mixed types, comments and newlines, trailing comma")
  func arrays() throws {
    #expect(try value("[ [ 1, 2 ], [\"a\", 1.5, true] ]") == .array([
      .array([.integer(1), .integer(2)]), .array([.string("a"), .float(1.5), .boolean(true)]),
    ]))
    #expect(try value("[ # c\n  1, # c\n\n  2,\n]") == .array([.integer(1), .integer(2)]))
    #expect(try value("[]") == .array([]))
  }

  @Test("Inline tables, with dotted keys inside")
  func inlineTables() throws {
    let t = try #require(try value("{ first = \"Tom\", type.name = \"pug\", e = {} }")?.table)
    #expect(t.keys == ["first", "type", "e"])
    #expect(t["first"] == .string("Tom"))
    #expect(t["type"]?.table?["name"] == .string("pug"))
    #expect(t["e"]?.table?.keys == [])
  }

  @Test("Convenience accessors return nil for other types")
  func accessors() throws {
    #expect(TOMLValue.integer(5).int == 5 && TOMLValue.integer(5).string == nil && TOMLValue.string("5").int == nil)
    #expect(TOMLValue.boolean(true).bool == true && TOMLValue.integer(1).bool == nil)
    #expect(TOMLValue.float(1).int == nil && TOMLValue.array([]).table == nil)
  }
}

@Suite("TOML: documents")
struct DocumentTests {
  @Test("Keys keep document order, tables included")
  func documentOrder() throws {
    let t = try parse("z = 1\na = 2\n[m]\nx = 1\n[b.c]\n[a2]\n")
    #expect(t.keys == ["z", "a", "m", "b", "a2"])
    #expect(t["m"]?.table?.keys == ["x"])
  }

  @Test("Bare, quoted and dotted keys, white space around dots")
  func keys() throws {
    let t = try parse("bare-key_1 = 1\n\"quoted key\" = 2\n'lit' = 3\n\"\" = 4\nsite . \"google.com\" = true\n3.14 = 5\n")
    #expect(t.keys == ["bare-key_1", "quoted key", "lit", "", "site", "3"])
    #expect(t["site"]?.table?["google.com"] == .boolean(true))
    #expect(t["3"]?.table?["14"] == .integer(5))
  }

  @Test("Tables: headers, implicit parents defined later, sub-tables of dotted tables")
  func tables() throws {
    let t = try parse("[x.y.z]\na = 1\n[x]\nb = 2\n[fruit]\napple.color = \"red\"\n[fruit.apple.texture]\nsmooth = true\n")
    #expect(t["x"]?.table?.keys == ["y", "b"])
    #expect(t["x"]?.table?["y"]?.table?["z"]?.table?["a"] == .integer(1))
    #expect(t["fruit"]?.table?["apple"]?.table?.keys == ["color", "texture"])
  }

  @Test("Arrays of tables: elements, sub-tables and nested arrays go to the last element")
  func arraysOfTables() throws {
    let t = try parse("""
      [[fruits]]
      name = "apple"
      [fruits.physical]
      color = "red"
      [[fruits.varieties]]
      name = "red delicious"
      [[fruits]]
      name = "banana"
      [[fruits.varieties]]
      name = "plantain"
      """)
    guard case .array(let fruits) = t["fruits"] else {
      Issue.record("not an array")
      return
    }
    #expect(fruits.count == 2)
    #expect(fruits[0].table?["physical"]?.table?["color"] == .string("red"))
    #expect(fruits[0].table?["varieties"] == .array([.table(try parse("name = \"red delicious\""))]))
    #expect(fruits[1].table?["varieties"] == .array([.table(try parse("name = \"plantain\""))]))
  }

  @Test("Comments, blank lines, CRLF, no final newline, empty document")
  func layout() throws {
    #expect(try parse("").keys.isEmpty)
    #expect(try parse("# only a comment").keys.isEmpty)
    #expect(try parse("a = 1 # c\r\n\r\n  # c\r\n[t] # c\r\nb = 2") == parse("a = 1\n[t]\nb = 2\n"))
  }

  @Test("Tables compare without regard to key order; NaN equals NaN; date-times by components")
  func equality() throws {
    #expect(try parse("a = 1\nb = 2") == parse("b = 2\na = 1"))
    #expect(try parse("a = 1\nb = 2") != parse("a = 1\nb = 3"))
    #expect(try parse("a = 1") != parse("a = 1\nb = 2"))
    #expect(try parse("a = nan") == parse("a = nan"))
    #expect(try parse("a = 1979-05-27T07:32:00Z") == parse("a = 1979-05-27 07:32:00+00:00"))
    #expect(try parse("a = 1") != parse("a = 1.0"))
  }

  @Test("Bytes and text give the same table")
  func bytesAndText() throws {
    let text = "a = \"é\"\n[t]\nb = [1, 2]\n"
    #expect(try TOML.parse(utf8: Array(text.utf8)) == TOML.parse(text))
    #expect(try TOML.parse(utf8: text.utf8) == TOML.parse(text))
  }

  @Test("Nesting is limited to 100 levels")
  func nestingLimit() throws {
    let deep = String(repeating: "[", count: 99) + String(repeating: "]", count: 99)
    #expect(try value(deep) != nil)
    let tooDeep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
    #expect(throws: TOMLError(line: 1, column: 105, message: "nested too deeply")) { try value(tooDeep) }
    let dotted = (0..<200).map { "k\($0)" }.joined(separator: ".") + " = 1"
    #expect(throws: TOMLError.self) { try parse(dotted) }
    let header = "[" + (0..<200).map { "k\($0)" }.joined(separator: ".") + "]"
    #expect(throws: TOMLError.self) { try parse(header) }
    let inline = String(repeating: "{a=", count: 200) + String(repeating: "}", count: 200)
    #expect(throws: TOMLError.self) { try value(inline) }
  }
}

@Suite("TOML: errors")
struct ErrorTests {
  /// Each rule of the spec with the error it gives: line, column (in Unicode scalars) and message.
  @Test("Errors name line, column and the rule", arguments: [
    // Keys
    ("a = 1\na = 2\n", 2, 1, "duplicate key 'a'"),
    // Key names in messages are escaped: no line break or terminal escape gets through.
    ("\"x\\ny\" = 1\n\"x\\ny\" = 2\n", 2, 1, "duplicate key '\"x\\u000Ay\"'"),
    ("\"\\u001b[31m\\\\\\\"\" = 1\n\"\\u001b[31m\\\\\\\"\" = 2\n", 2, 1, "duplicate key '\"\\u001B[31m\\\\\\\"\"'"),
    ("a = 1\n\"a\" = 2\n", 2, 1, "duplicate key 'a'"),
    ("[t]\nx.y = 1\nx.y = 2\n", 3, 1, "duplicate key 'x.y'"),
    ("a\n", 1, 2, "expected '=' after key"),
    ("a = 1 b = 2\n", 1, 7, "expected a new line after the value"),
    (" = 1\n", 1, 2, "expected a key"),
    ("a. = 1\n", 1, 4, "expected a key"),
    ("é = 1\n", 1, 1, "expected a key"),
    ("\"\"\"a\"\"\" = 1\n", 1, 1, "a key cannot be a multi-line string"),
    ("a = \n", 1, 5, "expected a value"),
    ("a = 1\na.b = 2\n", 2, 1, "'a' is already a value"),
    // Tables
    ("[a]\n[a]\n", 2, 1, "table 'a' defined twice"),
    ("[a]\nb = 1\n[a.b]\n", 3, 1, "'a.b' is already a value"),
    ("[fruit]\napple.color = 1\n[fruit.apple]\n", 3, 1, "table 'fruit.apple' already defined by dotted keys"),
    ("[a.b.c]\n[a]\nb.c.t = 1\n", 3, 1, "table 'b.c' is defined elsewhere; dotted keys cannot add to it"),
    ("[[a]]\n[a]\n", 2, 1, "'a' is already an array of tables"),
    ("[a]\n[[a]]\n", 2, 1, "'a' is already a table"),
    ("[[a.b]]\n[a]\nb.c = 1\n", 3, 1, "dotted keys cannot add to array of tables 'b'"),
    ("a = {b = 1}\n[a]\n", 2, 1, "inline table 'a' cannot be extended"),
    ("a = {b = 1}\na.c = 1\n", 2, 1, "inline table 'a' cannot be extended"),
    ("a = []\n[[a]]\n", 2, 1, "array 'a' cannot be extended"),
    ("[a\n", 1, 3, "expected ']' after the table name"),
    ("[[a]\n", 1, 5, "expected ']]' after the table name"),
    ("[a] b = 1\n", 1, 5, "expected a new line after the table header"),
    ("[]\n", 1, 2, "expected a key"),
    // Inline tables
    ("a = {b = 1, b = 2}\n", 1, 13, "duplicate key 'b'"),
    ("a = {b = 1,}\n", 1, 12, "trailing comma in an inline table"),
    ("a = {b = 1,\nc = 2}\n", 1, 12, "newline in an inline table"),
    ("a = {b = 1 c = 2}\n", 1, 12, "expected ',' or '}' after a value of an inline table"),
    ("a = {b = 1", 1, 11, "unterminated inline table"),
    // Arrays
    ("a = [1 2]\n", 1, 8, "expected ',' or ']' after an array element"),
    ("a = [1,,2]\n", 1, 8, "expected a value"),
    ("a = [1,\n", 2, 1, "unterminated array"),
    // Strings
    ("a = \"abc\n", 1, 9, "unterminated string"),
    ("a = 'abc", 1, 9, "unterminated string"),
    ("a = \"\"\"abc\n", 2, 1, "unterminated string"),
    ("a = \"\\q\"\n", 1, 6, "invalid escape sequence"),
    ("a = \"\\ \"\n", 1, 6, "invalid escape sequence"),
    ("a = \"\"\"x\\ y\"\"\"\n", 1, 9, "invalid escape sequence"),
    ("a = \"\\u12\"\n", 1, 6, "\\u and \\U need 4 hexadecimal digits"),
    ("a = \"\\U0001F60\"\n", 1, 6, "\\u and \\U need 8 hexadecimal digits"),
    ("a = \"\\uD800\"\n", 1, 6, "escape is not a Unicode scalar value"),
    ("a = \"\u{1}\"\n", 1, 6, "control character U+0001 in string"),
    ("a = \"\u{7F}\"\n", 1, 6, "control character U+007F in string"),
    ("# \u{0}\n", 1, 3, "control character U+0000 in comment"),
    ("a = \"\"\"x\"\"\"\"\"\"\n", 1, 14, "unexpected quote after the end of the string"),
    // Line ends
    ("a = 1\rb = 2\n", 1, 6, "carriage return without line feed"),
    ("# c\rx\n", 1, 4, "carriage return without line feed"),
    ("a = \"\"\"x\ry\"\"\"\n", 1, 9, "carriage return without line feed"),
    // Numbers, booleans, dates
    ("a = 01\n", 1, 5, "invalid value"),
    ("a = 1__2\n", 1, 5, "invalid value"),
    ("a = 0X1\n", 1, 5, "invalid value"),
    ("a = 1.\n", 1, 5, "invalid value"),
    ("a = True\n", 1, 5, "invalid value"),
    ("a = 9223372036854775808\n", 1, 5, "integer does not fit in 64 bits"),
    ("a = -9223372036854775809\n", 1, 5, "integer does not fit in 64 bits"),
    ("a = 0x8000000000000000\n", 1, 5, "integer does not fit in 64 bits"),
    ("a = 1979-13-01\n", 1, 5, "month out of range"),
    ("a = 2023-02-29\n", 1, 5, "day out of range"),
    ("a = 2001-04-31\n", 1, 5, "day out of range"),
    ("a = 24:00:00\n", 1, 5, "hour out of range"),
    ("a = 00:60:00\n", 1, 5, "minute out of range"),
    ("a = 00:00:61\n", 1, 5, "second out of range"),
    ("a = 2000-01-01T00:00:00+24:00\n", 1, 5, "offset out of range"),
    ("a = 1979-05-27T07:32\n", 1, 5, "invalid date or time"),
    ("a = 07:32:00Z\n", 1, 5, "invalid date or time"),
  ])
  func rule(document: String, line: Int, column: Int, message: String) {
    #expect(throws: TOMLError(line: line, column: column, message: message)) { try TOML.parse(document) }
  }

  @Test("The column counts Unicode scalars, not bytes")
  func columnInScalars() {
    #expect(throws: TOMLError(line: 2, column: 11, message: "expected a new line after the value")) {
      try TOML.parse("x = 1\n\"é€😀\" = 1 z\n")
    }
  }

  @Test("Invalid UTF-8 is an error at its byte", arguments: [
    ([0x61, 0x20, 0x3D, 0x20, 0x22, 0xFF, 0x22], 6),
    ([0x23, 0xC3], 2),
    ([0x61, 0x3D, 0x22, 0xED, 0xA0, 0x80, 0x22], 4),
    ([0x61, 0x3D, 0x22, 0xC0, 0x80, 0x22], 4),
  ] as [([UInt8], Int)])
  func invalidUTF8(bytes: [UInt8], column: Int) {
    #expect(throws: TOMLError(line: 1, column: column, message: "invalid UTF-8")) { try TOML.parse(utf8: bytes) }
  }

  @Test("Messages never quote values, which may be secrets")
  func noValuesInMessages() {
    for document in ["secret = hunter2\n", "secret = \"hunter2\" hunter2\n", "secret = 0xhunter2\n", "secret = [hunter2]\n"] {
      do {
        _ = try TOML.parse(document)
        Issue.record("accepted \(document)")
      } catch {
        #expect(!error.message.contains("hunter2"), "\(error)")
      }
    }
  }
}

@Suite("TOML: byte order mark")
struct ByteOrderMarkTests {
  @Test("a UTF-8 byte order mark at the start is skipped, elsewhere it is an error")
  func bom() throws {
    let table = try TOML.parse("\u{FEFF}a = 1\n")
    #expect(table.keys == ["a"] && table["a"] == .integer(1))
    let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("b = \"x\"\n".utf8)
    #expect(try TOML.parse(utf8: bytes)["b"] == .string("x"))
    #expect(throws: TOMLError.self) { try TOML.parse("a = 1\n\u{FEFF}b = 2\n") }
  }
}

@Suite("TOML: key lines")
struct KeyLineTests {
  @Test("each key's line: key = value, header, dotted key, inline table, array of tables")
  func lines() throws {
    let document = """
      top = 1
      text = \"\"\"
      two
      lines\"\"\"
      [a.b]
      x = 1
        y.z = 2
      inline = { p = 1, r = 2 }
      [[list]]
      q = 1
      """
    let root = try TOML.parse(document)
    #expect(root.line(of: "top") == 1 && root.line(of: "text") == 2)
    #expect(root.line(of: "a") == 5 && root.line(of: "list") == 9 && root.line(of: "nope") == nil)
    let b = try #require(root["a"]?.table?["b"]?.table)
    #expect(b.line(of: "x") == 6 && b.line(of: "y") == 7 && b.line(of: "inline") == 8)
    #expect(b["y"]?.table?.line(of: "z") == 7 && b["inline"]?.table?.line(of: "r") == 8)
    guard case .array(let list)? = root["list"] else {
      Issue.record("list is not an array")
      return
    }
    #expect(list.first?.table?.line(of: "q") == 10)
    // A byte order mark and CRLF line ends do not shift lines.
    let crlf = try TOML.parse(utf8: [0xEF, 0xBB, 0xBF] + Array("a = 1\r\n\r\nb = 2\r\n".utf8))
    #expect(crlf.line(of: "a") == 1 && crlf.line(of: "b") == 3)
  }
}
