// SPDX-License-Identifier: MIT
// The service-account JWT (RFC 7519, RFC 7523 §2.1; reference/gmail.md §7, T7):
// header `{"alg":"RS256","typ":"JWT","kid":…}`, claims `iss`, `sub`, `scope`, `aud`,
// `iat`, `exp` (one hour), base64url, signed by a function passed in. Pure.
// Failure policy: the signer's error is passed through unchanged.

import Codecs

/// Builds a signed JWT for the jwt-bearer grant.
public struct JWTAssertion: Equatable, Sendable {
  /// Google's maximum lifetime of an assertion.
  public static let lifetime = 3600

  /// The service account (`iss`).
  public var issuer: String
  /// The user to impersonate (`sub`), or nil for the service account itself.
  public var subject: String?
  public var scope: String
  /// The token endpoint (`aud`).
  public var audience: String
  /// `iat`, seconds since the epoch.
  public var issuedAt: Int
  /// The header's `kid`.
  public var keyID: String?

  public init(
    issuer: String, subject: String?, scope: String = GoogleOAuth.gmailScope, audience: String,
    issuedAt: Int, keyID: String?
  ) {
    self.issuer = issuer
    self.subject = subject
    self.scope = scope
    self.audience = audience
    self.issuedAt = issuedAt
    self.keyID = keyID
  }

  /// The assertion for a key file, impersonating `subject`, asking for `scope`, issued at `now`.
  public init(
    key: ServiceAccountKey, subject: String?, scope: String = GoogleOAuth.gmailScope, audience: String, now: Int
  ) {
    self.init(
      issuer: key.clientEmail, subject: subject, scope: scope, audience: audience, issuedAt: now,
      keyID: key.privateKeyID)
  }

  /// The header JSON.
  public var headerJSON: String {
    var members: [(key: String, value: JSONValue)] = [
      ("alg", .string("RS256")), ("typ", .string("JWT")),
    ]
    if let keyID { members.append(("kid", .string(keyID))) }
    return JSON.serialize(.object(members))
  }

  /// The claims JSON.
  public var claimsJSON: String {
    var members: [(key: String, value: JSONValue)] = [("iss", .string(issuer))]
    if let subject { members.append(("sub", .string(subject))) }
    members += [
      ("scope", .string(scope)), ("aud", .string(audience)),
      ("iat", .number(String(issuedAt))), ("exp", .number(String(issuedAt + Self.lifetime))),
    ]
    return JSON.serialize(.object(members))
  }

  /// `BASE64URL(header) "." BASE64URL(claims)`: the bytes the signature covers.
  public var signingInput: [UInt8] {
    Array(
      (Base64.encode(Array(headerJSON.utf8), alphabet: .url) + "."
        + Base64.encode(Array(claimsJSON.utf8), alphabet: .url)).utf8)
  }

  /// The compact JWT: signing input, ".", base64url of the signature.
  /// - Parameter sign: RSASSA-PKCS1-v1_5 with SHA-256 over its argument.
  /// - Throws: Whatever `sign` throws.
  public func signed<E: Error>(with sign: ([UInt8]) throws(E) -> [UInt8]) throws(E) -> String {
    let input = signingInput
    let signature = try sign(input)
    return String(decoding: input, as: UTF8.self) + "." + Base64.encode(signature, alphabet: .url)
  }
}
