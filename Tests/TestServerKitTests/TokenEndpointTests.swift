import Foundation
import TestServerKit
import Testing
import Transport

@Suite("Gmail emulator: fake OAuth token endpoint", .serialized)
struct TokenEndpointTests {
  static func json(_ body: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
  }

  @Test("A known refresh token gets an access token that SMTP XOAUTH2 accepts")
  func refresh() throws {
    let server = try startServer()
    defer { server.stop() }
    let port = try #require(server.httpPort)
    let response = try httpRequest(
      port: port, "POST", "/token",
      form: "grant_type=refresh_token&client_id=cid&client_secret=cs&refresh_token=1%2F%2F0g-known")
    #expect(response.status == 200)
    #expect(response.headers.contains("Content-Type: application/json"))
    let body = try Self.json(response.body)
    let access = try #require(body["access_token"] as? String)
    #expect(access.hasPrefix("ya29."))
    #expect(body["expires_in"] as? Int == 3599)
    #expect(body["scope"] as? String == "https://mail.google.com/")
    #expect(body["token_type"] as? String == "Bearer")
    #expect(body["refresh_token"] == nil)
    #expect(server.isValidAccessToken(access))

    let client = try SMTPTestClient(
      port: try #require(server.implicitTLSPort), implicitTLS: true, caFile: server.caFile)
    _ = try client.reply()
    try client.command("EHLO client.example.org")
    #expect(
      try client.command(
        "AUTH XOAUTH2 \(base64("user=a@example.com\u{1}auth=Bearer \(access)\u{1}\u{1}"))")
        == ["235 2.7.0 Accepted"])
    #expect(server.tokenEndpointStats.refreshGrants == 1)
  }

  @Test("An unknown refresh token gets 400 invalid_grant")
  func unknownRefresh() throws {
    let server = try startServer()
    defer { server.stop() }
    let response = try httpRequest(
      port: try #require(server.httpPort), "POST", "/token",
      form: "grant_type=refresh_token&refresh_token=1%2F%2F0g-unknown")
    #expect(response.status == 400)
    #expect(
      response.body
        == #"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#)
  }

  @Test("GET /auth redirects with code and state; the code is good once")
  func authorizationCode() throws {
    let server = try startServer()
    defer { server.stop() }
    let port = try #require(server.httpPort)
    let redirect = try httpRequest(
      port: port, "GET",
      "/auth?client_id=cid&redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2F&response_type=code&scope=https%3A%2F%2Fmail.google.com%2F&state=ST123"
    )
    #expect(redirect.status == 302)
    let location = try #require(
      redirect.headers.components(separatedBy: "\r\n").first { $0.hasPrefix("Location: ") }?
        .dropFirst(10))
    #expect(location.hasPrefix("http://127.0.0.1:53682/?state=ST123&code="))
    let components = try #require(URLComponents(string: String(location)))
    let code = try #require(components.queryItems?.first { $0.name == "code" }?.value)
    let form =
      "grant_type=authorization_code&code=\(code.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2F"
    let exchanged = try httpRequest(port: port, "POST", "/token", form: form)
    #expect(exchanged.status == 200)
    let body = try Self.json(exchanged.body)
    let refresh = try #require(body["refresh_token"] as? String)
    #expect(try httpRequest(port: port, "POST", "/token", form: form).status == 400)
    let again = try httpRequest(
      port: port, "POST", "/token",
      form:
        "grant_type=refresh_token&refresh_token=\(refresh.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
    )
    #expect(again.status == 200)
    let stats = server.tokenEndpointStats
    #expect(
      stats.authorizations == 1 && stats.authorizationCodeGrants == 2 && stats.refreshGrants == 1)
    #expect(stats.requests == 4)
  }

  @Test("Rotation, short expiry, failure modes and revocation")
  func behaviours() throws {
    let server = try startServer()
    defer { server.stop() }
    let port = try #require(server.httpPort)
    let form = "grant_type=refresh_token&refresh_token=1%2F%2F0g-known"
    server.setTokenEndpointBehavior(TokenEndpointBehavior(rotateRefreshTokens: true, expiresIn: 0))
    let rotated = try Self.json(try httpRequest(port: port, "POST", "/token", form: form).body)
    #expect(rotated["refresh_token"] is String)
    #expect(rotated["expires_in"] as? Int == 0)
    #expect(!server.isValidAccessToken(try #require(rotated["access_token"] as? String)))
    #expect(try httpRequest(port: port, "POST", "/token", form: form).status == 400)

    server.addRefreshToken("1//0g-second")
    let second = "grant_type=refresh_token&refresh_token=1%2F%2F0g-second"
    server.setTokenEndpointBehavior(TokenEndpointBehavior(failure: .serverError))
    #expect(try httpRequest(port: port, "POST", "/token", form: second).status == 500)
    server.setTokenEndpointBehavior(TokenEndpointBehavior(failure: .unavailable))
    #expect(try httpRequest(port: port, "POST", "/token", form: second).status == 503)
    server.setTokenEndpointBehavior(TokenEndpointBehavior(failure: .invalidGrant))
    #expect(
      try httpRequest(port: port, "POST", "/token", form: second).body.contains("invalid_grant"))
    server.setTokenEndpointBehavior(TokenEndpointBehavior(failure: .nonJSON))
    let html = try httpRequest(port: port, "POST", "/token", form: second)
    #expect(html.status == 200 && html.body.hasPrefix("<html>"))

    server.setTokenEndpointBehavior(TokenEndpointBehavior())
    #expect(
      try httpRequest(port: port, "POST", "/revoke", form: "token=1%2F%2F0g-second").status == 200)
    #expect(try httpRequest(port: port, "POST", "/token", form: second).status == 400)
    #expect(try httpRequest(port: port, "POST", "/revoke", form: "token=nope").status == 400)
    #expect(try httpRequest(port: port, "GET", "/other").status == 404)
    #expect(server.tokenEndpointStats.revocations == 2)
  }

  @Test("hang: the request gets no answer until the server stops")
  func hang() throws {
    let server = try startServer()
    let port = try #require(server.httpPort)
    server.setTokenEndpointBehavior(TokenEndpointBehavior(failure: .hang))
    let connection = try TCPConnection.connect(
      host: "127.0.0.1", port: port, timeout: .milliseconds(500))
    let form = "grant_type=refresh_token&refresh_token=x"
    try connection.write(
      Array("POST /token HTTP/1.1\r\nContent-Length: \(form.utf8.count)\r\n\r\n\(form)".utf8))
    var buffer: [UInt8] = []
    #expect(throws: TransportError.timedOut(.read)) { try connection.read(into: &buffer) }
    server.stop()
  }
}
