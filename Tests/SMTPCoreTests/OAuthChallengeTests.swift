// The OAuth error challenge decoding, good and hostile input.

import Codecs
import Testing

@testable import SMTPCore

@Suite("OAuth challenge")
struct OAuthChallengeTests {
  static func challenge(_ json: String) -> OAuthChallenge? {
    OAuthChallenge(base64Text: Base64.encode(Array(json.utf8)))
  }

  @Test("Gmail's XOAUTH2 challenge")
  func gmail() {
    let challenge = OAuthChallenge(
      base64Text:
        "eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="
    )
    #expect(
      challenge
        == OAuthChallenge(status: "400", schemes: "Bearer", scope: "https://mail.google.com/"))
  }

  @Test(
    "Flat objects: escapes, other scalar values, spaces",
    arguments: [
      (#"{}"#, OAuthChallenge(status: nil, schemes: nil, scope: nil)),
      (#" { "status" : "401" , "n": 12.5e3, "b": true, "z": null } "#, OAuthChallenge(status: "401", schemes: nil, scope: nil)),
      (#"{"scope":"a\"b\\c\/d\u00e9\ud83d\ude00\n"}"#, OAuthChallenge(status: nil, schemes: nil, scope: "a\"b\\c/dé😀\n")),
    ])
  func flat(json: String, expected: OAuthChallenge) {
    #expect(Self.challenge(json) == expected)
  }

  @Test(
    "Anything else is refused",
    arguments: [
      "", "[]", #"{"a":{"b":"c"}}"#, #"{"a":["b"]}"#, #"{"a":"b""#, #"{"a" "b"}"#, #"{"a":"b",}"#,
      #"{"a":"b"} x"#, #"{"a":"\x"}"#, #"{"a":"\ud83d"}"#, #"{"a":"\u12"}"#, "{\"a\":\"\u{1}\"}",
      #"{"a":tru}"#, #"{"a":1-}"#, "\"s\"",
    ])
  func refused(json: String) {
    #expect(Self.challenge(json) == nil)
  }

  @Test("Input over the limit is refused without being read")
  func tooLong() {
    let json = #"{"a":""# + String(repeating: "x", count: 4096) + #""}"#
    #expect(Self.challenge(json) == nil)
  }

  @Test(
    "A challenge that is not base64 of a JSON object decodes to nil",
    arguments: ["", "!!!", "W10=", "e30=x"])
  func notJSON(text: String) {
    #expect(OAuthChallenge(base64Text: text) == nil)
  }

  @Test("An empty object is a challenge with no fields")
  func emptyObject() {
    #expect(
      OAuthChallenge(base64Text: "e30=") == OAuthChallenge(status: nil, schemes: nil, scope: nil))
  }
}
