// SPDX-License-Identifier: MIT
import MessageCore
import Testing

@Suite("APIRecipientReconciler")
struct APIRecipientReconcilerTests {
  /// The reconciled header for `header` (LF lines), as text with LF line ends.
  static func upload(_ header: String, envelope: [String], local: [String: [String]] = [:]) throws -> String {
    let fields = try scan(header + "\n\n", .whole).get().fields
    let bytes = try APIRecipientReconciler.reconcile(fields, envelope: envelope, localNames: local)
    return String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
  }

  static func refusal(_ header: String, envelope: [String], local: [String: [String]] = [:])
    -> APIRecipientReconciler.Refusal?
  {
    do {
      _ = try upload(header, envelope: envelope, local: local)
      return nil
    } catch let error as APIRecipientReconciler.Refusal {
      return error
    } catch {
      return nil
    }
  }

  @Test("A header that names exactly the envelope is uploaded byte for byte")
  func unchanged() throws {
    let header = "From: a@example.org\nTo: \"Bob B.\" <bob@example.net>,\n carol@example.net\nSubject: hi"
    #expect(try Self.upload(header, envelope: ["bob@example.net", "carol@example.net"]) == header + "\n\n")
  }

  @Test("Envelope recipients the header does not name go in one Bcc field")
  func hiddenRecipients() throws {
    let out = try Self.upload(
      "To: bob@example.net\nSubject: x", envelope: ["bob@example.net", "dave@example.net", "erin@example.net"])
    #expect(out == "To: bob@example.net\nSubject: x\nBcc: dave@example.net,\n erin@example.net\n\n")
  }

  @Test("No To or Cc at all: every recipient is in Bcc")
  func noVisibleRecipients() throws {
    #expect(try Self.upload("Subject: x", envelope: ["a@example.net"]) == "Subject: x\nBcc: a@example.net\n\n")
  }

  @Test("Addresses compare case-insensitively, and duplicates in the envelope are listed once")
  func caseInsensitive() throws {
    let out = try Self.upload("Cc: Bob@Example.NET", envelope: ["bob@example.net", "x@y.example", "X@Y.example"])
    #expect(out == "Cc: Bob@Example.NET\nBcc: x@y.example\n\n")
  }

  @Test("A local name the envelope resolved is rewritten to its addresses, display name kept")
  func localName() throws {
    let out = try Self.upload(
      "From: cron@example.org\nTo: root, \"Ops Team\" <ops>\nSubject: Cron <root@host> job",
      envelope: ["admin@example.com", "ops1@example.com", "ops2@example.com"],
      local: ["root": ["admin@example.com"], "ops": ["ops1@example.com", "ops2@example.com"]])
    #expect(
      out == "From: cron@example.org\nTo: admin@example.com,\n Ops Team <ops1@example.com>,\n"
        + " Ops Team <ops2@example.com>\nSubject: Cron <root@host> job\n\n")
    let quoted = try Self.upload("To: \"Smith, J.\" <js>", envelope: ["j@example.com"], local: ["js": ["j@example.com"]])
    #expect(quoted == "To: \"Smith, J.\" <j@example.com>\n\n")
  }

  @Test("Groups keep their name; an empty group is left as it is")
  func groups() throws {
    #expect(
      try Self.upload("To: undisclosed-recipients:;", envelope: ["a@example.net"])
        == "To: undisclosed-recipients:;\nBcc: a@example.net\n\n")
    #expect(
      try Self.upload("To: Team: root, b@example.net;", envelope: ["b@example.net", "r@example.net"], local: ["root": ["r@example.net"]])
        == "To: Team: r@example.net, b@example.net;\n\n")
  }

  @Test("A header recipient outside the envelope is refused, naming the address")
  func outsideEnvelope() {
    let refusal = Self.refusal("To: bob@example.net\nCc: Eve <eve@example.net>", envelope: ["bob@example.net"])
    #expect(refusal == .notInEnvelope(field: "Cc", address: "eve@example.net"))
    #expect(refusal?.description.contains("eve@example.net") == true)
    #expect(refusal?.description.contains("\n") == false)
  }

  @Test("A local name that is not resolved, or resolved outside the envelope, is refused")
  func unresolvedLocal() {
    #expect(Self.refusal("To: root", envelope: ["a@example.net"]) == .unresolvedLocalName(field: "To", name: "root"))
    #expect(
      Self.refusal("To: root", envelope: ["a@example.net"], local: ["root": ["admin@example.com"]])
        == .unresolvedLocalName(field: "To", name: "root"))
  }

  @Test("An old Bcc field is dropped; Resent- fields are not recipient fields for the API")
  func bccAndResent() throws {
    #expect(
      try Self.upload("To: a@example.net\nBcc: old@example.net", envelope: ["a@example.net"]) == "To: a@example.net\n\n")
    let resent = "Resent-To: new@example.net\nResent-From: me@example.org\nTo: orig@example.net"
    #expect(
      Self.refusal(resent, envelope: ["new@example.net"]) == .notInEnvelope(field: "To", address: "orig@example.net"))
    #expect(
      try Self.upload("Resent-To: new@example.net\nSubject: x", envelope: ["new@example.net"])
        == "Resent-To: new@example.net\nSubject: x\nBcc: new@example.net\n\n")
  }

  @Test("A malformed To is refused")
  func malformed() {
    guard case .malformed(field: "To", _) = Self.refusal("To: <a@", envelope: ["a@example.net"]) else {
      Issue.record("expected a malformed refusal")
      return
    }
  }

  @Test("localNames lists the bare names of To and Cc once each, in order")
  func names() throws {
    let fields = try scan("To: root, a@b.example\nCc: www-data, root\nBcc: nobody\n\n", .whole).get().fields
    #expect(try APIRecipientReconciler.localNames(in: fields) == ["root", "www-data"])
  }
}
