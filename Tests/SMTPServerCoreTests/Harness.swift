// Test support: a recording policy and a driver that feeds a session whole, line by
// line or one byte at a time and collects what it sent.

import SMTPServerCore
import TestSupport
import Testing

/// A policy that records what it is asked and answers from tables.
final class RecordingPolicy: SMTPServerPolicy {
  var messages: [SMTPReceivedMessage] = []
  var recipientReplies: [String: SMTPServerDecision] = [:]
  var greetingDecision: SMTPServerDecision = .accept
  var helloDecision: SMTPServerDecision = .accept
  var dataDecision: SMTPServerDecision = .accept
  var endDecision: SMTPServerDecision = .accept
  var goodSecret = "app-password"
  var badTokenChallenge = true
  var presented: [SMTPCredentials] = []

  func connectionOpened(session: SMTPSessionInfo) -> SMTPServerDecision { greetingDecision }
  func hello(_ name: String, extended: Bool, session: SMTPSessionInfo) -> SMTPServerDecision {
    helloDecision
  }
  func recipient(_ recipient: SMTPRecipient, envelope: SMTPEnvelope, session: SMTPSessionInfo)
    -> SMTPServerDecision
  {
    recipientReplies[recipient.address] ?? .accept
  }
  func dataStarting(envelope: SMTPEnvelope, session: SMTPSessionInfo) -> SMTPServerDecision {
    dataDecision
  }
  func messageReceived(_ message: SMTPReceivedMessage, session: SMTPSessionInfo)
    -> SMTPServerDecision
  {
    messages.append(message)
    return endDecision
  }
  func authenticate(_ credentials: SMTPCredentials, session: SMTPSessionInfo) -> SMTPAuthDecision {
    presented.append(credentials)
    if credentials.secret == goodSecret { return .accept }
    if badTokenChallenge {
      return .rejectAfterChallenge(
        challenge: #"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#,
        reply: SMTPServerReply(
          535, "5.7.8", ["Username and Password not accepted.", " https://example/BadCredentials"]))
    }
    return .reject(SMTPServerReply(535, "5.7.8", "Username and Password not accepted."))
  }
}

/// What a driven session produced.
struct Outcome {
  var text = ""
  var closed = false
  var startTLS = false
}

/// A driver for one session.
struct Driver {
  var session: SMTPServerSession
  var outcome = Outcome()

  init(
    _ configuration: SMTPServerConfiguration = .testDefault, policy: RecordingPolicy,
    tls: Bool = false
  ) {
    session = SMTPServerSession(configuration: configuration, policy: policy, tlsActive: tls)
  }

  mutating func start() {
    apply(session.start())
  }

  /// A driver past the greeting and `EHLO c.example`, their replies taken.
  static func greeted(_ configuration: SMTPServerConfiguration = .testDefault, policy: RecordingPolicy = RecordingPolicy())
    -> Driver
  {
    var driver = Driver(configuration, policy: policy)
    driver.start()
    driver.feed("EHLO c.example\r\n")
    _ = driver.take()
    return driver
  }

  mutating func feed(_ text: String, _ feeding: Feeding = .whole) {
    for chunk in feeding.chunks(Array(text.utf8)) { apply(session.received(chunk)) }
  }

  /// Everything sent since the last call.
  mutating func take() -> String {
    defer { outcome.text = "" }
    return outcome.text
  }

  private mutating func apply(_ actions: [SMTPServerAction]) {
    for action in actions {
      #expect(!outcome.closed, "no action may follow .close")
      switch action {
      case .send(let bytes): outcome.text += String(decoding: bytes, as: UTF8.self)
      case .startTLS: outcome.startTLS = true
      case .close: outcome.closed = true
      }
    }
  }
}

extension SMTPServerConfiguration {
  /// The `gsendmail -bs` style configuration used by most tests.
  static var testDefault: SMTPServerConfiguration {
    var configuration = SMTPServerConfiguration(hostname: "mx.test", maxMessageSize: 1000)
    configuration.capabilities += [.chunking, .smtpUTF8]
    return configuration
  }

  /// A Gmail-like submission configuration: STARTTLS, AUTH after TLS, AUTH required.
  static var submission: SMTPServerConfiguration {
    var configuration = SMTPServerConfiguration(
      hostname: "smtp.test",
      capabilities: [
        .size, .eightBitMIME, .startTLS,
        .auth(["LOGIN", "PLAIN", "XOAUTH2", "PLAIN-CLIENTTOKEN", "OAUTHBEARER", "XOAUTH"]),
        .enhancedStatusCodes, .pipelining, .chunking, .smtpUTF8,
      ],
      requiresAuthentication: true, authRequiresTLS: true)
    configuration.ehloGreeting = "smtp.test at your service, [127.0.0.1]"
    return configuration
  }
}
