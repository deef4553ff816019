// SPDX-License-Identifier: MIT
// PKCE and state from pinned random bytes; the authorization URL and form bodies.

import Testing

@testable import OAuth2

/// A stand-in digest: the first 32 bytes of the input, reversed and padded. It lets the
/// tests check that the challenge is base64url of whatever the hash returns.
func fakeSHA256(_ bytes: [UInt8]) -> [UInt8] {
  Array((bytes + [UInt8](repeating: 0, count: 32)).prefix(32).reversed())
}

@Suite("PKCE and the authorization request")
struct PKCETests {
  @Test("RFC 7636 appendix B: the verifier and S256 challenge")
  func rfc7636AppendixB() {
    // Appendix B's octets give verifier dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk.
    let octets: [UInt8] = [
      116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77,
      105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    ]
    // SHA-256 of that verifier, from the RFC, so no hash code is needed here.
    let digest: [UInt8] = [
      19, 211, 30, 150, 26, 26, 216, 236, 47, 22, 177, 12, 76, 152, 46, 8, 118, 168, 120, 173, 109,
      241, 68, 86, 110, 225, 137, 74, 203, 112, 249, 195,
    ]
    let pkce = PKCE(randomBytes: octets) { (input: [UInt8]) -> [UInt8] in
      #expect(
        String(decoding: input, as: UTF8.self) == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
      return digest
    }
    #expect(pkce.verifier == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    #expect(pkce.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    #expect(pkce.method == "S256")
  }

  @Test("Verifier length is 43 to 128 characters of the base64url alphabet")
  func verifierLength() {
    for count in [32, 64, 96] {
      let pkce = PKCE(randomBytes: [UInt8](repeating: 0xFB, count: count), sha256: fakeSHA256)
      #expect((43...128).contains(pkce.verifier.count))
      #expect(pkce.verifier.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
    }
  }

  @Test("A failing hash function's error comes through")
  func hashFailure() {
    struct Boom: Error, Equatable {}
    #expect(throws: Boom()) {
      try PKCE(randomBytes: [UInt8](repeating: 1, count: 32)) {
        (_: [UInt8]) throws(Boom) -> [UInt8] in
        throw Boom()
      }
    }
  }

  @Test("The authorization URL carries every parameter, percent-encoded")
  func authorizationURL() {
    let pkce = PKCE(randomBytes: [UInt8](repeating: 7, count: 32), sha256: fakeSHA256)
    let request = AuthorizationRequest(
      clientID: "123-abc.apps.googleusercontent.com", port: 53682, state: "st-1",
      pkce: pkce, loginHint: "alice+x@example.com")
    #expect(
      request.url
        == "https://accounts.google.com/o/oauth2/v2/auth?client_id=123-abc.apps.googleusercontent.com"
        + "&redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2F&response_type=code"
        + "&scope=https%3A%2F%2Fmail.google.com%2F&code_challenge=\(pkce.challenge)"
        + "&code_challenge_method=S256&state=st-1&access_type=offline&prompt=consent"
        + "&login_hint=alice%2Bx%40example.com")
    let noHint = AuthorizationRequest(
      endpoint: "http://127.0.0.1:9/auth?x=1", clientID: "c", port: 1, state: "s", pkce: pkce,
      loginHint: nil)
    #expect(noHint.url.hasPrefix("http://127.0.0.1:9/auth?x=1&client_id=c&"))
    #expect(!noHint.url.contains("login_hint"))
  }

  @Test("State is base64url of the random bytes")
  func state() {
    #expect(
      AuthorizationState.make(randomBytes: [UInt8](repeating: 0xFF, count: 16))
        == "_____________________w")
  }

  @Test("Form bodies of the four requests (T6, T7)")
  func formBodies() {
    #expect(
      FormRequest.authorizationCode(
        code: "4/0A b", clientID: "CID", clientSecret: "CS", redirectURI: "http://127.0.0.1:53682/",
        codeVerifier: "V"
      ).body
        == "code=4%2F0A%20b&client_id=CID&client_secret=CS&redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2F"
        + "&grant_type=authorization_code&code_verifier=V")
    #expect(
      FormRequest.refresh(refreshToken: "1//0g", clientID: "CID", clientSecret: "CS").body
        == "grant_type=refresh_token&client_id=CID&client_secret=CS&refresh_token=1%2F%2F0g")
    #expect(
      FormRequest.refresh(refreshToken: "R", clientID: "CID", clientSecret: nil).body
        == "grant_type=refresh_token&client_id=CID&refresh_token=R")
    #expect(
      FormRequest.jwtBearer(assertion: "a.b.c").body
        == "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c")
    #expect(FormRequest.revoke(token: "1//x").body == "token=1%2F%2Fx")
  }

  @Test("A form request's description names fields, not values")
  func formDescription() {
    let text =
      "\(FormRequest.refresh(refreshToken: "SECRET-RT", clientID: "CID", clientSecret: "SECRET-CS"))"
    #expect(!text.contains("SECRET"))
    #expect(text.contains("refresh_token"))
  }
}
