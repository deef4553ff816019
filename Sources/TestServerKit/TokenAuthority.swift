// SPDX-License-Identifier: MIT
// The fake Google OAuth state shared by the token endpoint and the SMTP side: the
// refresh tokens, access tokens (with expiry) and authorization codes it issued, the
// behaviour switches of the endpoint, and request counters. Thread-safe.
// Failure policy: nothing here fails; unknown tokens are simply not valid.

import Synchronization

/// How the fake token endpoint behaves. Change it at any time with
/// `GmailTestServer.setTokenEndpointBehavior(_:)`.
public struct TokenEndpointBehavior: Equatable, Sendable {
  /// A failure to return to every `POST /token`.
  public enum Failure: String, Equatable, Sendable, CaseIterable {
    /// `400 {"error":"invalid_grant","error_description":"Token has been expired or revoked."}`.
    case invalidGrant = "invalid-grant"
    /// `500` with a JSON `internal_failure` body.
    case serverError = "500"
    /// `503` with a JSON `temporarily_unavailable` body.
    case unavailable = "503"
    /// `200` with an HTML body (a captive portal, a proxy error page).
    case nonJSON = "non-json"
    /// Accept the request and never answer.
    case hang
  }

  /// The failure to play, or nil to answer normally.
  public var failure: Failure?
  /// Whether each refresh returns a new refresh token and invalidates the old one.
  public var rotateRefreshTokens: Bool
  /// The `expires_in` of issued access tokens, in seconds; they stop being valid for
  /// SMTP after that.
  public var expiresIn: Int
  /// The `scope` the token responses report as granted.
  public var scope: String

  /// Normal behaviour: no failure, no rotation, `expires_in` 3599, the Gmail scope.
  public init(
    failure: Failure? = nil, rotateRefreshTokens: Bool = false, expiresIn: Int = 3599,
    scope: String = "https://mail.google.com/"
  ) {
    self.failure = failure
    self.rotateRefreshTokens = rotateRefreshTokens
    self.expiresIn = expiresIn
    self.scope = scope
  }
}

/// Counts of requests the token endpoint received.
public struct TokenEndpointStats: Equatable, Sendable {
  /// Every HTTP request, whatever its path or outcome.
  public var requests = 0
  /// `POST /token` with `grant_type=refresh_token`.
  public var refreshGrants = 0
  /// `POST /token` with `grant_type=authorization_code`.
  public var authorizationCodeGrants = 0
  /// `GET /auth`.
  public var authorizations = 0
  /// `POST /revoke`.
  public var revocations = 0
}

/// The issued and configured OAuth tokens.
final class TokenAuthority: Sendable {
  private struct State {
    var accessTokens: [String: ContinuousClock.Instant?] = [:]  // nil: never expires
    var refreshTokens: Set<String> = []
    var codes: Set<String> = []
    /// The scope of each issued code, refresh and access token that has its own (others
    /// have `behavior.scope`).
    var scopes: [String: String] = [:]
    var behavior = TokenEndpointBehavior()
    var stats = TokenEndpointStats()
  }

  private let state: Mutex<State>
  private let clock = ContinuousClock()

  init(accessTokens: Set<String>, refreshTokens: Set<String>) {
    var initial = State()
    for token in accessTokens { initial.accessTokens[token] = .some(nil) }
    initial.refreshTokens = refreshTokens
    state = Mutex(initial)
  }

  var behavior: TokenEndpointBehavior {
    get { state.withLock { $0.behavior } }
    set { state.withLock { $0.behavior = newValue } }
  }

  var stats: TokenEndpointStats { state.withLock { $0.stats } }

  func count(_ change: (inout TokenEndpointStats) -> Void) {
    state.withLock { change(&$0.stats) }
  }

  /// Whether SMTP should accept this access token now.
  func isValidAccessToken(_ token: String) -> Bool {
    state.withLock { state in
      guard let expiry = state.accessTokens[token] else { return false }
      guard let expiry else { return true }
      return clock.now < expiry
    }
  }

  /// Adds a token that SMTP accepts (without expiry), with its own scope if given.
  func addAccessToken(_ token: String, scope: String? = nil) {
    state.withLock {
      $0.accessTokens[token] = .some(nil)
      if let scope { $0.scopes[token] = scope }
    }
  }

  /// The scope granted to a token or code: its own, else the endpoint's current one.
  func scope(of token: String) -> String {
    state.withLock { $0.scopes[token] ?? $0.behavior.scope }
  }

  /// Whether a token's scope lets it sign in to SMTP: only `https://mail.google.com/` does.
  func allowsSMTP(_ token: String) -> Bool {
    scope(of: token).split(separator: " ").contains(Substring(OAuthChecks.gmailScope))
  }

  /// Whether a token's scope lets it call users.messages.send.
  func allowsSend(_ token: String) -> Bool {
    scope(of: token).split(separator: " ").contains { OAuthChecks.sendScopes.contains(String($0)) }
  }

  /// Adds a refresh token the endpoint accepts.
  func addRefreshToken(_ token: String) {
    state.withLock { _ = $0.refreshTokens.insert(token) }
  }

  /// Issues an authorization code for `GET /auth`, granting `scope` (nil: the endpoint's).
  func issueCode(scope: String? = nil) -> String {
    let code = "4/0A" + TokenAuthority.randomToken(24)
    state.withLock {
      _ = $0.codes.insert(code)
      if let scope { $0.scopes[code] = scope }
    }
    return code
  }

  /// The outcome of a grant.
  enum Grant {
    case issued(access: String, refresh: String?, expiresIn: Int, scope: String)
    case invalidGrant
  }

  /// `grant_type=refresh_token`.
  func refresh(_ refreshToken: String) -> Grant {
    state.withLock { state in
      guard state.refreshTokens.contains(refreshToken) else { return .invalidGrant }
      let scope = state.scopes[refreshToken] ?? state.behavior.scope
      var newRefresh: String?
      if state.behavior.rotateRefreshTokens {
        state.refreshTokens.remove(refreshToken)
        let rotated = "1//0g" + TokenAuthority.randomToken(32)
        state.refreshTokens.insert(rotated)
        state.scopes[rotated] = state.scopes[refreshToken]
        newRefresh = rotated
      }
      return issueAccess(&state, refresh: newRefresh, scope: scope)
    }
  }

  /// `grant_type=authorization_code`: a code is good once.
  func exchange(_ code: String) -> Grant {
    state.withLock { state in
      guard state.codes.remove(code) != nil else { return .invalidGrant }
      let scope = state.scopes.removeValue(forKey: code) ?? state.behavior.scope
      let refresh = "1//0g" + TokenAuthority.randomToken(32)
      state.refreshTokens.insert(refresh)
      state.scopes[refresh] = scope
      return issueAccess(&state, refresh: refresh, scope: scope)
    }
  }

  /// `POST /revoke`: forgets a refresh or access token; false when unknown.
  func revoke(_ token: String) -> Bool {
    state.withLock { state in
      state.refreshTokens.remove(token) != nil
        || state.accessTokens.removeValue(forKey: token) != nil
    }
  }

  private func issueAccess(_ state: inout State, refresh: String?, scope: String) -> Grant {
    let access = "ya29.test-" + TokenAuthority.randomToken(40)
    let lifetime = state.behavior.expiresIn
    state.accessTokens[access] = .some(clock.now.advanced(by: .seconds(lifetime)))
    state.scopes[access] = scope
    return .issued(access: access, refresh: refresh, expiresIn: lifetime, scope: scope)
  }

  /// Random URL-safe characters (not a secret of any real system: test tokens only).
  static func randomToken(_ length: Int) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    var generator = SystemRandomNumberGenerator()
    return String((0..<length).map { _ in alphabet[Int(generator.next() % 64)] })
  }
}
