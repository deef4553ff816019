// SPDX-License-Identifier: MIT
// The content of one token cache file (SPEC §6):
// `{"refresh_token":…,"access_token":…,"expires_at":EPOCH,"refresh_token_issued_at":EPOCH,
// "scope":"…"}` (the issue time when the refresh token's age is known, the scope when the
// token endpoint said what it granted), and the reuse rule
// (an access token is used until 60 s before it expires). Pure.
// Failure policy: a file that is not such an object throws `StoredTokens.FormatError`;
// the caller decides (the cache is never "repaired" here).
// `description` never shows a token.

import Codecs

/// What the cache holds for one account.
public struct StoredTokens: Equatable, Sendable, CustomStringConvertible {
  /// The refresh token (nil for a service account).
  public var refreshToken: String?
  public var accessToken: String?
  /// Seconds since the epoch when `accessToken` expires.
  public var expiresAt: Int?
  /// Seconds since the epoch when the endpoint issued `refreshToken`: at a login or a
  /// rotation; nil when unknown (a token imported from another tool).
  public var refreshTokenIssuedAt: Int?
  /// The scopes the token endpoint last said it granted, space-separated; nil when it
  /// did not say.
  public var scope: String?

  /// How long before expiry a cached access token stops being used.
  public static let reuseMargin = 60

  public init(
    refreshToken: String?, accessToken: String?, expiresAt: Int?, refreshTokenIssuedAt: Int? = nil, scope: String? = nil
  ) {
    self.refreshToken = refreshToken
    self.accessToken = accessToken
    self.expiresAt = expiresAt
    self.refreshTokenIssuedAt = refreshTokenIssuedAt
    self.scope = scope
  }

  /// The cached access token if it is still valid `margin` seconds after `now`.
  public func usableAccessToken(now: Int, margin: Int = reuseMargin) -> String? {
    guard let accessToken, !accessToken.isEmpty, let expiresAt, expiresAt - margin > now else {
      return nil
    }
    return accessToken
  }

  /// The tokens after a successful token response at time `now`: the new access token, and
  /// the new refresh token when one was returned (rotation, issued now), else the old one.
  public func updated(with response: TokenResponse, now: Int) -> StoredTokens {
    StoredTokens(
      refreshToken: response.refreshToken ?? refreshToken, accessToken: response.accessToken,
      expiresAt: now + response.expiresIn,
      refreshTokenIssuedAt: response.refreshToken != nil ? now : refreshTokenIssuedAt,
      scope: response.scope ?? scope)
  }

  /// Whether a token is present, and when the access token expires; no token text.
  public var description: String {
    "tokens(refresh: \(refreshToken == nil ? "no" : "yes"), access: "
      + (accessToken == nil ? "no" : "yes") + (expiresAt.map { ", expires at \($0)" } ?? "") + ")"
  }

  /// The cache file is not a token object.
  public enum FormatError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not JSON at all (truncated, binary, too large).
    case json(JSONError)
    case notAnObject
    case wrongType(field: String)
    public var description: String {
      switch self {
      case .json(let error): return "not a token cache (\(error))"
      case .notAnObject: return "not a token cache (the JSON is not an object)"
      case .wrongType(let field): return "not a token cache (\(field) has the wrong type)"
      }
    }
  }

  /// Reads a cache file's bytes. Unknown members are ignored.
  /// - Throws: `FormatError`.
  public static func parse(_ bytes: [UInt8]) throws(FormatError) -> StoredTokens {
    let json: JSONValue
    do {
      json = try JSON.parse(bytes, maximumBytes: 64 * 1024)
    } catch {
      throw .json(error)
    }
    guard case .object = json else { throw .notAnObject }
    func string(_ key: String) throws(FormatError) -> String? {
      switch json[key] {
      case nil, .null?: return nil
      case .string(let s)?: return s.isEmpty ? nil : s
      default: throw .wrongType(field: key)
      }
    }
    func integer(_ key: String) throws(FormatError) -> Int? {
      switch json[key] {
      case nil, .null?: return nil
      case let value?:
        guard case .number = value, let n = value.intValue else { throw .wrongType(field: key) }
        return n
      }
    }
    return StoredTokens(
      refreshToken: try string("refresh_token"), accessToken: try string("access_token"),
      expiresAt: try integer("expires_at"), refreshTokenIssuedAt: try integer("refresh_token_issued_at"),
      scope: try string("scope"))
  }

  /// The file content, one line with a final newline.
  public var serialized: String {
    var members: [(key: String, value: JSONValue)] = []
    if let refreshToken { members.append(("refresh_token", .string(refreshToken))) }
    if let accessToken { members.append(("access_token", .string(accessToken))) }
    if let expiresAt { members.append(("expires_at", .number(String(expiresAt)))) }
    if let refreshTokenIssuedAt, refreshToken != nil {
      members.append(("refresh_token_issued_at", .number(String(refreshTokenIssuedAt))))
    }
    if let scope { members.append(("scope", .string(scope))) }
    return JSON.serialize(.object(members)) + "\n"
  }
}
