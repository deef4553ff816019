// SPDX-License-Identifier: MIT
// The Gmail API's replies to users.messages.send and the delivery outcome each means.
@testable import GSendmailCore
@testable import GSendmailKit
import Testing

@Suite("Gmail API replies")
struct GmailAPIReplyTests {
  static let send = "https://www.googleapis.com/auth/gmail.send"

  static func outcome(_ status: Int, _ body: String) -> GmailAPIOutcome {
    GmailAPIOutcome.classify(status: status, body: Array(body.utf8), account: "alice", scope: send)
  }

  static func error(_ code: Int, _ reason: String, _ message: String = "m", status: String = "S") -> String {
    #"{"error":{"code":\#(code),"message":"\#(message)","errors":[{"message":"\#(message)","domain":"global","reason":"\#(reason)"}],"status":"\#(status)"}}"#
  }

  @Test("200 with the Message resource: sent, with its id; without an id: temporary")
  func sent() {
    #expect(Self.outcome(200, #"{"id":"18c2f0a1b2","threadId":"18c2f0a1b2","labelIds":["SENT"]}"#) == .sent(id: "18c2f0a1b2"))
    guard case .temporary = Self.outcome(200, "<html>") else {
      Issue.record("expected temporary")
      return
    }
  }

  @Test("Each status and reason to its outcome, with Google's message")
  func mapping() {
    func kind(_ o: GmailAPIOutcome) -> String {
      switch o {
      case .sent: "sent"
      case .invalidCredentials: "401"
      case .authentication: "auth"
      case .rateLimited: "limit"
      case .temporary: "temp"
      case .badMessage: "65"
      case .rejected: "69"
      }
    }
    let cases: [(Int, String, String)] = [
      (401, Self.error(401, "authError", "Invalid Credentials"), "401"),
      (429, Self.error(429, "rateLimitExceeded"), "limit"),
      (403, Self.error(403, "userRateLimitExceeded"), "limit"),
      (403, Self.error(403, "dailyLimitExceeded"), "limit"),
      (403, Self.error(403, "insufficientPermissions"), "auth"),
      (403, Self.error(403, "domainPolicy"), "69"),
      (403, Self.error(403, "accessNotConfigured", "Gmail API has not been used in project 1"), "auth"),
      (400, Self.error(400, "invalidArgument", "Invalid To header"), "65"),
      (400, Self.error(400, "failedPrecondition", status: "FAILED_PRECONDITION"), "69"),
      (413, "", "65"),
      (404, Self.error(404, "notFound"), "69"),
      (500, Self.error(500, "backendError"), "temp"),
      (503, "not json", "temp"),
    ]
    for (status, body, expected) in cases {
      #expect(kind(Self.outcome(status, body)) == expected, "\(status) \(body)")
    }
  }

  @Test("The texts name what to do, quote Google on one line, and never the body")
  func texts() {
    guard case .authentication(let refusal) = Self.outcome(403, Self.error(403, "insufficientPermissions")) else {
      Issue.record("expected authentication")
      return
    }
    let text = "\(refusal)"
    #expect(text.contains(Self.send) && text.contains("gsendmailctl login alice"))
    guard case .badMessage(let badRefusal) = Self.outcome(400, Self.error(400, "invalidArgument", "Invalid To header\\nsecond")) else {
      Issue.record("expected a bad message")
      return
    }
    let bad = "\(badRefusal)"
    #expect(bad.contains("HTTP 400 invalidArgument: Invalid To header second") && !bad.contains("\n"))
  }

  @Test("The scope asked for follows the route")
  func scope() {
    var account = Account(name: "a", from: "a@example.com", host: "h", port: 1, tls: .starttls)
    #expect(account.oauthScope == "https://mail.google.com/")
    account.route = .gmailAPI
    #expect(account.oauthScope == Self.send)
  }

  @Test("Path segments and session origins")
  func urls() {
    #expect(GmailAPIDelivery.pathSegment("cron@example.com") == "cron@example.com")
    #expect(GmailAPIDelivery.pathSegment("a b/c") == "a%20b%2Fc")
    #expect(GmailAPIDelivery.sameOrigin("https://gmail.googleapis.com/upload/x?id=1", "https://Gmail.googleapis.com/upload"))
    #expect(!GmailAPIDelivery.sameOrigin("https://evil.example/upload", "https://gmail.googleapis.com/upload"))
    #expect(!GmailAPIDelivery.sameOrigin("http://gmail.googleapis.com/u", "https://gmail.googleapis.com/u"))
    #expect(!GmailAPIDelivery.sameOrigin("https://gmail.googleapis.com:8443/u", "https://gmail.googleapis.com/u"))
  }
}
