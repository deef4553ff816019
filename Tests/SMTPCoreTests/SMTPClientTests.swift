// Edge cases of the client that read better as code than as transcripts.

import Codecs
import Testing

@testable import SMTPCore

@Suite("SMTPClient")
struct SMTPClientTests {
  static let greeting = SMTPReply(code: 220, lines: ["smtp.gmail.com ESMTP"])
  static let gmailEHLO = SMTPReply(
    code: 250,
    lines: [
      "smtp.gmail.com at your service", "SIZE 35882577", "8BITMIME",
      "AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH", "ENHANCEDSTATUSCODES",
      "PIPELINING", "CHUNKING", "SMTPUTF8",
    ])

  // MARK: - SASL payloads

  @Test("XOAUTH2 matches Google's documented example")
  func xoauth2Example() {
    let payload = SASL.xoauth2(
      user: "someuser@example.com",
      token: Credential("ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"))
    #expect(
      payload
        == "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
    )
  }

  @Test("OAUTHBEARER follows RFC 7628 §3.1 and escapes the user name (RFC 5801)")
  func oauthBearerPayload() {
    let payload = SASL.oauthBearer(
      user: "a,b=c@example.com", host: "smtp.gmail.com", port: 465, token: Credential("T"))
    let decoded = Base64.decode(payload).map { String(decoding: $0, as: UTF8.self) }
    #expect(
      decoded
        == "n,a=a=2Cb=3Dc@example.com,\u{1}host=smtp.gmail.com\u{1}port=465\u{1}auth=Bearer T\u{1}\u{1}"
    )
    #expect(SASL.oauthBearerErrorAcknowledgement == "AQ==")
  }

  @Test("PLAIN is \\0user\\0password")
  func plainPayload() {
    let decoded = Base64.decode(SASL.plain(user: "u", password: Credential("p w")))
    #expect(decoded == [0] + Array("u".utf8) + [0] + Array("p w".utf8))
  }

  // MARK: - Secrets

  @Test("A credential and a secret command never print their secret")
  func redaction() {
    let credential = Credential("ya29.SECRET")
    for text in [String(describing: credential), String(reflecting: credential), "\(credential)"] {
      #expect(!text.contains("SECRET"))
    }
    var dumped = ""
    dump(credential, to: &dumped)
    #expect(!dumped.contains("SECRET"))

    let command = OutgoingCommand(
      secretLine: "AUTH PLAIN c2VjcmV0", transcript: "AUTH PLAIN <redacted>")
    var dumpedCommand = ""
    dump(command, to: &dumpedCommand)
    for text in [String(describing: command), String(reflecting: command), dumpedCommand] {
      #expect(!text.contains("c2VjcmV0"))
      #expect(text.contains("<redacted>"))
    }
    var dumpedAction = ""
    dump(SMTPClient.Action.send([command]), to: &dumpedAction)
    #expect(!dumpedAction.contains("c2VjcmV0"))
    #expect(!dumpedAction.contains("bytes"))
  }

  // MARK: - Capabilities

  @Test("EHLO keywords: case, AUTH= form, SIZE without a limit, duplicates")
  func capabilities() {
    let reply = SMTPReply(
      code: 250,
      lines: [
        "mx.example.com", "size", "auth=login", "Auth PLAIN login xoauth2", "starttls", "dsn",
        "X-UNKNOWN 1",
      ])
    let capabilities = SMTPCapabilities(ehloReply: reply)
    #expect(capabilities.supportsSize && capabilities.maximumMessageSize == nil)
    #expect(capabilities.authMechanisms == ["LOGIN", "PLAIN", "XOAUTH2"])
    #expect(capabilities.supportsStartTLS && capabilities.supportsDSN)
    #expect(!capabilities.supportsPipelining && !capabilities.supportsEightBitMIME)
    #expect(capabilities.offers(.xoauth2) && !capabilities.offers(.oauthBearer))

    let gmail = SMTPCapabilities(ehloReply: Self.gmailEHLO)
    #expect(gmail.maximumMessageSize == 35_882_577)
    #expect(gmail.supportsPipelining && gmail.supportsSMTPUTF8 && gmail.supportsEightBitMIME)
    #expect(gmail.supportsEnhancedStatusCodes && gmail.supportsChunking && !gmail.supportsDSN)
    #expect(!gmail.supportsStartTLS)
  }

  @Test("The greeting line is not read as a keyword")
  func greetingLineIgnored() {
    let capabilities = SMTPCapabilities(ehloReply: SMTPReply(code: 250, lines: ["PIPELINING"]))
    #expect(!capabilities.supportsPipelining)
  }

  // MARK: - State machine

  @Test("Capabilities are forgotten when TLS starts, and read again after EHLO")
  func capabilitiesForgottenAfterTLS() {
    var client = SMTPClient(
      configuration: .init(heloName: "h.example", tls: .starttls, authentication: .none))
    _ = client.start()
    _ = client.received(Self.greeting)
    let pre = SMTPReply(code: 250, lines: ["smtp.gmail.com", "STARTTLS", "PIPELINING", "SIZE 10"])
    #expect(client.received(pre) == .send([OutgoingCommand("STARTTLS")]))
    #expect(client.capabilities.supportsStartTLS)
    #expect(client.received(SMTPReply(code: 220, lines: ["2.0.0 Ready"])) == .startTLS)
    #expect(client.tlsEstablished() == .send([OutgoingCommand("EHLO h.example")]))
    #expect(client.capabilities == SMTPCapabilities())
    #expect(client.received(Self.gmailEHLO) == .readyForTransaction)
    #expect(client.capabilities.maximumMessageSize == 35_882_577)
  }

  @Test("A second STARTTLS is never sent: after TLS, STARTTLS in EHLO is ignored")
  func noSecondStartTLS() {
    var client = SMTPClient(
      configuration: .init(heloName: "h.example", tls: .implicit, authentication: .none))
    _ = client.start()
    _ = client.received(Self.greeting)
    let ehlo = SMTPReply(code: 250, lines: ["mx", "STARTTLS"])
    #expect(client.received(ehlo) == .readyForTransaction)
  }

  @Test("A reply while idle is a violation and ends the session")
  func unsolicited() {
    var client = SMTPClient(
      configuration: .init(heloName: "h", tls: .implicit, authentication: .none))
    _ = client.start()
    _ = client.received(Self.greeting)
    _ = client.received(SMTPReply(code: 250, lines: ["mx"]))
    let action = client.received(SMTPReply(code: 250, lines: ["surprise"]))
    #expect(action == .fail(.protocolViolation(.unsolicitedReply(code: 250)), quit: nil))
    // The session is over: later input repeats the outcome and writes nothing.
    #expect(
      client.connectionClosed()
        == .fail(.protocolViolation(.unsolicitedReply(code: 250)), quit: nil))
  }

  @Test("QUIT then the server just closes: a normal end")
  func quitThenClose() {
    var client = SMTPClient(
      configuration: .init(heloName: "h", tls: .implicit, authentication: .none))
    _ = client.start()
    _ = client.received(Self.greeting)
    _ = client.received(SMTPReply(code: 250, lines: ["mx"]))
    #expect(client.quit() == .send([OutgoingCommand("QUIT")]))
    #expect(client.connectionClosed() == .close)
  }

  @Test("A 421 to RSET keeps the message's own failure")
  func rsetGets421() {
    var client = SMTPClient(
      configuration: .init(heloName: "h", tls: .implicit, authentication: .none))
    _ = client.start()
    _ = client.received(Self.greeting)
    _ = client.received(SMTPReply(code: 250, lines: ["mx"]))
    _ = client.beginTransaction(SMTPEnvelope(sender: "a@x", recipients: ["b@y"]))
    _ = client.received(SMTPReply(code: 250, lines: ["ok"]))
    let refused = SMTPReply(code: 550, lines: ["5.1.1 no"])
    #expect(client.received(refused) == .send([OutgoingCommand("RSET")]))
    let failure = SMTPFailure.recipientsRejected([RecipientResult(recipient: "b@y", reply: refused)]
    )
    #expect(
      client.received(SMTPReply(code: 421, lines: ["4.3.0 bye"])) == .fail(failure, quit: nil))
  }

  @Test("The EHLO-name hint needs 421, the EHLO phase and the (EHLO) marker")
  func heloNameHint() {
    let marked = SMTPReply(
      code: 421, lines: ["4.7.0 Try again later, closing connection. (EHLO) x - gsmtp"])
    #expect(SMTPFailure.rejected(marked, during: .ehlo).isHELONameRejected)
    #expect(SMTPFailure.rejected(marked, during: .helo).isHELONameRejected)
    #expect(!SMTPFailure.rejected(marked, during: .mailFrom).isHELONameRejected)
    let plain = SMTPReply(code: 421, lines: ["4.7.0 Try again later, closing connection."])
    #expect(!SMTPFailure.rejected(plain, during: .ehlo).isHELONameRejected)
    let other = SMTPReply(code: 501, lines: ["5.5.4 (EHLO) bad"])
    #expect(!SMTPFailure.rejected(other, during: .ehlo).isHELONameRejected)
  }

  @Test("Failures without a reply: which are temporary, which permanent")
  func classificationWithoutReply() {
    #expect(SMTPFailure.connectionClosed(during: .data).isTemporary)
    #expect(SMTPFailure.missingCapability(.startTLS).isTemporary)
    #expect(SMTPFailure.missingCapability(.auth(.xoauth2)).isTemporary)
    #expect(SMTPFailure.missingCapability(.eightBitMIME).isPermanent)
    #expect(SMTPFailure.missingCapability(.smtpUTF8).isPermanent)
    #expect(SMTPFailure.invalidAddress("a\r\nb").isPermanent)
    for neither in [SMTPFailure.protocolViolation(.dataAfterSTARTTLS), .credentialUnavailable] {
      #expect(!neither.isTemporary && !neither.isPermanent)
      #expect(neither.reply == nil)
    }
  }

  @Test(
    "CR or LF in an address never reaches the wire",
    arguments: ["a@x\r\nRCPT TO:<evil@y>", "a@x\n", "<a@x>"])
  func commandInjection(address: String) {
    var client = SMTPClient(
      configuration: .init(heloName: "h", tls: .implicit, authentication: .none))
    _ = client.start()
    _ = client.received(Self.greeting)
    _ = client.received(SMTPReply(code: 250, lines: ["mx"]))
    #expect(
      client.beginTransaction(SMTPEnvelope(sender: address, recipients: ["b@y"]))
        == .messageFailed(.invalidAddress(address)))
    #expect(
      client.beginTransaction(SMTPEnvelope(sender: "a@x", recipients: ["b@y", address]))
        == .messageFailed(.invalidAddress(address)))
  }
}
