// SPDX-License-Identifier: MIT
// Google's client-secret file, service-account keys, the service-account JWT, and the
// token cache record.

import Codecs
import Testing

@testable import OAuth2

@Suite("Credentials files and JWT")
struct CredentialsTests {
  @Test("A Desktop client file")
  func installed() throws {
    let file =
      #"{"installed":{"client_id":"1-a.apps.googleusercontent.com","project_id":"p","auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"https://oauth2.googleapis.com/token","auth_provider_x509_cert_url":"https://www.googleapis.com/oauth2/v1/certs","client_secret":"GOCSPX-secret","redirect_uris":["http://localhost"]}}"#
    let c = try ClientSecret.parse(Array(file.utf8))
    #expect(
      c
        == ClientSecret(
          kind: .installed, clientID: "1-a.apps.googleusercontent.com",
          clientSecret: "GOCSPX-secret", authURI: "https://accounts.google.com/o/oauth2/auth",
          tokenURI: "https://oauth2.googleapis.com/token"))
    #expect(!c.description.contains("GOCSPX"))
  }

  @Test("A Web client file")
  func web() throws {
    let c = try ClientSecret.parse(Array(#"{"web":{"client_id":"w","client_secret":"s"}}"#.utf8))
    #expect(c.kind == .web && c.clientID == "w" && c.authURI == nil)
  }

  @Test(
    "Bad client files name the problem",
    arguments: [
      ("<nope", CredentialsFileError.notJSON(.unexpected(offset: 0))),
      (
        "[]",
        .wrongKind(expected: #"a Google OAuth client file ({"installed":{…}} or {"web":{…}})"#)
      ),
      (
        #"{"other":{}}"#,
        .wrongKind(expected: #"a Google OAuth client file ({"installed":{…}} or {"web":{…}})"#)
      ),
      (
        #"{"type":"service_account"}"#,
        .wrongKind(
          expected:
            #"a Google OAuth client file ({"installed":{…}} or {"web":{…}}); this is a service-account key, use service_account_file"#
        )
      ),
      (#"{"installed":[]}"#, .wrongType(field: "installed", expected: "an object")),
      (#"{"installed":{"client_secret":"s"}}"#, .missingField("installed.client_id")),
      (#"{"installed":{"client_id":""}}"#, .missingField("installed.client_id")),
      (
        #"{"installed":{"client_id":5}}"#,
        .wrongType(field: "installed.client_id", expected: "a string")
      ),
    ])
  func badClientFiles(text: String, error: CredentialsFileError) {
    #expect(throws: error) { try ClientSecret.parse(Array(text.utf8)) }
  }

  static let pem = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"

  @Test("A service-account key")
  func serviceAccount() throws {
    let file =
      #"{"type":"service_account","project_id":"p","private_key_id":"kid1","private_key":"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n","client_email":"svc@p.iam.gserviceaccount.com","client_id":"1","token_uri":"https://oauth2.googleapis.com/token"}"#
    let key = try ServiceAccountKey.parse(Array(file.utf8))
    #expect(
      key
        == ServiceAccountKey(
          clientEmail: "svc@p.iam.gserviceaccount.com", privateKeyPEM: Self.pem,
          privateKeyID: "kid1", tokenURI: GoogleOAuth.tokenURL, clientID: "1"))
    #expect(!key.description.contains("MIIB"))
  }

  @Test(
    "Bad service-account keys name the problem",
    arguments: [
      (
        #"{"installed":{}}"#,
        CredentialsFileError.wrongKind(
          expected:
            "a service-account key file; this is an OAuth client file, use client_secret_file")
      ),
      (#"{"client_email":"a@b"}"#, .missingField("type")),
      (
        #"{"type":"authorized_user"}"#,
        .invalidValue(field: "type", reason: #"is "authorized_user", not "service_account""#)
      ),
      (#"{"type":"service_account","private_key":"x"}"#, .missingField("client_email")),
      (
        #"{"type":"service_account","client_email":"nobody"}"#,
        .invalidValue(field: "client_email", reason: "is not an email address")
      ),
      (#"{"type":"service_account","client_email":"a@b"}"#, .missingField("private_key")),
      (
        #"{"type":"service_account","client_email":"a@b","private_key":"SECRETKEY"}"#,
        .invalidValue(field: "private_key", reason: "is not a PEM private key")
      ),
    ])
  func badKeys(text: String, error: CredentialsFileError) {
    #expect(throws: error) { try ServiceAccountKey.parse(Array(text.utf8)) }
    #expect(!error.description.contains("SECRETKEY"))
  }

  @Test("T7: the JWT header, claims and signature")
  func jwt() throws {
    let key = ServiceAccountKey(
      clientEmail: "svc@proj.iam.gserviceaccount.com", privateKeyPEM: Self.pem, privateKeyID: "KID",
      tokenURI: GoogleOAuth.tokenURL)
    let assertion = JWTAssertion(
      key: key, subject: "alice@corp.example.com", audience: GoogleOAuth.tokenURL,
      now: 1_700_000_000)
    #expect(assertion.headerJSON == #"{"alg":"RS256","typ":"JWT","kid":"KID"}"#)
    #expect(
      assertion.claimsJSON
        == #"{"iss":"svc@proj.iam.gserviceaccount.com","sub":"alice@corp.example.com","scope":"https://mail.google.com/","aud":"https://oauth2.googleapis.com/token","iat":1700000000,"exp":1700003600}"#
    )
    var signed: [UInt8] = []
    let jwt = assertion.signed { (input: [UInt8]) -> [UInt8] in
      signed = input
      return [0xFB, 0xFF]
    }
    let parts = jwt.split(separator: ".", omittingEmptySubsequences: false)
    #expect(parts.count == 3)
    #expect(String(decoding: signed, as: UTF8.self) == parts[0] + "." + parts[1])
    #expect(Base64.decode(parts[0], alphabet: .url) == Array(assertion.headerJSON.utf8))
    #expect(Base64.decode(parts[1], alphabet: .url) == Array(assertion.claimsJSON.utf8))
    #expect(parts[2] == "-_8")
  }

  @Test("The cache record round-trips and reuses tokens until 60 s before expiry")
  func storedTokens() throws {
    let t = StoredTokens(refreshToken: "1//r\"x", accessToken: "ya29.a", expiresAt: 1000)
    #expect(
      t.serialized == #"{"refresh_token":"1//r\"x","access_token":"ya29.a","expires_at":1000}"#
        + "\n")
    #expect(try StoredTokens.parse(Array(t.serialized.utf8)) == t)
    #expect(t.usableAccessToken(now: 939) == "ya29.a")
    #expect(t.usableAccessToken(now: 940) == nil)
    #expect(!t.description.contains("ya29") && !t.description.contains("1//r"))
    #expect(
      try StoredTokens.parse(Array(#"{"refresh_token":"r"}"#.utf8))
        == StoredTokens(refreshToken: "r", accessToken: nil, expiresAt: nil))
    #expect(throws: StoredTokens.FormatError.wrongType(field: "expires_at")) {
      try StoredTokens.parse(Array(#"{"expires_at":"soon"}"#.utf8))
    }
    #expect(throws: StoredTokens.FormatError.notAnObject) {
      try StoredTokens.parse(Array("1".utf8))
    }
    #expect(throws: StoredTokens.FormatError.json(.truncated)) {
      try StoredTokens.parse(Array("{".utf8))
    }
  }

  @Test("The refresh token's issue time: stored, kept across refreshes, renewed by a rotation")
  func refreshTokenIssuedAt() throws {
    let t = StoredTokens(refreshToken: "1//r", accessToken: "ya29.a", expiresAt: 1000, refreshTokenIssuedAt: 500)
    #expect(
      t.serialized == #"{"refresh_token":"1//r","access_token":"ya29.a","expires_at":1000,"refresh_token_issued_at":500}"#
        + "\n")
    #expect(try StoredTokens.parse(Array(t.serialized.utf8)) == t)
    #expect(throws: StoredTokens.FormatError.wrongType(field: "refresh_token_issued_at")) {
      try StoredTokens.parse(Array(#"{"refresh_token":"r","refresh_token_issued_at":true}"#.utf8))
    }
    let kept = t.updated(with: TokenResponse(accessToken: "ya29.b", expiresIn: 3599), now: 2000)
    #expect(kept.refreshTokenIssuedAt == 500 && kept.expiresAt == 5599)
    let rotated = t.updated(with: TokenResponse(accessToken: "ya29.c", expiresIn: 3599, refreshToken: "1//s"), now: 3000)
    #expect(rotated.refreshToken == "1//s" && rotated.refreshTokenIssuedAt == 3000)
    // Without a refresh token there is nothing to date.
    #expect(!StoredTokens(refreshToken: nil, accessToken: "a", expiresAt: 1, refreshTokenIssuedAt: 5).serialized.contains("issued"))
  }
}
