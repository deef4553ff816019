// SPDX-License-Identifier: MIT
// Reads the token endpoint's answer: a successful response (RFC 6749 §5.1) or an error
// object (§5.2), given the HTTP status and body. Pure.
// Failure policy: the outcome is decided here and named by `TokenEndpointError`:
// `invalid_grant` and the other client/grant errors mean the account cannot
// authenticate until someone acts; a 5xx, 429, `temporarily_unavailable`, or a body that
// is not a usable answer (not JSON, truncated, too large, no access_token) is temporary,
// so a broken proxy or a bad gateway never costs the user their login. Error text never
// contains a token; the server's `error_description` is cut to printable ASCII.

import Codecs

/// A successful token response.
public struct TokenResponse: Equatable, Sendable, CustomStringConvertible {
  public var accessToken: String
  /// Lifetime in seconds (`expires_in`; 3600 when the server omits it).
  public var expiresIn: Int
  /// Present on the first authorization, and when the server rotates it.
  public var refreshToken: String?
  /// Space-separated granted scopes, when given.
  public var scope: String?
  /// `Bearer`, when given.
  public var tokenType: String?

  public init(
    accessToken: String, expiresIn: Int, refreshToken: String? = nil, scope: String? = nil,
    tokenType: String? = nil
  ) {
    self.accessToken = accessToken
    self.expiresIn = expiresIn
    self.refreshToken = refreshToken
    self.scope = scope
    self.tokenType = tokenType
  }

  /// Says what was granted, never the tokens.
  public var description: String {
    "token response (expires in \(expiresIn) s"
      + (refreshToken == nil ? "" : ", with a refresh token")
      + (scope.map { ", scope \($0)" } ?? "") + ")"
  }

  /// The largest body read: a token response is well under 4 KiB.
  public static let maximumBodyBytes = 64 * 1024

  /// Interprets the token endpoint's reply.
  /// - Parameters:
  ///   - status: The HTTP status code.
  ///   - body: The response body.
  /// - Returns: The tokens, when the status is 2xx and the body is a usable response.
  /// - Throws: `TokenEndpointError`.
  public static func parse(status: Int, body: [UInt8]) throws(TokenEndpointError) -> TokenResponse {
    let json: JSONValue
    do {
      json = try JSON.parse(body, maximumBytes: maximumBodyBytes)
    } catch {
      if status >= 500 || status == 429 { throw .unavailable(status: status, error: nil) }
      throw .malformed(status: status, reason: error.description)
    }
    guard (200..<300).contains(status) else { throw errorObject(status: status, json: json) }
    guard case .object = json else {
      throw .malformed(status: status, reason: "the response is \(json.kindName), not an object")
    }
    guard let access = json["access_token"]?.stringValue, !access.isEmpty else {
      if json["error"] != nil { throw errorObject(status: status, json: json) }
      throw .malformed(status: status, reason: "the response has no access_token")
    }
    let expiresIn: Int
    if let field = json["expires_in"] {
      guard let seconds = field.intValue, seconds > 0 else {
        throw .malformed(status: status, reason: "expires_in is not a positive whole number")
      }
      expiresIn = seconds
    } else {
      expiresIn = 3600
    }
    let tokenType = json["token_type"]?.stringValue
    if let tokenType, tokenType.lowercased() != "bearer" {
      throw .malformed(status: status, reason: "token_type is \(sanitized(tokenType)), not Bearer")
    }
    let refresh = json["refresh_token"]?.stringValue
    return TokenResponse(
      accessToken: access, expiresIn: expiresIn,
      refreshToken: (refresh?.isEmpty ?? true) ? nil : refresh,
      scope: json["scope"]?.stringValue, tokenType: tokenType)
  }

  private static func errorObject(status: Int, json: JSONValue) -> TokenEndpointError {
    guard let code = json["error"]?.stringValue, !code.isEmpty else {
      if status >= 500 || status == 429 { return .unavailable(status: status, error: nil) }
      return .malformed(status: status, reason: "HTTP \(status) without an OAuth error object")
    }
    let description = json["error_description"]?.stringValue.map(sanitized)
    switch code {
    case "invalid_grant": return .invalidGrant(description: description)
    case "temporarily_unavailable", "server_error", "internal_failure":
      return .unavailable(status: status, error: sanitized(code))
    default:
      if status >= 500 || status == 429 {
        return .unavailable(status: status, error: sanitized(code))
      }
      return .rejected(error: sanitized(code), description: description)
    }
  }

  /// Printable ASCII only, at most 200 characters: server text is shown to users.
  static func sanitized(_ text: String) -> String {
    let kept = text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }
    var out = String(String.UnicodeScalarView(kept.prefix(200)))
    if kept.count > 200 { out += "…" }
    return out
  }
}

/// Why the token endpoint did not give an access token.
public enum TokenEndpointError: Error, Equatable, Sendable, CustomStringConvertible {
  /// `invalid_grant`: the refresh token (or code) is revoked, expired or wrong. Needs a new
  /// `gsendmailctl login`.
  case invalidGrant(description: String?)
  /// Another RFC 6749 §5.2 error: `invalid_client`, `unauthorized_client`, `invalid_scope`,
  /// `invalid_request`, `unsupported_grant_type`, or one not in the RFC.
  case rejected(error: String, description: String?)
  /// The server is failing or overloaded: 5xx, 429, `temporarily_unavailable`,
  /// `server_error`, Google's `internal_failure`.
  case unavailable(status: Int, error: String?)
  /// The reply is not a usable token response: not JSON, truncated, too large, no
  /// access_token, a wrong token_type.
  case malformed(status: Int, reason: String)

  /// Whether a later attempt with the same credentials may succeed.
  public var isTemporary: Bool {
    switch self {
    case .unavailable, .malformed: return true
    case .invalidGrant, .rejected: return false
    }
  }

  public var description: String { explanation(account: nil) }

  /// The message, naming the account in the `gsendmailctl login` advice when known.
  public func explanation(account: String?) -> String {
    let login = "run 'gsendmailctl login" + (account.map { " \($0)" } ?? "") + "'"
    switch self {
    case .invalidGrant(let description):
      return "the token endpoint refused the refresh token (invalid_grant"
        + (description.map { ": \($0)" } ?? "") + "); it was revoked or has expired (Google "
        + "expires refresh tokens after 7 days while the OAuth consent screen's publishing "
        + "status is \"Testing\"; publish the app to keep them); \(login)"
    case .rejected(let error, let description):
      let detail = description.map { ": \($0)" } ?? ""
      let hint: String
      switch error {
      case "invalid_client":
        hint =
          "the OAuth client id or secret is wrong, or the client was deleted; check "
          + "client_secret_file (or client_id/client_secret)"
      case "unauthorized_client":
        hint =
          "the client may not use this grant; for a service account, grant domain-wide "
          + "delegation for its client id and the scope https://mail.google.com/ in the Google "
          + "Workspace Admin console"
      case "invalid_scope":
        hint = "the scope https://mail.google.com/ is not allowed for this client"
      case "invalid_grant":
        // Only a service account's signed assertion gets here (a refused refresh token is
        // `invalidGrant`).
        hint =
          "check that the key in service_account_file is still active, that user names an "
          + "existing user of the domain, that domain-wide delegation grants the key's client id "
          + "the scope https://mail.google.com/, and that this machine's clock is right"
      default:
        hint = "check the OAuth client settings, then \(login)"
      }
      return "the token endpoint refused the request (\(error)\(detail)); \(hint)"
    case .unavailable(let status, let error):
      return "the token endpoint is unavailable (HTTP \(status)"
        + (error.map { ", \($0)" } ?? "") + ")"
    case .malformed(let status, let reason):
      return "the token endpoint sent an unusable reply (HTTP \(status): \(reason))"
    }
  }
}
