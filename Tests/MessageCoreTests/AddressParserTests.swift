// SPDX-License-Identifier: MIT
import MessageCore
import Testing

@Suite("AddressParser")
struct AddressParserTests {
  /// `name|addr-spec` per mailbox (`|addr` without a name), groups as `name:[...]`.
  static func render(_ addresses: [Address]) -> [String] {
    addresses.map { address in
      switch address {
      case .mailbox(let m): return (m.displayName ?? "") + "|" + m.addrSpec
      case .group(let name, let members):
        return name + ":[" + members.map { ($0.displayName ?? "") + "|" + $0.addrSpec }
          .joined(separator: ", ") + "]"
      }
    }
  }

  static func parse(_ value: String) -> [String]? {
    (try? AddressParser.parseAddressList(value)).map(render)
  }

  // MARK: RFC 5322 Appendix A

  static let appendixA: [(String, [String])] = [
    // A.1.1
    ("John Doe <jdoe@machine.example>", ["John Doe|jdoe@machine.example"]),
    ("Mary Smith <mary@example.net>", ["Mary Smith|mary@example.net"]),
    // A.1.2
    ("\"Joe Q. Public\" <john.q.public@example.com>", ["Joe Q. Public|john.q.public@example.com"]),
    ("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
     ["Mary Smith|mary@x.test", "|jdoe@example.org", "Who?|one@y.test"]),
    ("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
     ["|boss@nil.test", "Giant; \"Big\" Box|sysservices@example.net"]),
    // A.1.3
    ("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
     ["A Group:[Ed Jones|c@a.test, |joe@where.test, John|jdoe@one.test]"]),
    ("Undisclosed recipients:;", ["Undisclosed recipients:[]"]),
    // A.2
    ("\"Mary Smith: Personal Account\" <smith@home.example>",
     ["Mary Smith: Personal Account|smith@home.example"]),
    // A.4
    ("Jane Brown <j-brown@other.example>", ["Jane Brown|j-brown@other.example"]),
    // A.5
    ("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", ["Pete|pete@silly.test"]),
    ("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
      + "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
     ["A Group:[Chris Jones|c@public.example, |joe@example.org, John|jdoe@one.test]"]),
    ("(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;", ["Hidden recipients:[]"]),
    // A.6.1
    ("Joe Q. Public <john.q.public@example.com>", ["Joe Q. Public|john.q.public@example.com"]),
    ("Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
     ["Mary Smith|mary@example.net", "|jdoe@test.example"]),
    // A.6.3
    ("John Doe <jdoe@machine(comment).  example>", ["John Doe|jdoe@machine.example"]),
    ("Mary Smith\r\n    \r\n <mary@example.net>", ["Mary Smith|mary@example.net"]),
  ]

  @Test("RFC 5322 Appendix A", arguments: appendixA)
  func appendixAExamples(value: String, expected: [String]) {
    #expect(Self.parse(value) == expected)
  }

  // MARK: Other forms

  static let forms: [(String, [String])] = [
    ("", []),
    ("  (just a comment) ", []),
    (",,a@b,,,c@d,", ["|a@b", "|c@d"]),
    ("root", ["|root"]),
    ("<root>", ["|root"]),
    ("Charlie Root <root>", ["Charlie Root|root"]),
    ("\"john\".\"doe\"@x", ["|john.doe@x"]),
    ("\"a b\".c@x", ["|\"a b.c\"@x"]),
    ("\"quoted\\\\back\"@x", ["|\"quoted\\\\back\"@x"]),
    ("\"\"@x", ["|\"\"@x"]),
    ("x@[ 192.0.2.1 ]", ["|x@[192.0.2.1]"]),
    ("x@[IPv6:2001:db8::1]", ["|x@[IPv6:2001:db8::1]"]),
    ("<@a.test,@b.test:user@c.test>", ["|user@c.test"]),
    ("<,@a.test,,@b.test:user@c.test>", ["|user@c.test"]),
    ("user@host (Real Name)", ["|user@host"]),
    ("alice@example.org <bob@example.org>", ["alice@example.org|bob@example.org"]),
    ("José <josé@exämple.org>", ["José|josé@exämple.org"]),
    ("undisclosed-recipients:", ["undisclosed-recipients:[]"]),
    ("g: a@b, ;, x@y", ["g:[|a@b]", "|x@y"]),
    ("a@b,\r\n\tc@d", ["|a@b", "|c@d"]),
    ("=?UTF-8?B?w6l0w6k=?= <e@x>", ["=?UTF-8?B?w6l0w6k=?=|e@x"]),
    ("Dr. Who <dr@who.test>", ["Dr. Who|dr@who.test"]),
  ]

  @Test("Groups, comments, quoted strings, obsolete forms", arguments: forms)
  func otherForms(value: String, expected: [String]) {
    #expect(Self.parse(value) == expected)
  }

  @Test("The display name is never the address")
  func spoof() throws {
    let list = try AddressParser.parseAddressList("alice@example.org <bob@example.org>")
    #expect(list.flatMap(\.mailboxes).map(\.addrSpec) == ["bob@example.org"])
    #expect(try AddressParser.parseRecipients("alice@example.org <bob@example.org>")
      .map(\.addrSpec) == ["bob@example.org"])
    #expect(throws: AddressError.unexpected(near: "bob@example.org")) {
      try AddressParser.parseAddressList("alice@example.org bob@example.org")
    }
  }

  // MARK: Errors

  static let malformed: [(String, AddressError)] = [
    ("a@", .badDomain(near: "a@")),
    ("@b", .badLocalPart(near: "@b")),
    ("g:; x@y", .unexpected(near: "x@y")),
    ("a..b@x", .badLocalPart(near: "..b@x")),
    ("a@b..c", .badDomain(near: "b..c")),
    ("John Smith", .unexpected(near: "Smith")),
    ("\"open", .unterminatedQuotedString(near: "\"open")),
    ("(open a@b", .unterminatedComment(near: "(open a@b")),
    ("a@[1.2", .unterminatedDomainLiteral(near: "[1.2")),
    ("Name <a@b", .unterminatedAngleAddress(near: "<a@b")),
    ("Name <>", .emptyAngleAddress(near: "<>")),
    ("a@b>", .unexpected(near: ">")),
    ("a@b; c@d", .unexpected(near: "; c@d")),
    ("g: h: a@b;;", .badGroup(near: "h: a@b;;")),
    (": a@b;", .badGroup(near: ": a@b;")),
    ("a@b\r\nBcc: evil@x", .lineBreak(near: "\r\nBcc: evil@x")),
    ("a@b\nc@d", .lineBreak(near: "\nc@d")),
    ("a@b\r", .lineBreak(near: "\r")),
    ("\"a\r\nb\"@x", .lineBreak(near: "\r\nb\"@x")),
    ("a\u{0}b@x", .controlCharacter(near: "\u{0}b@x")),
    ("a@b\u{7f}", .controlCharacter(near: "\u{7f}")),
    ("a)b@x", .unexpected(near: ")b@x")),
    ("[1.2.3.4]", .badLocalPart(near: "[1.2.3.4]")),
    ("Mr. Smith, Jr. <smith@example.com>", .badDomain(near: "Mr. Smith, Jr. <smith@example.com>")),
    ("\"x@y\"", .badDomain(near: "\"x@y\"")),
    ("<a .b>", .badDomain(near: "a .b>")),
  ]

  @Test("Malformed input throws an error naming the bad text", arguments: malformed)
  func malformedInput(value: String, expected: AddressError) {
    #expect(throws: expected) { try AddressParser.parseAddressList(value) }
  }

  @Test("Invalid UTF-8 in an address is refused, in a display name replaced")
  func invalidUTF8() throws {
    let bad: [UInt8] = Array("caf".utf8) + [0xE9] + Array("@x".utf8)
    #expect(throws: AddressError.invalidUTF8(near: "caf\u{FFFD}@x")) {
      try AddressParser.parseAddressList(bad)
    }
    let name: [UInt8] = [0xE9] + Array(" <a@b>".utf8)
    let list = try AddressParser.parseAddressList(name)
    #expect(list == [.mailbox(Mailbox(displayName: "\u{FFFD}", localPart: "a", domain: "b"))])
  }

  // MARK: Command line and -f

  @Test("Command-line recipients")
  func commandLine() throws {
    #expect(try AddressParser.parseRecipients("user@host").map(\.addrSpec) == ["user@host"])
    #expect(try AddressParser.parseRecipients("<user@host>").map(\.addrSpec) == ["user@host"])
    let named = try AddressParser.parseRecipients("Name <user@host>")
    #expect(named == [Mailbox(displayName: "Name", localPart: "user", domain: "host")])
    let local = try AddressParser.parseRecipients("root")
    #expect(local.count == 1 && local[0].isLocal && local[0].addrSpec == "root")
    #expect(try AddressParser.parseRecipients("a@b, root ,c@d").map(\.addrSpec)
      == ["a@b", "root", "c@d"])
    #expect(throws: AddressError.empty) { try AddressParser.parseRecipients(" ") }
    #expect(throws: AddressError.empty) { try AddressParser.parseRecipients("g:;") }
    #expect(throws: AddressError.lineBreak(near: "\r\n x@y")) {
      try AddressParser.parseRecipients("a@b,\r\n x@y")
    }
  }

  @Test("Envelope sender for -f")
  func sender() throws {
    #expect(try AddressParser.parseSender("") == nil)
    #expect(try AddressParser.parseSender("<>") == nil)
    #expect(try AddressParser.parseSender(" < > ") == nil)
    #expect(try AddressParser.parseSender("user@example.com")?.addrSpec == "user@example.com")
    #expect(try AddressParser.parseSender("<user@example.com>")?.addrSpec == "user@example.com")
    #expect(try AddressParser.parseSender("root")?.isLocal == true)
    #expect(throws: AddressError.notASingleMailbox(near: "a@b, c@d")) {
      try AddressParser.parseSender("a@b, c@d")
    }
    #expect(throws: AddressError.notASingleMailbox(near: "g: a@b;")) {
      try AddressParser.parseSender("g: a@b;")
    }
    #expect(throws: AddressError.lineBreak(near: "\nRCPT TO:<x@y>")) {
      try AddressParser.parseSender("a@b\nRCPT TO:<x@y>")
    }
  }

  @Test("Non-ASCII addresses are flagged for SMTPUTF8")
  func smtputf8() throws {
    #expect(try AddressParser.parseMailbox("josé@example.org").requiresSMTPUTF8)
    #expect(try AddressParser.parseMailbox("jose@exämple.org").requiresSMTPUTF8)
    #expect(try !AddressParser.parseMailbox("José <jose@example.org>").requiresSMTPUTF8)
  }

  @Test("Canonical addr-spec quoting")
  func canonical() {
    #expect(Mailbox(localPart: "a b", domain: "x").addrSpec == "\"a b\"@x")
    #expect(Mailbox(localPart: ".a", domain: "x").addrSpec == "\".a\"@x")
    #expect(Mailbox(localPart: "a\"b", domain: "x").addrSpec == "\"a\\\"b\"@x")
    #expect(Mailbox(localPart: "a.b+c", domain: "x").addrSpec == "a.b+c@x")
    #expect(Mailbox(localPart: "A", domain: "EXAMPLE.org").deduplicationKey == "A@example.org")
  }

  @Test("Random bytes never crash the parsers")
  func junk() {
    var seed: UInt64 = 42
    let alphabet = Array("a@.,;:<>()\"\\[] \t\r\nb".utf8) + [0, 0x80, 0xC3, 0xA9, 0xFF]
    for _ in 0..<3000 {
      var bytes: [UInt8] = []
      for _ in 0..<Int(seed % 40) {
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        bytes.append(alphabet[Int(seed >> 33) % alphabet.count])
      }
      if let list = try? AddressParser.parseAddressList(bytes) {
        for m in list.flatMap(\.mailboxes) {
          #expect(!m.addrSpec.utf8.contains { $0 < 0x20 })
        }
      }
      _ = try? AddressParser.parseRecipients(String(decoding: bytes, as: UTF8.self))
    }
  }
}
