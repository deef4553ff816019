// SPDX-License-Identifier: MIT
// The form bodies POSTed to the token and revocation endpoints: authorization code
// (RFC 6749 §4.1.3 + RFC 7636 §4.5), refresh (§6), JWT bearer (RFC 7523 §2.1), and
// revocation (RFC 7009 §2.1). Pure. Failure policy: cannot fail.
//
// The bodies carry secrets (codes, tokens, client secret). They are sent, never printed:
// `description` is redacted so that string interpolation in a log cannot leak them.

/// One `application/x-www-form-urlencoded` request body.
public struct FormRequest: Equatable, Sendable, CustomStringConvertible {
  /// The fields, in order.
  public let fields: [(String, String)]

  public static func == (lhs: FormRequest, rhs: FormRequest) -> Bool {
    lhs.fields.count == rhs.fields.count && zip(lhs.fields, rhs.fields).allSatisfy { $0 == $1 }
  }

  /// The encoded body.
  public var body: String { FormEncoding.encode(fields) }

  /// The field names only: the values may be secrets.
  public var description: String {
    "form(" + fields.map { $0.0 }.joined(separator: ", ") + ")"
  }

  /// Exchanges an authorization code (`grant_type=authorization_code`).
  /// - Parameter clientSecret: Omitted from the body when nil.
  public static func authorizationCode(
    code: String, clientID: String, clientSecret: String?, redirectURI: String, codeVerifier: String
  ) -> FormRequest {
    var f = [("code", code), ("client_id", clientID)]
    if let clientSecret { f.append(("client_secret", clientSecret)) }
    f += [
      ("redirect_uri", redirectURI), ("grant_type", "authorization_code"),
      ("code_verifier", codeVerifier),
    ]
    return FormRequest(fields: f)
  }

  /// Refreshes an access token (`grant_type=refresh_token`).
  public static func refresh(refreshToken: String, clientID: String, clientSecret: String?)
    -> FormRequest
  {
    var f = [("grant_type", "refresh_token"), ("client_id", clientID)]
    if let clientSecret { f.append(("client_secret", clientSecret)) }
    f.append(("refresh_token", refreshToken))
    return FormRequest(fields: f)
  }

  /// Exchanges a signed JWT (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`).
  public static func jwtBearer(assertion: String) -> FormRequest {
    FormRequest(fields: [
      ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion),
    ])
  }

  /// Revokes a token (refresh or access) at the revocation endpoint.
  public static func revoke(token: String) -> FormRequest {
    FormRequest(fields: [("token", token)])
  }
}
