// The real gsendmail binary against the Gmail test server: each SPEC §7 outcome,
// checked through the exit code, stderr and what the server recorded.
import Foundation
import TestServerKit
import Testing

@Suite("Sending through the Gmail test server", .serialized)
struct SendTests {
  // MARK: Success

  @Test("STARTTLS + AUTH PLAIN with an app password delivers the message as given")
  func passwordSend() throws {
    let rig = try Rig()
    let config = try rig.config()
    let r = try rig.send(["-C", config, "-t"], "To: bob@example.org\nCc: carol@example.org\nBcc: dave@example.org\nSubject: x\n\nbody\n")
    #expect(r.status == 0, "\(r.stderr)")
    let m = try #require(rig.received.first)
    #expect(m.record.recipients == ["bob@example.org", "carol@example.org", "dave@example.org"])
    #expect(m.record.mailFrom == "alice@example.com")
    #expect(m.record.tls && m.record.authMechanism == "PLAIN" && m.record.helloName == "client.example.org")
    let data = String(decoding: m.data, as: UTF8.self)
    #expect(!data.contains("Bcc") && !data.contains("dave"))
    #expect(data.contains("\r\nbody\r\n") && data.contains("Message-ID: <") && data.contains("Date: "))
  }

  @Test("Implicit TLS (465 style) with XOAUTH2 and a cached token")
  func xoauth2Implicit() throws {
    let rig = try Rig()
    try rig.storeToken(rig.token)
    let config = try rig.config(auth: "oauth", implicitTLS: true)
    let r = try rig.send(["-C", config, "bob@example.org"], simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(rig.received.first?.record.authMechanism == "XOAUTH2")
  }

  @Test("OAUTHBEARER when the account asks for it")
  func oauthBearer() throws {
    let rig = try Rig()
    try rig.storeToken(rig.token)
    let config = try rig.config(auth: "oauth", accountExtra: "mechanism = \"oauthbearer\"\n")
    let r = try rig.send(["-C", config, "bob@example.org"], simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(rig.received.first?.record.authMechanism == "OAUTHBEARER")
  }

  @Test("password_command supplies the password; a failing command is temporary (75) with its stderr")
  func passwordCommand() throws {
    let rig = try Rig()
    var r = try rig.send(["-C", try rig.config(passwordCommand: "echo \(rig.password)"), "bob@example.org"], simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    r = try rig.send(["-C", try rig.config(passwordCommand: "echo vault locked >&2; exit 3"), "bob@example.org"], simpleMessage)
    #expect(r.status == 75)
    #expect(r.stderr.contains("vault locked"))
  }

  @Test("A password_command that hangs is killed after the timeout: 75")
  func passwordCommandTimeout() throws {
    let rig = try Rig()
    let start = Date()
    let r = try rig.send(["-C", try rig.config(timeout: "1s", passwordCommand: "sleep 30; echo x"), "bob@example.org"], simpleMessage)
    #expect(r.status == 75 && r.stderr.contains("did not finish"), "\(r.stderr)")
    #expect(Date().timeIntervalSince(start) < 10)
  }

  @Test("The relay with auth none and a proper EHLO name")
  func relay() throws {
    let rig = try Rig(mode: .relay)
    let config = try rig.config(auth: "none")
    let r = try rig.send(["-C", config, "bob@example.org"], simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(rig.received.first?.record.authMechanism == nil)
  }

  @Test("A body line over 998 octets is sent quoted-printable; no wire line exceeds 1000")
  func longLine() throws {
    let rig = try Rig()
    let config = try rig.config()
    let long = String(repeating: "x", count: 3000)
    let r = try rig.send(["-C", config, "bob@example.org"], "Subject: long\n\n\(long)\n")
    #expect(r.status == 0, "\(r.stderr)")
    let data = String(decoding: try #require(rig.received.first).data, as: UTF8.self)
    #expect(data.contains("Content-Transfer-Encoding: quoted-printable"))
    #expect(data.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 998 })
  }

  @Test("8-bit bodies go with BODY=8BITMIME; dots are stuffed and unstuffed")
  func eightBitAndDots() throws {
    let rig = try Rig()
    let config = try rig.config()
    let r = try rig.send(["-C", config, "-i", "bob@example.org"], "Subject: é\n\nGrüße\n.\n..hidden\n")
    #expect(r.status == 0, "\(r.stderr)")
    let m = try #require(rig.received.first)
    #expect(m.record.mailParameters.contains("BODY=8BITMIME"))
    #expect(String(decoding: m.data, as: UTF8.self).hasSuffix("\r\nGrüße\r\n.\r\n..hidden\r\n"))
  }

  // MARK: Failures and their exit codes (queue = false)

  @Test("Permanent recipient rejection: 67, nothing sent")
  func recipientRejected() throws {
    let rig = try Rig(scenarios: [.permanentRecipientFailure("nobody@example.org")])
    let config = try rig.config()
    let r = try rig.send(["-C", config, "bob@example.org", "nobody@example.org"], simpleMessage)
    #expect(r.status == 67)
    #expect(r.stderr.hasPrefix("gsendmail: ") && r.stderr.contains("nobody@example.org") && r.stderr.contains("550"))
    #expect(rig.received.isEmpty)
  }

  @Test("Temporary recipient failure: 75")
  func recipientDeferred() throws {
    let rig = try Rig(scenarios: [.temporaryRecipientFailure("busy@example.org")])
    let r = try rig.send(["-C", try rig.config(), "busy@example.org"], simpleMessage)
    #expect(r.status == 75, "\(r.stderr)")
  }

  @Test("421 at the greeting: 75")
  func greeting421() throws {
    let rig = try Rig(scenarios: [.rejectGreeting])
    let r = try rig.send(["-C", try rig.config(), "bob@example.org"], simpleMessage)
    #expect(r.status == 75)
    #expect(r.stderr.contains("421"))
  }

  @Test("The relay rejects EHLO localhost: 75 and the helo hint")
  func ehloRejected() throws {
    let rig = try Rig(mode: .relay)
    let r = try rig.send(["-C", try rig.config(auth: "none", helo: "localhost"), "bob@example.org"], simpleMessage)
    #expect(r.status == 75)
    #expect(r.stderr.contains("helo") && r.stderr.contains("FQDN"))
  }

  @Test("Message too big for the server's SIZE: 65, refused before MAIL")
  func tooBig() throws {
    let rig = try Rig(maxMessageSize: 1000)
    let r = try rig.send(["-C", try rig.config(), "bob@example.org"], "Subject: big\n\n" + String(repeating: "0123456789\n", count: 200))
    #expect(r.status == 65, "\(r.stderr)")
    #expect(r.stderr.contains("bytes as it would be sent, over the server's SIZE limit (1000 bytes); it was not sent"), "\(r.stderr)")
    #expect(rig.received.isEmpty)
  }

  @Test("Daily limit after DATA (550 5.4.5) with queue = false: 75, a limit to wait for, not a refusal")
  func dailyLimit() throws {
    let rig = try Rig(scenarios: [.dailyLimit(after: 0)])
    let r = try rig.send(["-C", try rig.config(), "bob@example.org"], simpleMessage)
    #expect(r.status == 75)
    #expect(r.stderr.contains("5.4.5") && r.stderr.contains("Gmail daily sending limit"))
  }

  @Test("Connection dropped mid-DATA: 75")
  func dropMidData() throws {
    let rig = try Rig(scenarios: [.dropMidData(afterBytes: 10)])
    let r = try rig.send(["-C", try rig.config(), "bob@example.org"], simpleMessage + String(repeating: "line\n", count: 100))
    #expect(r.status == 75, "\(r.stderr)")
  }

  @Test("A server that stops answering: 75 within the timeout", arguments: [GmailPhase.greeting, .ehlo, .mail, .end])
  func stall(phase: GmailPhase) throws {
    let rig = try Rig(scenarios: [.stall(phase)])
    let config = try rig.config(timeout: "1s")
    let start = Date()
    let r = try rig.send(["-C", config, "bob@example.org"], simpleMessage, timeout: 30)
    #expect(r.status == 75 && !r.timedOut, "\(r.stderr)")
    // The wait for the reply to the end of data is 10x the timeout (RFC 5321 §4.5.3.2.6).
    let elapsed = Date().timeIntervalSince(start)
    #expect(elapsed < (phase == .end ? 15 : 5))
    if phase == .end { #expect(elapsed >= 9.5, "the end-of-data wait must be 10x the timeout") }
  }

  @Test("A rejected token (334 challenge, 535): 77, and the challenge is explained")
  func badToken() throws {
    let rig = try Rig(scenarios: [.badToken])
    try rig.storeToken(rig.token)
    let r = try rig.send(["-C", try rig.config(auth: "oauth"), "bob@example.org"], simpleMessage)
    #expect(r.status == 77, "\(r.stderr)")
    #expect(r.stderr.contains("535"))
  }

  @Test("No token yet: 77 with the login hint")
  func noToken() throws {
    let rig = try Rig()
    let r = try rig.send(["-C", try rig.config(auth: "oauth"), "bob@example.org"], simpleMessage)
    #expect(r.status == 77)
    #expect(r.stderr.contains("gsendmailctl login alice"))
  }

  @Test("A wrong password: 77")
  func wrongPassword() throws {
    let rig = try Rig()
    let config = try rig.config()
    try rig.write("pw", "wrong\n")
    let r = try rig.send(["-C", config, "bob@example.org"], simpleMessage)
    #expect(r.status == 77, "\(r.stderr)")
  }

  // MARK: -bs

  @Test("-bs: a device hands over a message in SMTP; it is sent with the account's credentials")
  func smtpServerMode() throws {
    let rig = try Rig()
    let config = try rig.config()
    let dialogue = "EHLO printer.local\r\nMAIL FROM:<alice@example.com> BODY=8BITMIME\r\nRCPT TO:<bob@example.org>\r\n"
      + "DATA\r\nSubject: scan\r\n\r\n..dot line\r\nscanned page\r\n.\r\nVRFY bob\r\nBOGUS\r\nQUIT\r\n"
    let r = try rig.send(["-C", config, "-bs"], dialogue)
    #expect(r.status == 0, "\(r.stderr)")
    let replies = r.out.components(separatedBy: "\r\n").filter { !$0.isEmpty }
    #expect(replies.first?.hasPrefix("220 ") == true)
    #expect(replies.contains("250 2.0.0 OK: sent"))
    #expect(replies.contains { $0.hasPrefix("252") } && replies.contains { $0.hasPrefix("500") })
    #expect(replies.last?.hasPrefix("221") == true)
    let m = try #require(rig.received.first)
    #expect(m.record.recipients == ["bob@example.org"] && m.record.authMechanism == "PLAIN")
    #expect(String(decoding: m.data, as: UTF8.self).contains("\r\n.dot line\r\nscanned page\r\n"))
  }

  @Test("-bs with a configuration it cannot read answers 421")
  func smtpServerModeConfigError() throws {
    let r = try Harness.run(Harness.binary("gsendmail"), ["-C", "/nonexistent/config.toml", "-bs"], stdin: "EHLO x\r\n".bytes)
    #expect(r.status == 78 && r.out.hasPrefix("421 4.3.5 "), "\(r.out)")
  }

  @Test("-bs: a recipient the server refuses gets 550; the session goes on")
  func smtpServerModeRefusal() throws {
    let rig = try Rig(scenarios: [.permanentRecipientFailure("nobody@example.org")])
    let dialogue = "HELO printer\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n"
      + "Subject: x\r\n\r\ny\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n"
    let r = try rig.send(["-C", try rig.config(), "-bs"], dialogue)
    let replies = r.out.components(separatedBy: "\r\n")
    #expect(replies.contains { $0.hasPrefix("550 5.1.1") && $0.contains("nobody@example.org") }, "\(r.out)")
    #expect(replies.contains { $0.hasPrefix("221") })
  }

  @Test("-bs: local names as on the command line: MAIL FROM:<root> as -f root, RCPT TO:<name> through the aliases, one refused alone")
  func smtpServerModeLocalNames() throws {
    let rig = try Rig()
    let aliases = rig.dir.appendingPathComponent("aliases").path
    try Data("ops: bob@example.org\nprinter: |/usr/bin/lpr\n".utf8).write(to: URL(fileURLWithPath: aliases))
    let config = try rig.write(
      "local.toml", "aliases = \"\(aliases)\"\n" + (try String(contentsOfFile: try rig.config(), encoding: .utf8)))
    // An unknown name goes to the account's address; one aliased to a pipe is refused alone.
    let dialogue = "EHLO nas\r\nMAIL FROM:<root>\r\nRCPT TO:<printer>\r\nRCPT TO:<ops>\r\nRCPT TO:<nosuchname>\r\n"
      + "DATA\r\nSubject: disk\r\n\r\nfull\r\n.\r\nQUIT\r\n"
    let r = try rig.send(["-C", config, "-bs"], dialogue)
    let replies = r.out.components(separatedBy: "\r\n")
    #expect(replies.contains { $0.hasPrefix("550 5.1.1") && $0.contains("printer") }, "\(r.out)")
    #expect(replies.contains("250 2.0.0 OK: sent"), "\(r.out)")
    let m = try #require(rig.received.first)
    #expect(m.record.recipients == ["bob@example.org", "alice@example.com"] && m.record.mailFrom == "alice@example.com")
  }

  // MARK: Security

  @Test("Certificate for another host name: no credentials sent, 75")
  func wrongHostName() throws {
    let rig = try Rig(certificateName: "wrong.example")
    let r = try rig.send(["-C", try rig.config(), "bob@example.org"], simpleMessage)
    #expect(r.status == 75)
    #expect(r.stderr.contains("certificate"))
    #expect(rig.server.sessions.allSatisfy { $0.authentications.isEmpty })
    #expect(rig.received.isEmpty)
  }

  @Test("Untrusted CA (the system store does not know the test CA): no credentials, 75")
  func untrustedCA() throws {
    let rig = try Rig()
    let r = try rig.send(["-C", try rig.config(caFile: .none), "bob@example.org"], simpleMessage)
    #expect(r.status == 75)
    #expect(rig.server.sessions.allSatisfy { $0.authentications.isEmpty })
  }

  @Test("-v shows the dialogue with every secret redacted")
  func verboseRedacts() throws {
    let rig = try Rig()
    try rig.storeToken(rig.token)
    for auth in ["password", "oauth"] {
      let r = try rig.send(["-C", try rig.config(auth: auth), "-v", "bob@example.org"], simpleMessage)
      #expect(r.status == 0)
      #expect(r.stderr.contains("AUTH ") && r.stderr.contains("<redacted>"))
      for secret in [rig.password, rig.token, Data(rig.password.utf8).base64EncodedString()] {
        #expect(!r.stderr.contains(secret) && !r.out.contains(secret))
      }
      let b64 = Data("user=alice@example.com\u{1}auth=Bearer \(rig.token)\u{1}\u{1}".utf8).base64EncodedString()
      #expect(!r.stderr.contains(b64))
    }
  }
}
