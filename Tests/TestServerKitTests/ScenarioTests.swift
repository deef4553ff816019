import Foundation
import TestServerKit
import Testing
import Transport

@Suite("Gmail emulator: failure scenarios", .serialized)
struct ScenarioTests {
  /// A client on the implicit-TLS port after EHLO and AUTH XOAUTH2, and the AUTH reply.
  static func authenticating(_ server: GmailTestServer) throws -> (client: SMTPTestClient, reply: [String]) {
    let client = try SMTPTestClient(
      port: try #require(server.implicitTLSPort), implicitTLS: true, caFile: server.caFile)
    _ = try client.reply()
    try client.command("EHLO client.example.org")
    let reply = try client.command(
      "AUTH XOAUTH2 \(base64("user=alice@example.com\u{1}auth=Bearer ya29.AAAA\u{1}\u{1}"))")
    return (client, reply)
  }

  /// A client after EHLO and an accepted AUTH on the implicit-TLS port.
  static func authenticated(_ server: GmailTestServer) throws -> SMTPTestClient {
    let (client, reply) = try authenticating(server)
    #expect(reply == ["235 2.7.0 Accepted"])
    return client
  }

  @Test("greeting-421 and ehlo-421 close the connection")
  func fourTwentyOne() throws {
    let greeting = try startServer { $0.scenarios = [.rejectGreeting] }
    defer { greeting.stop() }
    let first = try SMTPTestClient(
      port: try #require(greeting.startTLSPort), caFile: greeting.caFile)
    #expect(
      try first.reply().first?.hasPrefix("421 4.7.0 Try again later, closing connection.") == true)
    #expect(first.isClosedByServer())

    let ehlo = try startServer { $0.scenarios = [.rejectEHLO] }
    defer { ehlo.stop() }
    let second = try SMTPTestClient(port: try #require(ehlo.startTLSPort), caFile: ehlo.caFile)
    _ = try second.reply()
    #expect(
      try second.command("EHLO mail.example.org").first?.hasPrefix(
        "421 4.7.0 Try again later, closing connection. (EHLO) ") == true)
    #expect(second.isClosedByServer())
    #expect(ehlo.waitForEndedSessions(1))
    #expect(ehlo.sessions.first?.end == "closed-by-server")
  }

  @Test("ehlo-local-421 applies the relay's EHLO check on smtp.gmail.com")
  func localEHLO() throws {
    let server = try startServer { $0.scenarios = [.rejectLocalEHLO] }
    defer { server.stop() }
    let client = try SMTPTestClient(port: try #require(server.startTLSPort), caFile: server.caFile)
    _ = try client.reply()
    #expect(try client.command("EHLO [127.0.0.1]").first?.hasPrefix("421 4.7.0") == true)
    let good = try SMTPTestClient(port: try #require(server.startTLSPort), caFile: server.caFile)
    _ = try good.reply()
    #expect(
      try good.command("EHLO host.example.org").first?.hasPrefix("250-smtp.gmail.com") == true)
  }

  @Test("Per-recipient 4xx and 5xx; the message goes to the others")
  func recipients() throws {
    let server = try startServer {
      $0.scenarios = [
        .temporaryRecipientFailure("slow@example.net"),
        .permanentRecipientFailure("gone@example.net"),
      ]
    }
    defer { server.stop() }
    let client = try Self.authenticated(server)
    try client.command("MAIL FROM:<alice@example.com>")
    #expect(try client.command("RCPT TO:<slow@example.net>").first?.hasPrefix("450-4.2.1 ") == true)
    #expect(
      try client.command("RCPT TO:<Gone@Example.net>").last?.hasPrefix("550 5.1.1  https://")
        == true)
    #expect(try client.command("RCPT TO:<ok@example.net>").first?.hasPrefix("250 2.1.5 OK") == true)
    try client.command("DATA")
    try client.sendRaw(Array("x\r\n.\r\n".utf8))
    #expect(try client.reply().first?.hasPrefix("250 2.0.0 OK  ") == true)
    #expect(server.messages.first?.record.recipients == ["ok@example.net"])
    #expect(server.sessions.first?.rejectedRecipients == ["slow@example.net", "Gone@Example.net"])
  }

  @Test("SIZE: 552 5.3.4 on MAIL with a large SIZE= and after DATA over the limit")
  func size() throws {
    let server = try startServer { $0.maxMessageSize = 100 }
    defer { server.stop() }
    let client = try Self.authenticated(server)
    let tooBig = try client.command("MAIL FROM:<alice@example.com> SIZE=101")
    #expect(
      tooBig.first
        == "552-5.3.4 Your message exceeded Google's message size limits. For more information, go to"
    )
    #expect(
      tooBig.last?.hasPrefix("552 5.3.4  https://support.google.com/mail/?p=MaxSizeError ") == true)
    try client.command("MAIL FROM:<alice@example.com> SIZE=100")
    try client.command("RCPT TO:<bob@example.net>")
    try client.command("DATA")
    try client.sendRaw(Array((String(repeating: "z", count: 120) + "\r\n.\r\n").utf8))
    #expect(try client.reply().first?.hasPrefix("552-5.3.4 ") == true)
    #expect(server.messages.isEmpty)
  }

  @Test("daily-limit=1: the first message is accepted, the second gets 550 5.4.5 after DATA")
  func dailyLimit() throws {
    let server = try startServer { $0.scenarios = [.dailyLimit(after: 1)] }
    defer { server.stop() }
    let client = try Self.authenticated(server)
    var replies: [[String]] = []
    for _ in 0..<2 {
      try client.command("MAIL FROM:<alice@example.com>")
      try client.command("RCPT TO:<bob@example.net>")
      try client.command("DATA")
      try client.sendRaw(Array("x\r\n.\r\n".utf8))
      replies.append(try client.reply())
    }
    #expect(replies[0].first?.hasPrefix("250 2.0.0 OK  ") == true)
    #expect(
      replies[1].first == "550-5.4.5 Daily user sending limit exceeded. For more information, go to"
    )
    #expect(
      replies[1].last?.hasPrefix(
        "550 5.4.5  https://support.google.com/mail/?p=DailyLimitExceeded ") == true)
    #expect(server.messages.map(\.record.replyCode) == [250, 550])
  }

  @Test("drop-mid-data closes the connection without a reply and records nothing")
  func dropMidData() throws {
    let server = try startServer { $0.scenarios = [.dropMidData(afterBytes: 1)] }
    defer { server.stop() }
    let client = try Self.authenticated(server)
    try client.command("MAIL FROM:<alice@example.com>")
    try client.command("RCPT TO:<bob@example.net>")
    #expect(try client.command("DATA").first?.hasPrefix("354 Go ahead") == true)
    try client.sendRaw(Array("Subject: x\r\n\r\nbody\r\n.\r\n".utf8))
    #expect(client.isClosedByServer())
    #expect(server.waitForEndedSessions(1))
    #expect(server.sessions.first?.end == "dropped")
    #expect(server.messages.isEmpty)
  }

  @Test("stall=data: no reply to DATA; stop() still ends the session")
  func stall() throws {
    let server = try startServer { $0.scenarios = [.stall(.data)] }
    let client = try Self.authenticated(server)
    try client.command("MAIL FROM:<alice@example.com>")
    try client.command("RCPT TO:<bob@example.net>")
    try client.send("DATA")
    client.connection.timeout = .milliseconds(500)
    #expect(throws: TransportError.timedOut(.read)) { try client.reply() }
    server.stop()
    #expect(server.sessions.first?.end == "server-stopped")
  }

  @Test("bad-token refuses even a configured token")
  func badToken() throws {
    let server = try startServer { $0.scenarios = [.badToken] }
    defer { server.stop() }
    let reply = try Self.authenticating(server).reply
    #expect(reply.first?.hasPrefix("334 eyJzdGF0dXMiOiI0MDAi") == true)
  }

  @Test("The 101st RCPT gets 452 4.5.3")
  func recipientLimit() throws {
    let server = try startServer()
    defer { server.stop() }
    let client = try Self.authenticated(server)
    try client.command("MAIL FROM:<alice@example.com>")
    for index in 0..<100 {
      #expect(
        try client.command("RCPT TO:<r\(index)@example.net>").first?.hasPrefix("250 ") == true)
    }
    #expect(
      try client.command("RCPT TO:<r100@example.net>").first?.hasPrefix(
        "452-4.5.3 Your message has too many recipients.") == true)
  }

  @Test("Scenario names parse, and bad ones are refused")
  func parsing() throws {
    #expect(try GmailScenario.parse("greeting-421") == .rejectGreeting)
    #expect(
      try GmailScenario.parse("rcpt-5xx=bob@example.net")
        == .permanentRecipientFailure("bob@example.net"))
    #expect(try GmailScenario.parse("daily-limit") == .dailyLimit(after: 0))
    #expect(try GmailScenario.parse("daily-limit=3") == .dailyLimit(after: 3))
    #expect(try GmailScenario.parse("drop-mid-data") == .dropMidData(afterBytes: 1))
    #expect(try GmailScenario.parse("stall=end") == .stall(.end))
    #expect(throws: GmailScenario.ParseError.unknownName("nope")) {
      try GmailScenario.parse("nope")
    }
    #expect(throws: GmailScenario.ParseError.badArgument("stall=later")) {
      try GmailScenario.parse("stall=later")
    }
    #expect(throws: GmailScenario.ParseError.badArgument("rcpt-4xx")) {
      try GmailScenario.parse("rcpt-4xx")
    }
    #expect(throws: GmailScenario.ParseError.badArgument("ehlo-421=x")) {
      try GmailScenario.parse("ehlo-421=x")
    }
  }
}
