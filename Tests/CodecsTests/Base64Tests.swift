import Codecs
import Testing

@Suite("Base64")
struct Base64Tests {
  // RFC 4648 §10 test vectors.
  static let vectors: [(String, String)] = [
    ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
    ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
  ]

  @Test("RFC 4648 vectors round-trip", arguments: vectors)
  func vectorsRoundTrip(plain: String, encoded: String) {
    #expect(Base64.encode(Array(plain.utf8)) == encoded)
    #expect(Base64.decode(encoded) == Array(plain.utf8))
  }

  @Test("Gmail's XOAUTH2 error challenge decodes to its JSON")
  func gmailChallenge() {
    let b64 = "eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="
    let json = Base64.decode(b64).map { String(decoding: $0, as: UTF8.self) }
    #expect(json == #"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#)
  }

  @Test("URL alphabet has no padding and uses - and _")
  func urlAlphabet() {
    #expect(Base64.encode([0xfb, 0xff], alphabet: .url) == "-_8")
    #expect(Base64.decode("-_8", alphabet: .url) == [0xfb, 0xff])
    #expect(Base64.decode("+/8=", alphabet: .url) == nil)
  }

  @Test("Bad input is refused, not trapped on", arguments: ["Zg=a", "Z", "Zh==", "Zm9v===", "Zm9v!", "Zm 9v"])
  func badInput(text: String) {
    #expect(Base64.decode(text) == nil)
  }

  @Test("White space is skipped only when asked")
  func whitespace() {
    #expect(Base64.decode("Zm9v\r\nYmFy", ignoringWhitespace: true) == Array("foobar".utf8))
    #expect(Base64.decode("Zm9v\r\nYmFy") == nil)
  }
}
