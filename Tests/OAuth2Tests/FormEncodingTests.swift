// SPDX-License-Identifier: MIT
// Percent-encoding of query and form values, and decoding of redirect queries.

import Testing

@testable import OAuth2

@Suite("FormEncoding")
struct FormEncodingTests {
  @Test("Only unreserved characters stay as they are")
  func encode() {
    #expect(
      FormEncoding.percentEncode("http://127.0.0.1:53682/") == "http%3A%2F%2F127.0.0.1%3A53682%2F")
    #expect(FormEncoding.percentEncode("a b+c&d=e~_.-") == "a%20b%2Bc%26d%3De~_.-")
    #expect(FormEncoding.percentEncode("é") == "%C3%A9")
    #expect(FormEncoding.encode([("a", "1"), ("b c", "x/y")]) == "a=1&b%20c=x%2Fy")
  }

  @Test("Decoding handles + and escapes, and refuses bad escapes")
  func decode() {
    let fields = FormEncoding.decode("state=a%2Fb&code=4/0A+x&&flag")
    #expect(fields?.map { $0.name } == ["state", "code", "flag"])
    #expect(fields?.map { $0.value } == ["a/b", "4/0A x", ""])
    #expect(FormEncoding.decode("a=%2") == nil)
    #expect(FormEncoding.decode("a=%zz") == nil)
    #expect(FormEncoding.decode("a=%C3%28") == nil)
  }

  @Test("Encode then decode gives the original")
  func roundTrip() {
    let values = ["", "a", "4/0AfJohXk-Q_~.", "sp ace+plus", "é😀", "%25", "=&?#"]
    for v in values {
      #expect(
        FormEncoding.decode(Substring("k=" + FormEncoding.percentEncode(v)))?.first?.value == v)
    }
  }
}
