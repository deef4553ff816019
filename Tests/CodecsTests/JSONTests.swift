// SPDX-License-Identifier: MIT
// The bounded JSON reader: valid documents, every kind of bad input, limits, and
// documents fed whole and cut at every byte (each prefix must fail cleanly, never trap).

import Testing

@testable import Codecs

@Suite("JSON")
struct JSONTests {
  @Test("A token response parses into its members")
  func tokenResponse() throws {
    let json = try JSON.parse(
      #"{"access_token":"ya29.a","expires_in":3599,"scope":"https://mail.google.com/","token_type":"Bearer","ok":true,"x":null}"#
    )
    #expect(json["access_token"] == .string("ya29.a"))
    #expect(json["expires_in"]?.intValue == 3599)
    #expect(json["ok"] == .bool(true))
    #expect(json["x"] == .null)
    #expect(json["missing"] == nil)
  }

  @Test("Nested objects, arrays, escapes and surrogate pairs")
  func nestedAndEscapes() throws {
    let json = try JSON.parse(
      #" { "a" : { "b" : [1, -2.5e3, "x"] }, "s": "q\"\\\/\n\t\u00e9\ud83d\ude00" } "#)
    #expect(json["a"]?["b"] == .array([.number("1"), .number("-2.5e3"), .string("x")]))
    #expect(json["s"]?.stringValue == "q\"\\/\n\té😀")
  }

  @Test(
    "Bad input throws the named error",
    arguments: [
      ("", JSONError.truncated),
      ("<html>", .unexpected(offset: 0)),
      (#"{"a":1"#, .truncated),
      (#"{"a":"#, .truncated),
      (#"{"a":"b"#, .truncated),
      (#"{"a":1,}"#, .unexpected(offset: 7)),
      (#"{"a" 1}"#, .unexpected(offset: 5)),
      (#"{"a":01}"#, .unexpected(offset: 6)),
      (#"{"a":-}"#, .invalidNumber(offset: 5)),
      (#"{"a":1.}"#, .invalidNumber(offset: 5)),
      (#"{"a":"\x"}"#, .invalidString(offset: 5)),
      ("{\"a\":\"\u{1}\"}", .invalidString(offset: 5)),
      (#"{"a":"\ud800"}"#, .invalidString(offset: 5)),
      (#"{} x"#, .trailingData(offset: 3)),
      ("tru", .truncated),
      ("nul!", .unexpected(offset: 3)),
    ])
  func badInput(text: String, error: JSONError) {
    #expect(throws: error) { try JSON.parse(text) }
  }

  @Test("Invalid UTF-8 inside a string is refused")
  func invalidUTF8() {
    #expect(throws: JSONError.invalidString(offset: 0)) {
      try JSON.parse([0x22, 0xC3, 0x28, 0x22])
    }
  }

  @Test("Size and depth limits")
  func limits() {
    #expect(throws: JSONError.tooLarge(limit: 10)) {
      try JSON.parse(Array(#"{"a":"0123456789"}"#.utf8), maximumBytes: 10)
    }
    let deep = String(repeating: "[", count: 17) + String(repeating: "]", count: 17)
    #expect(throws: JSONError.tooDeep(limit: 16)) { try JSON.parse(deep) }
    let ok = String(repeating: "[", count: 16) + String(repeating: "]", count: 16)
    #expect((try? JSON.parse(ok)) != nil)
  }

  @Test("Every proper prefix of a document fails without trapping")
  func everyPrefixFails() throws {
    let doc = Array(
      #"{"access_token":"ya29.\u00e9","expires_in":3599,"n":[true,false,null,-1.5E+2]}"#.utf8)
    #expect((try? JSON.parse(doc)) != nil)
    for cut in 0..<doc.count {
      #expect(throws: JSONError.self) { try JSON.parse(Array(doc[0..<cut])) }
    }
  }

  @Test("Serialization escapes and round-trips")
  func serialize() throws {
    let value = JSONValue.object([
      ("a", .string("x\"y\\z\n\u{1}é")), ("b", .number("12")),
      ("c", .array([.bool(false), .null])),
    ])
    let text = JSON.serialize(value)
    #expect(text == #"{"a":"x\"y\\z\n\u0001é","b":12,"c":[false,null]}"#)
    #expect(try JSON.parse(text) == value)
  }

  @Test("JSON string escaping", arguments: [
    ("plain", "\"plain\""), ("a\"b", "\"a\\\"b\""), ("a\\b", "\"a\\\\b\""), ("\r\n", "\"\\r\\n\""),
    ("\u{7f}", "\"\\u007f\""), ("\u{1f}", "\"\\u001f\""), ("é✓", "\"é✓\""), ("\u{2028}", "\"\\u2028\""),
  ])
  func quoting(text: String, expected: String) {
    #expect(JSON.quoted(text) == expected)
  }
}
