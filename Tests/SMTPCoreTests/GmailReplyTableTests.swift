// Every reply of docs/design.md, "Gmail on the wire" delivered at the step where Gmail sends it, and what the
// client makes of it: temporary or permanent, which phase, and whether the session goes on
// ("message-failed": the next message can use it; "failed": it is over). The front end pins
// exit codes on top of this classification.

import SMTPCore
import Testing

@Suite("Gmail reply table (Gmail on the wire)")
struct GmailReplyTableTests {
  /// Drives a fresh session to `phase` and hands it `reply` there; returns the outcome as
  /// `failed …`, `message-failed …` or another short word.
  static func outcome(of reply: SMTPReply, at phase: SMTPPhase) -> String {
    let authentication: SMTPClient.Authentication =
      phase == .auth ? .password(user: "alice@gmail.com", mechanism: .plain) : .none
    var client = SMTPClient(
      configuration: .init(
        heloName: "client.example.org", tls: .implicit, authentication: authentication))
    let ok = SMTPReply(code: 250, lines: ["2.0.0 OK"])
    // No PIPELINING: every command's reply comes back by itself.
    let ehlo = SMTPReply(
      code: 250, lines: ["smtp.gmail.com", "SIZE 35882577", "AUTH PLAIN LOGIN XOAUTH2"])
    var action = client.start()
    var steps: [SMTPReply] = [SMTPReply(code: 220, lines: ["smtp.gmail.com ESMTP"])]
    switch phase {
    case .greeting: steps = []
    case .ehlo: break
    case .auth: steps.append(ehlo)
    case .mailFrom: steps.append(ehlo)
    case .rcptTo: steps += [ehlo, ok]
    case .data: steps += [ehlo, ok, ok]
    case .endOfData: steps += [ehlo, ok, ok, SMTPReply(code: 354, lines: ["Go ahead"])]
    default: return "phase not in the table"
    }
    for step in steps + [reply] {
      action = client.received(step)
      switch action {
      case .requestCredential: action = client.credentialAvailable(Credential("abcdefghijklmnop"))
      case .readyForTransaction:
        action = client.beginTransaction(
          SMTPEnvelope(sender: "alice@gmail.com", recipients: ["bob@example.net"]))
      case .streamBody: action = client.bodyFinished()
      default: break
      }
    }
    if case .send(let commands) = action, commands.map(\.transcript) == ["RSET"] {
      action = client.received(ok)
    }
    switch action {
    case .fail(let failure, _): return "failed " + FailureText.render(failure)
    case .messageFailed(let failure): return "message-failed " + FailureText.render(failure)
    case .send(let commands): return "sent " + commands.map(\.transcript).joined(separator: ", ")
    default: return "\(action)"
    }
  }

  static let rows: [(String, SMTPPhase, String)] = [
    (
      "421 4.3.0 Temporary System Problem. Try again later", .greeting,
      "failed temporary rejected 421 4.3.0 greeting"
    ),
    ("421 4.4.5 Server busy, try again later.", .ehlo, "failed temporary rejected 421 4.4.5 ehlo"),
    (
      "421 4.7.0 IP not in whitelist for RCPT domain, closing connection.", .rcptTo,
      "failed temporary rejected 421 4.7.0 rcptTo"
    ),
    (
      "421 4.7.0 Temporary System Problem. Try again later.", .mailFrom,
      "failed temporary rejected 421 4.7.0 mailFrom"
    ),
    (
      "421 4.7.0 TLS required for RCPT domain, closing connection.", .rcptTo,
      "failed temporary rejected 421 4.7.0 rcptTo"
    ),
    (
      "421 4.7.0 Try again later, closing connection. (EHLO) <sid> - gsmtp", .ehlo,
      "failed temporary rejected 421 4.7.0 ehlo (helo-name)"
    ),
    (
      "421 4.7.0 Connection expired, try reconnecting.", .mailFrom,
      "failed temporary rejected 421 4.7.0 mailFrom"
    ),
    (
      "450 4.2.1 The user you are trying to contact is receiving mail too quickly.", .rcptTo,
      "message-failed temporary recipients-rejected bob@example.net=450"
    ),
    (
      "450 4.2.1 Peak SMTP relay limit exceeded for customer.", .rcptTo,
      "message-failed temporary recipients-rejected bob@example.net=450"
    ),
    (
      "451 4.3.0 Mail server temporarily rejected message.", .endOfData,
      "message-failed temporary rejected 451 4.3.0 endOfData"
    ),
    (
      "451 4.3.0 Multiple destination domains per transaction is unsupported.", .rcptTo,
      "message-failed temporary recipients-rejected bob@example.net=451"
    ),
    (
      "451 4.4.2 Timeout - closing connection.", .endOfData,
      "message-failed temporary rejected 451 4.4.2 endOfData"
    ),
    (
      "451 4.5.0 SMTP protocol violation, see RFC 2821.", .mailFrom,
      "message-failed temporary rejected 451 4.5.0 mailFrom"
    ),
    (
      "452 4.2.2 The email account that you tried to reach is over quota.", .rcptTo,
      "message-failed temporary recipients-rejected bob@example.net=452"
    ),
    (
      "452 4.5.3 Domain policy size per transaction exceeded.", .rcptTo,
      "message-failed temporary recipients-rejected bob@example.net=452"
    ),
    (
      "452 4.5.3 Your message has too many recipients.", .rcptTo,
      "message-failed temporary recipients-rejected bob@example.net=452"
    ),
    (
      "454 4.5.0 SMTP protocol violation, no commands allowed to pipeline after STARTTLS", .ehlo,
      "failed temporary rejected 454 4.5.0 ehlo"
    ),
    (
      "454 4.7.0 Cannot authenticate due to a temporary system problem.", .auth,
      "failed temporary rejected 454 4.7.0 auth"
    ),
    (
      "454 4.7.0 Too many login attempts, please try again later.", .auth,
      "failed temporary rejected 454 4.7.0 auth"
    ),
    ("454 5.5.1 STARTTLS may not be repeated.", .ehlo, "failed temporary rejected 454 5.5.1 ehlo"),
    ("501 5.5.2 Cannot Decode response.", .auth, "failed permanent auth-failed PLAIN 501 5.5.2"),
    ("501 5.5.4 HELO/EHLO argument is invalid.", .ehlo, "failed permanent rejected 501 5.5.4 ehlo"),
    (
      "502 5.5.1 Too many unrecognized commands, goodbye.", .mailFrom,
      "message-failed permanent rejected 502 5.5.1 mailFrom"
    ),
    ("502 5.5.1 Unrecognized command.", .ehlo, "sent HELO client.example.org"),
    ("503 5.5.1 RCPT first.", .data, "message-failed permanent rejected 503 5.5.1 data"),
    (
      "503 5.7.0 No identity changes permitted.", .auth,
      "failed permanent auth-failed PLAIN 503 5.7.0"
    ),
    (
      "504 5.7.4 Unrecognized Authentication Type.", .auth,
      "failed permanent auth-failed PLAIN 504 5.7.4"
    ),
    (
      "530 5.5.1 Authentication Required.", .mailFrom,
      "message-failed permanent rejected 530 5.5.1 mailFrom"
    ),
    (
      "530 5.7.0 Authentication Required.", .mailFrom,
      "message-failed permanent rejected 530 5.7.0 mailFrom"
    ),
    (
      "530 5.7.0 Must issue a STARTTLS command first.", .mailFrom,
      "message-failed permanent rejected 530 5.7.0 mailFrom"
    ),
    (
      "534 5.7.9 Application-specific password required.", .auth,
      "failed permanent auth-failed PLAIN 534 5.7.9"
    ),
    (
      "534 5.7.14 Please log in via your web browser and then try again.", .auth,
      "failed permanent auth-failed PLAIN 534 5.7.14"
    ),
    (
      "534 5.7.9 Please log in with your web browser and then try again.", .auth,
      "failed permanent auth-failed PLAIN 534 5.7.9"
    ),
    (
      "535 5.5.4 Optional Argument not permitted for that AUTH mode.", .auth,
      "failed permanent auth-failed PLAIN 535 5.5.4"
    ),
    (
      "535 5.7.1 Username and Password not accepted", .auth,
      "failed permanent auth-failed PLAIN 535 5.7.1"
    ),
    (
      "535 5.7.8 Username and Password not accepted.", .auth,
      "failed permanent auth-failed PLAIN 535 5.7.8"
    ),
    (
      "550 5.4.5 Daily user sending limit exceeded.", .endOfData,
      "message-failed permanent rejected 550 5.4.5 endOfData"
    ),
    (
      "550 5.4.5 Daily SMTP relay limit exceeded for user.", .mailFrom,
      "message-failed permanent rejected 550 5.4.5 mailFrom"
    ),
    (
      "550 5.7.0 Mail relay denied [198.51.100.20].", .mailFrom,
      "message-failed permanent rejected 550 5.7.0 mailFrom"
    ),
    (
      "550 5.7.0 Mail Sending denied.", .mailFrom,
      "message-failed permanent rejected 550 5.7.0 mailFrom"
    ),
    (
      "550 5.7.1 Invalid credentials for relay [198.51.100.20].", .mailFrom,
      "message-failed permanent rejected 550 5.7.1 mailFrom"
    ),
    (
      "550 5.7.1 Daily SMTP relay limit exceeded for customer.", .mailFrom,
      "message-failed permanent rejected 550 5.7.1 mailFrom"
    ),
    (
      "550 5.7.1 Unauthenticated email is not accepted from this domain.", .endOfData,
      "message-failed permanent rejected 550 5.7.1 endOfData"
    ),
    (
      "550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy.",
      .endOfData, "message-failed permanent rejected 550 5.7.26 endOfData"
    ),
    (
      "552 5.2.3 Your message exceeded Google's message size limits.", .endOfData,
      "message-failed permanent rejected 552 5.2.3 endOfData"
    ),
    (
      "552 5.3.4 Your message exceeded Google's message size limits.", .mailFrom,
      "message-failed permanent rejected 552 5.3.4 mailFrom"
    ),
    (
      "552 5.3.4 Your message exceeded Google's message size limits.", .endOfData,
      "message-failed permanent rejected 552 5.3.4 endOfData"
    ),
    (
      "553 5.1.2 We weren't able to find the recipient domain.", .rcptTo,
      "message-failed permanent recipients-rejected bob@example.net=553"
    ),
    (
      "553 5.1.3 The recipient address <x> is not a valid RFC 5321 address.", .rcptTo,
      "message-failed permanent recipients-rejected bob@example.net=553"
    ),
    (
      "553 5.1.7 The sender address <x> is not a valid RFC 5321 address.", .mailFrom,
      "message-failed permanent rejected 553 5.1.7 mailFrom"
    ),
    (
      "554 5.6.0 Mail message is malformed. Not accepted.", .endOfData,
      "message-failed permanent rejected 554 5.6.0 endOfData"
    ),
    (
      "554 5.7.0 Too Many Unauthenticated commands.", .mailFrom,
      "message-failed permanent rejected 554 5.7.0 mailFrom"
    ),
    (
      "555 5.5.2 Syntax error, cannot decode response.", .mailFrom,
      "message-failed permanent rejected 555 5.5.2 mailFrom"
    ),
  ]

  @Test("Classification of each Gmail reply", arguments: rows)
  func classify(wire: String, phase: SMTPPhase, expected: String) {
    let reply = SMTPReply(code: Int(wire.prefix(3)) ?? 0, lines: [String(wire.dropFirst(4))])
    #expect(Self.outcome(of: reply, at: phase) == expected)
  }

  @Test("Temporary and permanent follow the reply class, never both")
  func classesAreExclusive() {
    for (wire, phase, _) in Self.rows {
      let reply = SMTPReply(code: Int(wire.prefix(3)) ?? 0, lines: [String(wire.dropFirst(4))])
      let failure = SMTPFailure.rejected(reply, during: phase)
      #expect(failure.isTemporary == reply.isTransientNegative)
      #expect(failure.isPermanent == reply.isPermanentNegative)
      #expect(failure.reply == reply)
    }
  }
}
