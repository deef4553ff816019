// SPDX-License-Identifier: MIT
// The token cache of SPEC §6: one JSON file per account holding the refresh
// token, the access token and its expiry. This file reads it; a cache that is
// missing, unreadable or malformed means "no token" and is never deleted here.

import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The tokens of one account.
public struct TokenSet: Codable, Equatable, Sendable {
  public var refreshToken: String?
  public var accessToken: String?
  /// Seconds since the epoch when the access token expires.
  public var expiresAt: Int?

  enum CodingKeys: String, CodingKey {
    case refreshToken = "refresh_token"
    case accessToken = "access_token"
    case expiresAt = "expires_at"
  }

  public init(refreshToken: String?, accessToken: String?, expiresAt: Int?) {
    self.refreshToken = refreshToken
    self.accessToken = accessToken
    self.expiresAt = expiresAt
  }

  /// The access token if it stays valid for more than `skew` seconds after `now` (SPEC §6: 60 s).
  public func usableAccessToken(now: Int, skew: Int = 60) -> String? {
    guard let token = accessToken, !token.isEmpty, let expiry = expiresAt, expiry - skew > now else { return nil }
    return token
  }
}

/// Reads the token cache directory.
public struct TokenCache: Sendable {
  public var directory: String

  public init(directory: String) { self.directory = directory }

  /// The cache file of an account.
  public func path(for account: String) -> String { directory + "/" + account + ".json" }

  /// Loads an account's tokens.
  /// - Returns: `nil` when there is no cache file.
  /// - Throws: `ConfigError.unsafePermissions` when others can read it,
  ///   `ConfigError.badSecretFile` when it is not valid JSON.
  public func load(account: String) throws(ConfigError) -> TokenSet? {
    let file = path(for: account)
    guard Files.exists(file) else { return nil }
    if let problem = Files.secretFileProblem(file) { throw problem }
    let bytes: [UInt8]
    do {
      bytes = try Files.read(file, limit: 64 * 1024)
    } catch {
      throw .unreadable(path: file, reason: error.reason)
    }
    do {
      return try JSONDecoder().decode(TokenSet.self, from: Data(bytes))
    } catch {
      throw .badSecretFile(path: file, problem: "not a token cache (malformed JSON)")
    }
  }
}
