// SPDX-License-Identifier: MIT
// The authorization request URL of the loopback flow for installed apps (RFC 6749 §4.1.1,
// RFC 7636 §4.3, RFC 8252 §7.3) with Google's `access_type`, `prompt` and `login_hint`.
// Pure. Failure policy: cannot fail; every value is percent-encoded.

/// The URL the user opens to grant access.
public struct AuthorizationRequest: Equatable, Sendable {
  /// The authorization endpoint (`auth_url`).
  public var endpoint: String
  public var clientID: String
  /// `http://127.0.0.1:PORT/`.
  public var redirectURI: String
  public var scope: String
  public var state: String
  public var pkce: PKCE
  /// The account to preselect (`login_hint`), or nil.
  public var loginHint: String?

  /// - Parameters:
  ///   - endpoint: The authorization endpoint.
  ///   - clientID: The OAuth client's id.
  ///   - port: The loopback listener's port; the redirect URI is `http://127.0.0.1:PORT/`.
  ///   - state: From `AuthorizationState.make`.
  ///   - pkce: The verifier and challenge.
  ///   - loginHint: The Google account to preselect.
  ///   - scope: Defaults to `https://mail.google.com/`.
  public init(
    endpoint: String = GoogleOAuth.authorizationURL, clientID: String, port: UInt16,
    state: String, pkce: PKCE, loginHint: String?, scope: String = GoogleOAuth.gmailScope
  ) {
    self.endpoint = endpoint
    self.clientID = clientID
    self.redirectURI = Self.redirectURI(port: port)
    self.scope = scope
    self.state = state
    self.pkce = pkce
    self.loginHint = loginHint
  }

  /// The loopback redirect URI for a port.
  public static func redirectURI(port: UInt16) -> String { "http://127.0.0.1:\(port)/" }

  /// The query parameters, in the order they are sent.
  public var parameters: [(String, String)] {
    var p = [
      ("client_id", clientID), ("redirect_uri", redirectURI), ("response_type", "code"),
      ("scope", scope), ("code_challenge", pkce.challenge), ("code_challenge_method", pkce.method),
      ("state", state), ("access_type", "offline"), ("prompt", "consent"),
    ]
    if let loginHint, !loginHint.isEmpty { p.append(("login_hint", loginHint)) }
    return p
  }

  /// The full URL to open in a browser.
  public var url: String {
    endpoint + (endpoint.contains("?") ? "&" : "?") + FormEncoding.encode(parameters)
  }
}
