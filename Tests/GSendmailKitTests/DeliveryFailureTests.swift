// SPDX-License-Identifier: MIT
// Delivery failures: the kind of each cause, the one text made from it, the structure the
// queue and the doctor read, and the prepared header kept as fields.
@testable import GSendmailCore
@testable import GSendmailKit
import HTTPClient
import MailQueue
import MessageCore
import SMTPCore
import Testing
import TokenStore
import Transport

@Suite("Delivery failures")
struct DeliveryFailureTests {
  static func reply(_ code: Int, _ lines: String...) -> SMTPReply { SMTPReply(code: code, lines: lines) }

  static func smtp(_ failure: SMTPFailure) -> DeliveryFailure { DeliveryFailure.from(failure) }

  @Test("Each SMTP failure: its kind and its text, quoting the server")
  func smtpFailures() {
    let cases: [(SMTPFailure, DeliveryFailure.Kind, String)] = [
      (
        .rejected(Self.reply(550, "5.1.1 no such user"), during: .mailFrom), .messageRejected(tooBig: false),
        "the server refused the message: 550 5.1.1 no such user"
      ),
      (
        .rejected(Self.reply(552, "5.3.4 too big"), during: .endOfData), .messageRejected(tooBig: true),
        "the server refused the message: 552 5.3.4 too big"
      ),
      (
        .rejected(Self.reply(451, "4.3.0 busy", "later"), during: .data), .temporary, "data: 451 4.3.0 busy / 451 later"
      ),
      (
        .rejected(Self.reply(554, "5.7.1 go away"), during: .greeting), .messageRejected(tooBig: false),
        "the server refused the session at greeting: 554 5.7.1 go away"
      ),
      (.rejected(Self.reply(535, "5.7.8 no"), during: .auth), .authentication, "authentication refused: 535 5.7.8 no"),
      (
        .rejected(Self.reply(550, "5.4.5 Daily user sending limit exceeded."), during: .endOfData), .limited(.daily),
        "Gmail daily sending limit: 550 5.4.5 Daily user sending limit exceeded."
      ),
      (.connectionClosed(during: .rcptTo), .temporary, "the server closed the connection during rcptTo"),
      (
        .protocolViolation(.dataAfterSTARTTLS), .protocolViolation,
        "the server broke the SMTP protocol: data after the STARTTLS reply, before TLS"
      ),
      (
        .missingCapability(.startTLS), .temporary,
        "the server does not offer STARTTLS, and gsendmail never sends mail without TLS"
      ),
      (
        .missingCapability(.eightBitMIME), .messageRejected(tooBig: false),
        "the message needs 8BITMIME, which the server does not offer"
      ),
      (.invalidAddress("a<b"), .messageRejected(tooBig: false), "invalid address a<b"),
      (.credentialUnavailable, .authentication, "no credential available for this account"),
      (
        .authenticationFailed(
          .init(mechanism: .xoauth2, reply: Self.reply(454, "4.7.0 later"), challenge: nil, afterFreshCredential: false)
        ),
        .temporary, "authentication failed: 454 4.7.0 later"
      ),
    ]
    for (failure, kind, text) in cases {
      let delivery = Self.smtp(failure)
      #expect(delivery.kind == kind, "\(failure)")
      #expect("\(delivery)" == text)
      #expect(errorText(delivery) == text)
    }
  }

  @Test("Refused recipients: each with its own reply; a deferral alone is temporary")
  func recipients() {
    let results = [
      RecipientResult(recipient: "a@example.org", reply: Self.reply(250, "2.1.5 OK")),
      RecipientResult(recipient: "b@example.org", reply: Self.reply(550, "5.1.1 unknown")),
      RecipientResult(recipient: "c@example.org", reply: Self.reply(450, "4.2.1 busy")),
    ]
    let refused = Self.smtp(.recipientsRejected(results))
    #expect(refused.kind == .recipientsRejected && refused.phase == .rcptTo)
    #expect(
      "\(refused)"
        == "recipient refused, nothing was sent: b@example.org: 550 5.1.1 unknown; c@example.org: 450 4.2.1 busy")
    #expect(refused.recipientReplies.map(\.address) == ["b@example.org", "c@example.org"])
    #expect(refused.recipientReplies.map(\.reply.status) == ["5.1.1", "4.2.1"])
    #expect(refused.smtpReply?.code == 550 && refused.serverReply == nil)
    let deferred = Self.smtp(.recipientsRejected([results[0], results[2]]))
    #expect(deferred.kind == .temporary && "\(deferred)" == "recipient deferred: c@example.org: 450 4.2.1 busy")

    let notices = QueueRunner.noticeRecipients(["a@example.org", "b@example.org", "c@example.org"], error: refused)
    #expect(notices.map(\.status) == ["5.0.0", "5.1.1", "4.2.1"])
    #expect(notices.map(\.diagnosticType) == ["x-gsendmail", "smtp", "smtp"])
  }

  @Test("The reply that refused the message goes to the notice; a local refusal gets its exit code's status")
  func notices() {
    let refused = Self.smtp(.rejected(Self.reply(554, "5.7.0 spam"), during: .endOfData))
    #expect(
      refused.phase == .endOfData
        && refused.serverReply == ServerReply(code: 554, enhancedStatus: "5.7.0", text: "5.7.0 spam"))
    #expect(QueueRunner.noticeRecipients(["x@example.org"], error: refused).map(\.status) == ["5.7.0"])
    let local = DeliveryFailure(
      .messageRejected(tooBig: true), .overSize(.init(size: 10, quotedPrintable: false, limit: 5, isServerLimit: true)))
    #expect(local.serverReply == nil && local.phase == nil)
    let notice = QueueRunner.noticeRecipients(["x@example.org"], error: local)
    #expect(notice.map(\.status) == [ExitStatus.code(for: local).status] && notice[0].diagnostic == "\(local)")
  }

  @Test("The EHLO name refused: temporary, the phase is the doctor's clue")
  func heloRefused() {
    let failure = Self.smtp(
      .rejected(Self.reply(421, "4.7.0 Try again later, closing connection. (EHLO)"), during: .ehlo))
    #expect(failure.kind == .temporary && failure.phase == .ehlo && failure.smtpReply?.code == 421)
    #expect("\(failure)".hasPrefix("the server rejected the EHLO name (421 4.7.0"))
    #expect("\(failure)".hasSuffix("; set 'helo' to this machine's public FQDN"))
  }

  @Test("Transport errors: a certificate says no credentials went out; a lack of descriptors is this process's")
  func transport() {
    let certificate = DeliveryFailure.from(TransportError.certificate("expired"))
    #expect(certificate.kind == .temporary)
    #expect("\(certificate)" == "server certificate rejected (expired); no credentials were sent")
    let closed = DeliveryFailure.from(TransportError.connectionClosed)
    #expect(closed.kind == .temporary && "\(closed)" == "connection closed by the peer")
    #expect(DeliveryFailure.from(TransportError.io(errno: 24)).kind == .resource)  // EMFILE
    #expect(DeliveryFailure.from(TransportError.tlsLibraryUnavailable("x")).kind == .resource)
  }

  @Test("Token errors keep their text, with no promise of a later try; the caller says what became of the message")
  func tokens() {
    let notLoggedIn = DeliveryFailure.from(TokenError.notLoggedIn(account: "alice"))
    #expect(notLoggedIn.kind == .authentication)
    #expect("\(notLoggedIn)" == "no OAuth token for account 'alice'; run 'gsendmailctl login alice'")
    let unreachable = DeliveryFailure.from(TokenError.http(.connect(url: "https://oauth2.example", detail: "refused")))
    #expect(unreachable.kind == .temporary)
    #expect("\(unreachable)" == "token endpoint unreachable: https://oauth2.example: cannot connect: refused")
    #expect(DeliveryFailure.from(TokenError.http(.libraryUnavailable("no libcurl"))).kind == .resource)
    let locked = DeliveryFailure.from(TokenError.lockTimeout(path: "/t/alice.lock"))
    #expect("\(locked)" == "token cache lock /t/alice.lock is held by another process")
    #expect(
      "\(NotQueued(unreachable))"
        == "token endpoint unreachable: https://oauth2.example: cannot connect: refused; "
        + "the message was not queued (queue = false): send it again later")
  }

  @Test("Local decisions: each its text")
  func local() {
    let texts: [(DeliveryFailure.Cause, String)] = [
      (
        .overSize(.init(size: 2000, quotedPrintable: false, limit: 1000, isServerLimit: false)),
        "the message is 2000 bytes as it would be sent, over max_message_size (1000 bytes); it was not sent"
      ),
      (
        .overSize(.init(size: 2000, quotedPrintable: true, limit: 1500, isServerLimit: true)),
        "the message is 2000 bytes as it would be sent (re-encoded as quoted-printable for a server without 8BITMIME "
          + "or for a line over 998 octets), over the server's SIZE limit (1500 bytes); it was not sent"
      ),
      (
        .passwordCommand(.exited(account: "a", status: 3, detail: "vault sealed", inLog: false)),
        "password_command of account a failed (exit 3): vault sealed"
      ),
      (
        .passwordCommand(.exited(account: "a", status: 3, detail: nil, inLog: false)),
        "password_command of account a failed (exit 3)"
      ),
      (
        .passwordCommand(.exited(account: "a", status: 1, detail: nil, inLog: true)),
        "password_command of account a failed (exit 1); its error output is in the log"
      ),
      (.passwordCommand(.printedNothing), "password_command printed nothing"),
      (.passwordCommand(.noPipe), "password_command: cannot create a pipe"),
      (.passwordCommand(.cannotStart), "password_command: cannot start /bin/sh"),
      (.passwordCommand(.timedOut(seconds: 60)), "password_command did not finish within 60s"),
      (.sessionEnded(beforeReady: true), "the server ended the session before it was ready"),
      (.sessionEnded(beforeReady: false), "the server ended the session"),
      (.noAccessToken(account: "alice"), "no access token for account alice; run gsendmailctl login alice"),
      (.uploadSessionWithoutLocation, "the Gmail API opened an upload session without a usable Location"),
      (
        .http(.timedOut(url: "https://api.example/u", seconds: 30)),
        "the Gmail API: https://api.example/u: no complete response within 30 s"
      ),
      (
        .http(.bodyUnreadable(url: "https://api.example/u", detail: "EIO")),
        "https://api.example/u: cannot read the message to upload: EIO"
      ),
      (
        .localLimit("held by the local limit per_hour = 5 of account a"),
        "held by the local limit per_hour = 5 of account a"
      ),
    ]
    for (cause, text) in texts {
      #expect("\(DeliveryFailure(.temporary, cause))" == text)
    }
  }

  @Test("The Gmail API's refusals: what Google said, and what to do")
  func gmailAPI() {
    func text(
      _ verdict: GmailAPIRefusal.Verdict, _ status: Int = 403, reason: String? = "r", message: String = "m"
    ) -> String {
      "\(GmailAPIRefusal(status: status, reason: reason, message: message, verdict: verdict, account: "alice"))"
    }
    #expect(text(.refused, 404, reason: nil, message: "") == "the Gmail API refused the message (HTTP 404)")
    #expect(text(.limit(.rate), 429) == "Gmail's sending rate limit (HTTP 429 r: m)")
    #expect(
      text(.tokenRefused, 401) == "the Gmail API refused the access token (HTTP 401 r: m); run gsendmailctl login alice"
    )
    #expect(
      text(.missingScope("s")) == "the account's token lacks the scope s (HTTP 403 r: m); run gsendmailctl login alice")
    #expect(
      text(.domainPolicy).hasSuffix(
        "(HTTP 403 r: m); the domain's administrator does not allow this app to use the Gmail API"))
    #expect(
      text(.forbidden).hasSuffix(
        "check that the Gmail API is enabled in the project, then run gsendmailctl login alice"))
    #expect(text(.noMessageID, 200) == "the Gmail API answered 200 without a message id")
  }

  @Test("A token without the SMTP scope: its advice follows the failure's own text")
  func scopeShortfall() {
    var failure = Self.smtp(.rejected(Self.reply(535, "5.7.8 no"), during: .auth))
    failure.scopeShortfall = .init(account: "alice", granted: "https://www.googleapis.com/auth/gmail.send")
    #expect(
      "\(failure)"
        == "authentication refused: 535 5.7.8 no (the token was granted https://www.googleapis.com/auth/gmail.send only; "
        + "SMTP needs https://mail.google.com/: run gsendmailctl login alice, or set route = \"gmail-api\")")
  }

  @Test("-bs: the reply follows the kind, with the status the server gave")
  func smtpServerReplies() {
    let refused = SubmissionPolicy.reply(for: Self.smtp(.rejected(Self.reply(550, "5.7.1 spam"), during: .endOfData)))
    #expect(refused.code == 554 && refused.enhancedCode == "5.7.1")
    let unknown = SubmissionPolicy.reply(
      for: Self.smtp(
        .recipientsRejected([RecipientResult(recipient: "b@example.org", reply: Self.reply(550, "5.1.2 x"))])))
    #expect(unknown.code == 550 && unknown.enhancedCode == "5.1.2")
    let bare = SubmissionPolicy.reply(for: Self.smtp(.rejected(Self.reply(554, "no"), during: .endOfData)))
    #expect(bare.code == 554 && bare.enhancedCode == "5.0.0")
    #expect(
      SubmissionPolicy.reply(for: Self.smtp(.rejected(Self.reply(552, "5.3.4 x"), during: .endOfData))).code == 552)
    #expect(SubmissionPolicy.reply(for: DeliveryFailure.from(TokenError.notLoggedIn(account: "a"))).code == 451)
  }
}

@Suite("Prepared header fields")
struct PreparedFieldsTests {
  @Test("The prepared header is its fields serialised; a long line is folded in the fields themselves")
  func serialisedOnce() throws {
    let subject = "Subject: " + Array(repeating: "word", count: 300).joined(separator: " ")
    let message = try SenderPolicyTests.prepare(
      SenderPolicyTests.submission(user: "tester", sender: nil),
      header: "To: x@example.org\r\nBcc: y@example.org\r\n" + subject)
    #expect(message.header == HeaderPreparer.serialised(message.fields))
    #expect(!message.fields.contains { $0.hasName("Bcc") } && message.fields.contains { $0.hasName("Message-ID") })
    let folded = try #require(message.fields.first { $0.hasName("Subject") })
    #expect(folded.lines.count == 2 && folded.lines.allSatisfy { $0.count <= 998 })
    #expect(folded.value == String(subject.dropFirst(9)))
    // The same header as re-encoding the prepared bytes scanned back into fields would give.
    let reencoded = HeaderPreparer.serialised(try Delivery.quotedPrintableFields(message.fields))
    var scanner = MessageScanner(options: .init())
    try scanner.push(message.header)
    let rescanned = try scanner.finish().fields
    #expect(reencoded == HeaderPreparer.serialised(try HeaderPreparer.reencodedFieldsAsQuotedPrintable(rescanned)))
    #expect(String(decoding: reencoded, as: UTF8.self).contains("Content-Transfer-Encoding: quoted-printable\r\n"))
  }

  @Test("A queued entry gives back the fields that were prepared")
  func fromTheQueue() throws {
    let submission = try SenderPolicyTests.submission(user: "tester", sender: nil)
    let message = try SenderPolicyTests.prepare(submission, header: "To: x@example.org\r\nSubject: queued")
    let store = InMemoryQueueStore()
    let (entry, lock) = try store.commit(
      try store.create(), envelope: MessageQueue.envelope(of: message, submitter: 1000), header: message.header,
      arrival: 0)
    lock.release()
    let again = try MessageQueue.message(of: entry, config: submission.config, environment: submission.environment)
    #expect(again.fields == message.fields && again.header == message.header)
  }
}
