import Codecs
import Testing

@Suite("Text search")
struct TextSearchTests {
  @Test("containsText finds a needle anywhere, and only a whole one")
  func contains() {
    #expect("421 4.7.0 Try again later, closing connection. (EHLO)".containsText("(EHLO)"))
    #expect("-----BEGIN PRIVATE KEY-----\nMIIE".containsText("-----BEGIN"))
    #expect("abc".containsText("abc"))
    #expect("abc".containsText("c"))
    #expect("abc".containsText(""))
    #expect(!"abc".containsText("abcd"))
    #expect(!"ab c".containsText("abc"))
    #expect(!"".containsText("a"))
    // A near miss before the match: the scan restarts after the first byte.
    #expect("aab".containsText("ab"))
    #expect("xx(EHL(EHLO)".containsText("(EHLO)"))
    #expect("é (EHLO)"[...].containsText("(EHLO)"))
  }

  @Test("replacingText replaces every occurrence, left to right, without overlaps")
  func replacing() {
    #expect("a\"b\"c".replacingText("\"", with: "&quot;") == "a&quot;b&quot;c")
    #expect("aaa".replacingText("aa", with: "b") == "ba")
    #expect("<p>".replacingText("<", with: "&lt;").replacingText(">", with: "&gt;") == "&lt;p&gt;")
    #expect("none here".replacingText("x", with: "y") == "none here")
    #expect("".replacingText("x", with: "y") == "")
    #expect("é&é".replacingText("&", with: "&amp;") == "é&amp;é")
  }
}
