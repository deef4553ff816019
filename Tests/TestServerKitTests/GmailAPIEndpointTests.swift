import Foundation
import TestServerKit
import Testing
import Transport

@Suite("Gmail emulator: the Gmail API's upload endpoints", .serialized)
struct GmailAPIEndpointTests {
  static let path = "/upload/gmail/v1/users/me/messages/send"
  static let message = "From: a@example.com\r\nTo: Bob <b@example.org>\r\nCc: c@example.org\r\nBcc: d@example.org\r\nSubject: s\r\n\r\nbody\r\n"

  static func reason(_ body: String) throws -> String? {
    let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
    let errors = (object?["error"] as? [String: Any])?["errors"] as? [[String: Any]]
    return errors?.first?["reason"] as? String
  }

  @Test("A simple upload: recipients from To, Cc and Bcc, recorded with the bytes; the id in the reply")
  func simple() throws {
    let server = try startServer()
    defer { server.stop() }
    let port = try #require(server.httpPort)
    let r = try httpRequest(
      port: port, "POST", Self.path + "?uploadType=media",
      headers: ["Authorization: Bearer ya29.AAAA", "Content-Type: message/rfc822"], body: Array(Self.message.utf8))
    #expect(r.status == 200, "\(r.body)")
    let record = try #require(server.messages.first).record
    #expect(record.route == "api" && record.recipients == ["b@example.org", "c@example.org", "d@example.org"])
    #expect(r.body.contains("\"id\":\"\(record.apiMessageID ?? "?")\"") && r.body.contains("SENT"))
    #expect(server.messages.first?.data == Array(Self.message.utf8))
  }

  @Test("A resumable upload in two chunks: 308 with Range, then 200")
  func resumable() throws {
    let server = try startServer()
    defer { server.stop() }
    let port = try #require(server.httpPort)
    let bytes = Array(Self.message.utf8)
    let start = try httpRequest(
      port: port, "POST", Self.path + "?uploadType=resumable",
      headers: ["Authorization: Bearer ya29.AAAA", "X-Upload-Content-Type: message/rfc822", "X-Upload-Content-Length: \(bytes.count)"], body: [])
    #expect(start.status == 200)
    let location = try #require(
      start.headers.split(separator: "\r\n").first { $0.hasPrefix("Location: ") }?.dropFirst("Location: ".count))
    let target = String(location.drop { $0 != "/" }.dropFirst(2).drop { $0 != "/" })
    let half = bytes.count / 2
    let first = try httpRequest(
      port: port, "PUT", target, headers: ["Content-Range: bytes 0-\(half - 1)/\(bytes.count)"], body: Array(bytes[..<half]))
    #expect(first.status == 308 && first.headers.contains("Range: bytes=0-\(half - 1)"))
    #expect(server.messages.isEmpty)
    let last = try httpRequest(
      port: port, "PUT", target, headers: ["Content-Range: bytes \(half)-\(bytes.count - 1)/\(bytes.count)"],
      body: Array(bytes[half...]))
    #expect(last.status == 200, "\(last.body)")
    #expect(server.messages.first?.data == bytes)
    // The session is gone once complete.
    #expect(try httpRequest(port: port, "PUT", target, headers: [], body: bytes).status == 404)
  }

  @Test("Token checks: unknown 401, a scope that cannot send 403 insufficientPermissions; no recipient 400")
  func refusals() throws {
    let server = try startServer()
    defer { server.stop() }
    let port = try #require(server.httpPort)
    let type = "Content-Type: message/rfc822"
    var r = try httpRequest(
      port: port, "POST", Self.path + "?uploadType=media", headers: ["Authorization: Bearer nope", type],
      body: Array(Self.message.utf8))
    #expect(r.status == 401)
    #expect(try Self.reason(r.body) == "authError")
    server.setTokenEndpointBehavior(TokenEndpointBehavior(scope: "openid email"))
    r = try httpRequest(
      port: port, "POST", Self.path + "?uploadType=media", headers: ["Authorization: Bearer ya29.AAAA", type],
      body: Array(Self.message.utf8))
    #expect(r.status == 403)
    #expect(try Self.reason(r.body) == "insufficientPermissions")
    server.setTokenEndpointBehavior(TokenEndpointBehavior(scope: "https://www.googleapis.com/auth/gmail.send"))
    r = try httpRequest(
      port: port, "POST", Self.path + "?uploadType=media", headers: ["Authorization: Bearer ya29.AAAA", type],
      body: Array("Subject: none\r\n\r\nx\r\n".utf8))
    #expect(r.status == 400 && r.body.contains("Recipient address required"))
    #expect(server.messages.isEmpty)
  }

  @Test("A send-only token is refused by SMTP: the XOAUTH2 error challenge, then 535")
  func smtpRefusesSendOnly() throws {
    let server = try startServer()
    defer { server.stop() }
    server.setTokenEndpointBehavior(TokenEndpointBehavior(scope: "https://www.googleapis.com/auth/gmail.send"))
    let client = try SMTPTestClient(port: try #require(server.implicitTLSPort), implicitTLS: true, caFile: server.caFile)
    _ = try client.reply()
    try client.command("EHLO client.example.org")
    let challenge = try client.command("AUTH XOAUTH2 \(base64("user=a@example.com\u{1}auth=Bearer ya29.AAAA\u{1}\u{1}"))")
    #expect(challenge.first?.hasPrefix("334 ") == true)
    let reply = try client.command("")
    #expect(reply.first?.hasPrefix("535") == true, "\(reply)")
  }

  @Test("api-error scenarios play Google's replies, as many times as asked")
  func scenarios() throws {
    let server = try startServer { $0.scenarios = [.apiError(status: 429, reason: nil, times: 1)] }
    defer { server.stop() }
    let port = try #require(server.httpPort)
    let headers = ["Authorization: Bearer ya29.AAAA", "Content-Type: message/rfc822"]
    var r = try httpRequest(port: port, "POST", Self.path + "?uploadType=media", headers: headers, body: Array(Self.message.utf8))
    #expect(r.status == 429)
    #expect(try Self.reason(r.body) == "rateLimitExceeded")
    r = try httpRequest(port: port, "POST", Self.path + "?uploadType=media", headers: headers, body: Array(Self.message.utf8))
    #expect(r.status == 200)
  }
}
