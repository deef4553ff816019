// SPDX-License-Identifier: MIT
// Token endpoint replies (T6, T7, reference/gmail.md §6.5): success, rotation, every
// RFC 6749 §5.2 error, and the unusable replies that must count as temporary.

import Testing

@testable import OAuth2

@Suite("TokenResponse")
struct TokenResponseTests {
  func parse(_ status: Int, _ body: String) throws(TokenEndpointError) -> TokenResponse {
    try TokenResponse.parse(status: status, body: Array(body.utf8))
  }

  @Test("T6: the first response carries a refresh token")
  func first() throws {
    let r = try parse(
      200,
      #"{"access_token":"ya29.A","expires_in":3599,"refresh_token":"1//0g","scope":"https://mail.google.com/","token_type":"Bearer"}"#
    )
    #expect(
      r
        == TokenResponse(
          accessToken: "ya29.A", expiresIn: 3599, refreshToken: "1//0g",
          scope: "https://mail.google.com/", tokenType: "Bearer"))
    #expect(!r.description.contains("ya29") && !r.description.contains("1//0g"))
  }

  @Test("The granted scope is kept in the cache, and a reply without one keeps the last")
  func scope() throws {
    let old = StoredTokens(refreshToken: "R1", accessToken: "A0", expiresAt: 10)
    let send = "https://www.googleapis.com/auth/gmail.send"
    let granted = old.updated(with: try parse(200, #"{"access_token":"A1","expires_in":60,"scope":"\#(send)"}"#), now: 0)
    #expect(granted.scope == send)
    #expect(try StoredTokens.parse(Array(granted.serialized.utf8)) == granted)
    #expect(granted.serialized.contains(#""scope":"https://www.googleapis.com/auth/gmail.send""#))
    #expect(granted.updated(with: try parse(200, #"{"access_token":"A2","expires_in":60}"#), now: 0).scope == send)
  }

  @Test("A refresh without refresh_token keeps the old one; a rotated one replaces it")
  func rotation() throws {
    let old = StoredTokens(refreshToken: "R1", accessToken: "A0", expiresAt: 10)
    let plain = try parse(200, #"{"access_token":"A1","expires_in":"3599","token_type":"bearer"}"#)
    #expect(
      old.updated(with: plain, now: 1000)
        == StoredTokens(refreshToken: "R1", accessToken: "A1", expiresAt: 4599))
    let rotated = try parse(200, #"{"access_token":"A2","expires_in":100,"refresh_token":"R2"}"#)
    #expect(
      old.updated(with: rotated, now: 1000)
        == StoredTokens(refreshToken: "R2", accessToken: "A2", expiresAt: 1100, refreshTokenIssuedAt: 1000))
    let missingExpiry = try parse(200, #"{"access_token":"A3"}"#)
    #expect(missingExpiry.expiresIn == 3600)
  }

  @Test(
    "Errors and their classification",
    arguments: [
      (
        400, #"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
        TokenEndpointError.invalidGrant(description: "Token has been expired or revoked."), false
      ),
      (
        401, #"{"error":"invalid_client","error_description":"Unauthorized"}"#,
        .rejected(error: "invalid_client", description: "Unauthorized"), false
      ),
      (
        401,
        #"{"error":"unauthorized_client","error_description":"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."}"#,
        .rejected(
          error: "unauthorized_client",
          description:
            "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."
        ), false
      ),
      (
        400,
        #"{"error":"invalid_scope","error_description":"Invalid device flow scope: https://www.googleapis.com/auth/gmail.readonly"}"#,
        .rejected(
          error: "invalid_scope",
          description: "Invalid device flow scope: https://www.googleapis.com/auth/gmail.readonly"),
        false
      ),
      (
        400, #"{"error":"unsupported_grant_type"}"#,
        .rejected(error: "unsupported_grant_type", description: nil), false
      ),
      (503, "<html>Service Unavailable</html>", .unavailable(status: 503, error: nil), true),
      (
        500, #"{"error":"internal_failure"}"#, .unavailable(status: 500, error: "internal_failure"),
        true
      ),
      (
        400, #"{"error":"temporarily_unavailable"}"#,
        .unavailable(status: 400, error: "temporarily_unavailable"), true
      ),
      (
        429, #"{"error":"rate_limit_exceeded"}"#,
        .unavailable(status: 429, error: "rate_limit_exceeded"), true
      ),
      (502, "", .unavailable(status: 502, error: nil), true),
      (
        200, "<html>proxy login</html>",
        .malformed(status: 200, reason: "not JSON (unexpected byte at offset 0)"), true
      ),
      (
        200, #"{"access_token":"ya29.tr"#,
        .malformed(status: 200, reason: "JSON document is truncated"), true
      ),
      (
        200, #"{"token_type":"Bearer","expires_in":3599}"#,
        .malformed(status: 200, reason: "the response has no access_token"), true
      ),
      (
        200, #"["access_token"]"#,
        .malformed(status: 200, reason: "the response is an array, not an object"), true
      ),
      (
        200, #"{"access_token":"x","expires_in":-5}"#,
        .malformed(status: 200, reason: "expires_in is not a positive whole number"), true
      ),
      (
        200, #"{"access_token":"x","token_type":"MAC"}"#,
        .malformed(status: 200, reason: "token_type is MAC, not Bearer"), true
      ),
      (
        404, "Not Found", .malformed(status: 404, reason: "not JSON (unexpected byte at offset 0)"),
        true
      ),
      (
        400, #"{"message":"no"}"#,
        .malformed(status: 400, reason: "HTTP 400 without an OAuth error object"), true
      ),
    ])
  func errors(status: Int, body: String, expected: TokenEndpointError, temporary: Bool) {
    #expect(throws: expected) { try parse(status, body) }
    #expect(expected.isTemporary == temporary)
  }

  @Test("A huge body is refused as a temporary failure")
  func huge() {
    let body = #"{"access_token":""# + String(repeating: "a", count: 70_000) + #""}"#
    #expect(
      throws: TokenEndpointError.malformed(
        status: 200, reason: "JSON document larger than 65536 bytes")
    ) {
      try parse(200, body)
    }
  }

  @Test("invalid_grant says to run login for the account and names the 7-day Testing expiry")
  func invalidGrantMessage() {
    let text = TokenEndpointError.invalidGrant(description: "Token has been expired or revoked.")
      .explanation(account: "personal")
    #expect(text.contains("gsendmailctl login personal"))
    #expect(text.contains("7 days"))
    #expect(text.contains("Testing"))
  }

  @Test("Server text is cut to printable ASCII")
  func sanitized() {
    let long = String(repeating: "x", count: 300)
    #expect(
      throws: TokenEndpointError.rejected(
        error: "bad", description: String(repeating: "x", count: 200) + "…")
    ) {
      try parse(400, #"{"error":"b\u0007a\nd","error_description":"\#(long)"}"#)
    }
  }
}
