import Foundation
import TestServerKit
import Testing
import Transport

@Suite("Gmail emulator: the dialogues of Gmail on the wire", .serialized)
struct GmailDialogueTests {
  static let preTLS = [
    "250-smtp.gmail.com at your service, [127.0.0.1]", "250-SIZE 35882577", "250-8BITMIME",
    "250-STARTTLS", "250-ENHANCEDSTATUSCODES", "250-PIPELINING", "250-CHUNKING", "250 SMTPUTF8",
  ]
  static let postTLS = [
    "250-smtp.gmail.com at your service, [127.0.0.1]", "250-SIZE 35882577", "250-8BITMIME",
    "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH",
    "250-ENHANCEDSTATUSCODES", "250-PIPELINING", "250-CHUNKING", "250 SMTPUTF8",
  ]

  @Test("T1: 587, STARTTLS, XOAUTH2, one message; recorded in memory and on disk")
  func t1() throws {
    let server = try startServer()
    defer { server.stop() }
    let port = try #require(server.startTLSPort)
    let client = try SMTPTestClient(port: port, caFile: server.caFile)
    let greeting = try client.reply()
    let sid = try #require(server.sessions.first?.sid)
    #expect(greeting.map { masked($0, sid: sid) } == ["220 smtp.gmail.com ESMTP <sid> - gsmtp"])
    #expect(try client.command("EHLO client.example.org") == Self.preTLS)
    #expect(try client.command("STARTTLS") == ["220 2.0.0 Ready to start TLS"])
    try client.startTLS(caFile: server.caFile)
    #expect(try client.command("EHLO client.example.org") == Self.postTLS)
    let response = base64("user=alice@example.com\u{1}auth=Bearer ya29.AAAA\u{1}\u{1}")
    #expect(response == "dXNlcj1hbGljZUBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LkFBQUEBAQ==")
    #expect(try client.command("AUTH XOAUTH2 \(response)") == ["235 2.7.0 Accepted"])
    #expect(
      try client.command("MAIL FROM:<alice@example.com> SIZE=1234").map { masked($0, sid: sid) }
        == ["250 2.1.0 OK <sid> - gsmtp"])
    #expect(
      try client.command("RCPT TO:<bob@example.net>").map { masked($0, sid: sid) }
        == ["250 2.1.5 OK <sid> - gsmtp"])
    #expect(
      try client.command("DATA").map { masked($0, sid: sid) } == ["354 Go ahead <sid> - gsmtp"])
    try client.sendRaw(Array("Subject: t1\r\n\r\n..dot line\r\nend\r\n.\r\n".utf8))
    let end = try client.reply()
    #expect(end.count == 1)
    let endLine = masked(end[0], sid: sid)
    #expect(endLine.hasPrefix("250 2.0.0 OK  1") && endLine.hasSuffix(" <sid> - gsmtp"))
    #expect(
      try client.command("QUIT").map { masked($0, sid: sid) }
        == ["221 2.0.0 closing connection <sid> - gsmtp"])
    #expect(server.waitForEndedSessions(1))

    let message = try #require(server.messages.first)
    #expect(message.data == Array("Subject: t1\r\n\r\n.dot line\r\nend\r\n".utf8))
    #expect(message.record.mailFrom == "alice@example.com")
    #expect(message.record.mailParameters == ["SIZE=1234"])
    #expect(message.record.recipients == ["bob@example.net"])
    #expect(message.record.helloName == "client.example.org")
    #expect(message.record.tls)
    #expect(message.record.authMechanism == "XOAUTH2")
    #expect(message.record.authUser == "alice@example.com")
    #expect(message.record.replyCode == 250)
    let session = try #require(server.sessions.first)
    #expect(session.helloNames == ["client.example.org", "client.example.org"])
    #expect(session.tls && session.ended && session.end == "quit")
    #expect(
      session.authentications == [
        AuthRecord(mechanism: "XOAUTH2", user: "alice@example.com", credentialValid: true)
      ])

    let directory = try #require(server.recordDirectory)
    let file = try #require(message.record.file)
    #expect(FileManager.default.contents(atPath: file) == Data(message.data))
    let json = try JSONDecoder().decode(
      MessageRecord.self,
      from: try #require(FileManager.default.contents(atPath: "\(directory)/1.json")))
    #expect(json == message.record)
    let sessionJSON = try JSONDecoder().decode(
      SessionRecord.self,
      from: try #require(FileManager.default.contents(atPath: "\(directory)/session-1.json")))
    #expect(sessionJSON == session)
    for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
      let text = String(
        decoding: FileManager.default.contents(atPath: "\(directory)/\(name)") ?? Data(),
        as: UTF8.self)
      #expect(!text.contains("ya29.AAAA"), "no token in \(name)")
    }
  }

  @Test("T2: 465, a bad token: 334 JSON, empty line, multi-line 535 5.7.8")
  func t2() throws {
    let server = try startServer()
    defer { server.stop() }
    let client = try SMTPTestClient(
      port: try #require(server.implicitTLSPort), implicitTLS: true, caFile: server.caFile)
    _ = try client.reply()
    let sid = try #require(server.sessions.first?.sid)
    #expect(try client.command("EHLO client.example.org") == Self.postTLS)
    let response = base64("user=alice@example.com\u{1}auth=Bearer ya29.expired\u{1}\u{1}")
    #expect(
      try client.command("AUTH XOAUTH2 \(response)")
        == [
          "334 eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="
        ])
    #expect(
      try client.command("").map { masked($0, sid: sid) } == [
        "535-5.7.8 Username and Password not accepted. For more information, go to",
        "535 5.7.8  https://support.google.com/mail/?p=BadCredentials <sid> - gsmtp",
      ])
    try client.send("QUIT")
    _ = try client.reply()
    #expect(server.waitForEndedSessions(1))
    #expect(
      server.sessions.first?.authentications
        == [AuthRecord(mechanism: "XOAUTH2", user: "alice@example.com", credentialValid: false)])
    #expect(server.sessions.first?.listener == "implicit-tls")
  }

  @Test("T3: AUTH LOGIN with the app password; a wrong password gets 535")
  func t3() throws {
    let server = try startServer()
    defer { server.stop() }
    let client = try SMTPTestClient(
      port: try #require(server.implicitTLSPort), implicitTLS: true, caFile: server.caFile)
    _ = try client.reply()
    try client.command("EHLO client.example.org")
    #expect(try client.command("AUTH LOGIN") == ["334 VXNlcm5hbWU6"])
    #expect(try client.command(base64("alice@gmail.com")) == ["334 UGFzc3dvcmQ6"])
    #expect(try client.command(base64("wrong")).first?.hasPrefix("535-5.7.8 ") == true)
    #expect(
      try client.command("AUTH PLAIN \(base64("\0alice@gmail.com\0abcd efgh ijkl mnop"))") == [
        "235 2.7.0 Accepted"
      ])
  }

  @Test("T4: AUTH before STARTTLS, MAIL without AUTH, a display name in MAIL")
  func t4() throws {
    let server = try startServer()
    defer { server.stop() }
    let client = try SMTPTestClient(port: try #require(server.startTLSPort), caFile: server.caFile)
    _ = try client.reply()
    let sid = try #require(server.sessions.first?.sid)
    try client.command("EHLO client.example.org")
    #expect(
      try client.command(
        "AUTH XOAUTH2 \(base64("user=a@b.example\u{1}auth=Bearer ya29.AAAA\u{1}\u{1}"))"
      )
      .map { masked($0, sid: sid) } == [
        "530 5.7.0 Must issue a STARTTLS command first. <sid> - gsmtp"
      ])
    try client.command("STARTTLS")
    try client.startTLS(caFile: server.caFile)
    try client.command("EHLO client.example.org")
    #expect(
      try client.command("MAIL FROM:<alice@example.com>").map { masked($0, sid: sid) } == [
        "530-5.7.0 Authentication Required. For more information, go to",
        "530 5.7.0  https://support.google.com/mail/?p=WantAuthError <sid> - gsmtp",
      ])
    try client.command(
      "AUTH XOAUTH2 \(base64("user=a@b.example\u{1}auth=Bearer ya29.AAAA\u{1}\u{1}"))")
    #expect(
      try client.command("MAIL FROM:<\"Alice\" <alice@example.com>>").map { masked($0, sid: sid) }
        == [
          "555-5.5.2 Syntax error, cannot decode response. For more information, go to",
          "555-5.5.2  https://support.google.com/a/answer/3221692 and review RFC 5321",
          "555 5.5.2 specifications. <sid> - gsmtp",
        ])
    #expect(
      try client.command("STARTTLS").first?.hasPrefix("454 5.5.1 STARTTLS may not be repeated.")
        == true)
  }

  @Test("T5: relay mode refuses EHLO localhost with 421 and closes; a FQDN sends without AUTH")
  func t5() throws {
    let server = try startServer { $0.mode = .relay }
    defer { server.stop() }
    let port = try #require(server.startTLSPort)
    let first = try SMTPTestClient(port: port, caFile: server.caFile)
    let greeting = try first.reply()
    let sid = try #require(server.sessions.first?.sid)
    #expect(
      greeting.map { masked($0, sid: sid) } == ["220 smtp-relay.gmail.com ESMTP <sid> - gsmtp"])
    #expect(
      try first.command("EHLO localhost").map { masked($0, sid: sid) }
        == ["421 4.7.0 Try again later, closing connection. (EHLO) <sid> - gsmtp"])
    #expect(first.isClosedByServer())

    for name in ["[127.0.0.1]", "127.0.0.1"] {
      let client = try SMTPTestClient(port: port, caFile: server.caFile)
      _ = try client.reply()
      #expect(
        try client.command("EHLO \(name)").first?.hasPrefix("421 4.7.0 Try again later") == true)
    }
    let empty = try SMTPTestClient(port: port, caFile: server.caFile)
    _ = try empty.reply()
    #expect(try empty.command("EHLO").first?.hasPrefix("421 4.7.0 Try again later") == true)
    #expect(empty.isClosedByServer())

    let second = try SMTPTestClient(port: port, caFile: server.caFile)
    _ = try second.reply()
    let ehlo = try second.command("EHLO mailer01.corp.example.com")
    #expect(ehlo.first == "250-smtp-relay.gmail.com at your service, [127.0.0.1]")
    #expect(
      try second.command("MAIL FROM:<noreply@corp.example.com>").first?.hasPrefix("250 2.1.0 OK")
        == true)
    #expect(try second.command("RCPT TO:<x@example.net>").first?.hasPrefix("250 2.1.5 OK") == true)
  }
}
