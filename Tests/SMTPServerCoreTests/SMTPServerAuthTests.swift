import Codecs
import SMTPServerCore
import TestSupport
import Testing

@Suite("SMTPServerSession: STARTTLS and AUTH")
struct SMTPServerAuthTests {
  static let preTLS =
    "250-smtp.test at your service, [127.0.0.1]\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n"
    + "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n"
  static let postTLS =
    "250-smtp.test at your service, [127.0.0.1]\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n"
    + "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n"
    + "250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n"

  static func b64(_ text: String) -> String { Base64.encode(Array(text.utf8)) }

  /// A session on the submission configuration, after STARTTLS and a second EHLO.
  static func secured(_ policy: RecordingPolicy) -> Driver {
    var driver = Driver(.submission, policy: policy)
    driver.start()
    driver.feed("EHLO c.example\r\nSTARTTLS\r\n")
    driver.session.tlsEstablished()
    driver.feed("EHLO c.example\r\n")
    _ = driver.take()
    return driver
  }

  @Test(
    "STARTTLS: lists before and after, buffered commands dropped, state reset",
    arguments: Feeding.allCases)
  func startTLS(feeding: Feeding) {
    var driver = Driver(.submission, policy: RecordingPolicy())
    driver.start()
    _ = driver.take()
    driver.feed("EHLO c.example\r\nSTARTTLS\r\nMAIL FROM:<evil@example.com>\r\n", feeding)
    #expect(driver.take() == Self.preTLS + "220 2.0.0 Ready to start TLS\r\n")
    #expect(driver.outcome.startTLS)
    #expect(driver.session.phase == .awaitingTLS)
    driver.session.tlsEstablished()
    #expect(driver.session.info == SMTPSessionInfo(tlsActive: true))
    driver.feed("MAIL FROM:<a@example.com>\r\nEHLO c.example\r\nSTARTTLS\r\n", feeding)
    #expect(
      driver.take()
        == "503 5.5.1 EHLO/HELO first.\r\n" + Self.postTLS
        + "454 5.5.1 STARTTLS may not be repeated.\r\n")
  }

  @Test("AUTH before TLS: 530 Must issue a STARTTLS command first")
  func authBeforeTLS() {
    var driver = Driver(.submission, policy: RecordingPolicy())
    driver.start()
    driver.feed("EHLO c.example\r\n")
    _ = driver.take()
    driver.feed("AUTH PLAIN \(Self.b64("\0u\0app-password"))\r\n")
    #expect(driver.take() == "530 5.7.0 Must issue a STARTTLS command first.\r\n")
  }

  @Test("MAIL before AUTH: 530; after AUTH PLAIN: 250", arguments: Feeding.allCases)
  func mailNeedsAuth(feeding: Feeding) {
    let policy = RecordingPolicy()
    var driver = Self.secured(policy)
    driver.feed(
      "MAIL FROM:<a@example.com>\r\nAUTH PLAIN \(Self.b64("\0alice@example.com\0app-password"))\r\n"
        + "MAIL FROM:<a@example.com>\r\nAUTH PLAIN\r\n", feeding)
    #expect(
      driver.take()
        == "530 5.7.0 Authentication Required.\r\n235 2.7.0 Accepted\r\n250 2.1.0 OK\r\n"
        + "503 5.7.0 No identity changes permitted.\r\n")
    #expect(
      driver.session.info.authentication
        == SMTPAuthIdentity(mechanism: "PLAIN", user: "alice@example.com"))
    #expect(
      policy.presented == [
        .plain(authorizationID: "", user: "alice@example.com", password: "app-password")
      ])
  }

  @Test("AUTH PLAIN without an initial response, and AUTH LOGIN", arguments: Feeding.allCases)
  func challenges(feeding: Feeding) {
    let policy = RecordingPolicy()
    policy.badTokenChallenge = false
    var plain = Self.secured(policy)
    plain.feed("AUTH PLAIN\r\n\(Self.b64("\0bob\0wrong"))\r\nAUTH PLAIN\r\n*\r\n", feeding)
    #expect(
      plain.take()
        == "334 \r\n535 5.7.8 Username and Password not accepted.\r\n334 \r\n"
        + "501 5.7.0 Authentication cancelled.\r\n")

    var login = Self.secured(policy)
    login.feed(
      "AUTH LOGIN\r\n\(Self.b64("alice@gmail.com"))\r\n\(Self.b64("app-password"))\r\n", feeding)
    #expect(login.take() == "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 Accepted\r\n")
    #expect(login.session.info.authentication?.user == "alice@gmail.com")

    var loginInitial = Self.secured(policy)
    loginInitial.feed("AUTH LOGIN \(Self.b64("carol"))\r\n\(Self.b64("app-password"))\r\n", feeding)
    #expect(loginInitial.take() == "334 UGFzc3dvcmQ6\r\n235 2.7.0 Accepted\r\n")
  }

  static let gmailChallenge =
    "334 eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==\r\n"

  @Test(
    "XOAUTH2: good token 235; bad token 334 JSON, empty line, multi-line 535",
    arguments: Feeding.allCases)
  func xoauth2(feeding: Feeding) {
    let policy = RecordingPolicy()
    policy.goodSecret = "ya29.good"
    var good = Self.secured(policy)
    good.feed(
      "AUTH XOAUTH2 \(Self.b64("user=alice@example.com\u{1}auth=Bearer ya29.good\u{1}\u{1}"))\r\n",
      feeding)
    #expect(good.take() == "235 2.7.0 Accepted\r\n")
    #expect(
      good.session.info.authentication
        == SMTPAuthIdentity(mechanism: "XOAUTH2", user: "alice@example.com"))

    var bad = Self.secured(policy)
    bad.feed(
      "AUTH XOAUTH2 \(Self.b64("user=alice@example.com\u{1}auth=Bearer ya29.old\u{1}\u{1}"))\r\n",
      feeding)
    #expect(bad.take() == Self.gmailChallenge)
    #expect(bad.session.phase == .authenticating)
    bad.feed("\r\n", feeding)
    #expect(
      bad.take()
        == "535-5.7.8 Username and Password not accepted.\r\n535 5.7.8  https://example/BadCredentials\r\n"
    )
    #expect(bad.session.info.authentication == nil)

    var noisy = Self.secured(policy)
    noisy.feed(
      "AUTH XOAUTH2 \(Self.b64("user=a@b.example\u{1}auth=Bearer x\u{1}\u{1}"))\r\nQUIT\r\n",
      feeding)
    #expect(noisy.take() == Self.gmailChallenge + "501 5.5.2 Cannot Decode response.\r\n")
  }

  @Test("OAUTHBEARER: RFC 7628 response; ^A acknowledges the error challenge")
  func oauthBearer() {
    let policy = RecordingPolicy()
    policy.goodSecret = "mF_9.B5f-4.1JqM"
    var good = Self.secured(policy)
    let response =
      "n,a=user@example.com,\u{1}host=127.0.0.1\u{1}port=587\u{1}auth=Bearer mF_9.B5f-4.1JqM\u{1}\u{1}"
    good.feed("AUTH OAUTHBEARER \(Self.b64(response))\r\n")
    #expect(good.take() == "235 2.7.0 Accepted\r\n")
    #expect(
      good.session.info.authentication
        == SMTPAuthIdentity(mechanism: "OAUTHBEARER", user: "user@example.com"))

    var bad = Self.secured(policy)
    bad.feed(
      "AUTH OAUTHBEARER\r\n\(Self.b64("n,a=u@example.com,\u{1}auth=Bearer nope\u{1}\u{1}"))\r\nAQ==\r\n"
    )
    #expect(
      bad.take()
        == "334 \r\n" + Self.gmailChallenge
        + "535-5.7.8 Username and Password not accepted.\r\n535 5.7.8  https://example/BadCredentials\r\n"
    )
  }

  static let undecodable = [
    "AUTH PLAIN !!!!", "AUTH PLAIN \(b64("no-nul-bytes"))", "AUTH PLAIN \(b64("\0\0pw"))",
    "AUTH XOAUTH2 \(b64("user=a\u{1}auth=Basic x\u{1}\u{1}"))",
    "AUTH XOAUTH2 \(b64("user=a\u{1}auth=Bearer x\u{1}"))",
    "AUTH OAUTHBEARER \(b64("p=x,a=u,\u{1}auth=Bearer t\u{1}\u{1}"))",
  ]

  @Test("Undecodable AUTH payloads get 501 5.5.2", arguments: undecodable)
  func undecodablePayload(line: String) {
    var driver = Self.secured(RecordingPolicy())
    driver.feed(line + "\r\n")
    #expect(driver.take() == "501 5.5.2 Cannot Decode response.\r\n")
  }

  @Test("Unknown or unimplemented mechanisms get 504")
  func unknownMechanism() {
    var driver = Self.secured(RecordingPolicy())
    driver.feed("AUTH CRAM-MD5\r\nAUTH XOAUTH\r\nAUTH PLAIN-CLIENTTOKEN\r\n")
    #expect(
      driver.take()
        == String(repeating: "504 5.7.4 Unrecognized Authentication Type.\r\n", count: 3))
  }

  @Test("Credentials never print their secret")
  func redaction() {
    let credentials = SMTPCredentials.xoauth2(user: "alice@example.com", token: "ya29.secret")
    #expect(!"\(credentials)".contains("secret"))
    #expect(!String(reflecting: credentials).contains("secret"))
    #expect("\(credentials)" == "XOAUTH2 user=alice@example.com")
  }

  @Test("Implicit TLS: AUTH listed at once and STARTTLS refused")
  func implicitTLS() {
    var driver = Driver(.submission, policy: RecordingPolicy(), tls: true)
    driver.start()
    _ = driver.take()
    driver.feed("EHLO c.example\r\nSTARTTLS\r\n")
    #expect(driver.take() == Self.postTLS + "454 5.5.1 STARTTLS may not be repeated.\r\n")
  }
}
