// SPDX-License-Identifier: MIT
import MessageCore
import Testing

@Suite("RecipientExtractor")
struct RecipientExtractorTests {
  static func recipients(_ header: String) throws -> [String] {
    let message = try scan(header + "\n", .whole).get()
    return try RecipientExtractor.recipients(from: message.fields).map(\.addrSpec)
  }

  @Test("To, Cc and Bcc, folded, in order, without duplicates")
  func plain() throws {
    let header = """
      From: me@example.org
      To: a@example.org, "B" <b@Example.ORG>
      Subject: x
      Cc: c@example.org,
       A@example.org, a@EXAMPLE.org
      Bcc: b@example.org, d@example.org
      bcc:
      Reply-To: r@example.org
      """
    #expect(try Self.recipients(header)
      == ["a@example.org", "b@Example.ORG", "c@example.org", "A@example.org", "d@example.org"])
  }

  @Test("Only the most recent resent block counts (RFC 5322 §3.6.6, Appendix A.4)")
  func resent() throws {
    let header = """
      Resent-From: Mary Smith <mary@example.net>
      Resent-To: Jane Brown <j-brown@other.example>
      Resent-Bcc: hidden@other.example
      Resent-Date: Mon, 24 Nov 1997 14:22:01 -0800
      Resent-Message-ID: <78910@example.net>
      Received: from x by y
      Resent-From: older@example.net
      Resent-To: older-to@example.net
      From: John Doe <jdoe@machine.example>
      To: Mary Smith <mary@example.net>
      """
    #expect(try Self.recipients(header) == ["j-brown@other.example", "hidden@other.example"])
  }

  @Test("A repeated Resent field starts an older block")
  func adjacentBlocks() throws {
    let header = """
      Resent-To: new@example.net
      Resent-From: x@example.net
      Resent-To: old@example.net
      To: orig@example.net
      """
    #expect(try Self.recipients(header) == ["new@example.net"])
  }

  @Test("A resent block without Resent-To gives no recipient")
  func resentWithoutTo() throws {
    #expect(try Self.recipients("Resent-From: a@b\nTo: c@d").isEmpty)
  }

  @Test("Groups and local names")
  func groupsAndLocal() throws {
    #expect(try Self.recipients("To: undisclosed-recipients:;\nCc: root, G: x@y;") == ["root", "x@y"])
  }

  @Test("A malformed field is named")
  func malformed() {
    #expect(throws: AddressError.inField(name: "Cc", .unexpected(near: "bob@x"))) {
      try Self.recipients("To: a@b\nCc: alice@x bob@x")
    }
  }

  @Test("Deduplication compares local parts case-sensitively")
  func dedup() {
    let list = [
      Mailbox(localPart: "Bob", domain: "X.org"), Mailbox(localPart: "bob", domain: "x.org"),
      Mailbox(displayName: "other", localPart: "Bob", domain: "x.ORG"),
      Mailbox(localPart: "root", domain: nil), Mailbox(localPart: "root", domain: nil),
    ]
    #expect(RecipientExtractor.deduplicated(list).map(\.addrSpec) == ["Bob@X.org", "bob@x.org", "root"])
  }
}
