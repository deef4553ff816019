// SPDX-License-Identifier: MIT
// The token manager: hands out an access token for an account, reusing the
// cached one until 60 s before it expires, otherwise refreshing it under an exclusive
// per-account lock so that any number of concurrent processes make one request.
//
// Theory of operation. `accessToken` reads the cache without a lock; a usable token is
// returned at once (the common, fast path: no lock, no HTTP, libcurl never loaded).
// Otherwise it takes `ACCOUNT.lock`, reads the cache again (whoever held the lock may
// have just refreshed it), and only if the token is still unusable asks the token
// endpoint, stores the result with write-temp-fsync-rename, and releases the lock.
//
// A holder cannot stall the others: a sender waits for the lock a few seconds only
// (`senderLockTimeout`; a process stopped with SIGSTOP holds it forever), then asks
// the endpoint on its own and uses the token without writing the cache. Google does
// not rotate installed-app refresh tokens; should a new one come back then, it is
// stored only if the lock has come free, else `notice` says it was not kept.
//
// Failure policy: a failed request never deletes or rewrites the cache; the old refresh
// token is kept unless the endpoint returns a new one. Errors are `TokenError`s whose
// `kind` says how they count for delivery.
// One file over 400 lines on purpose: reading, refreshing under the lock and writing
// the cache are one protocol, kept where it can be read in one go.

import Codecs
import HTTPClient
import OAuth2
import Transport

#if canImport(Glibc)
  import Glibc
#endif

/// Reads, refreshes, stores and revokes an account's tokens.
public struct TokenStore: Sendable {
  /// Where the cache lives.
  public var location: TokenCacheLocation
  /// Sends requests to the token and revocation endpoints.
  public var poster: any FormPoster
  /// Seconds since the epoch.
  public var now: @Sendable () -> Int
  /// How long to wait for the lock in `save`, `refresh` and `logout` (commands a person runs).
  public var lockTimeout: Duration
  /// How long a sender (`accessToken`) waits for another process's refresh before it
  /// refreshes on its own without writing the cache.
  public var senderLockTimeout: Duration = .seconds(5)
  /// Told what could not be done but did not stop the send (a rotated refresh token not
  /// stored); never given a secret.
  public var notice: (@Sendable (String) -> Void)?
  /// RS256 over the first argument with the PEM key in the second.
  public var sign: @Sendable ([UInt8], [UInt8]) throws(CryptoError) -> [UInt8]

  /// - Parameters:
  ///   - location: The cache directory and modes.
  ///   - poster: The HTTP client (`HTTPClient()`, which loads libcurl on first use).
  ///   - now: The clock.
  ///   - lockTimeout: How long to wait for the lock (default 90 s: longer than a refresh).
  ///   - sign: The RS256 signer (default: OpenSSL through Transport).
  public init(
    location: TokenCacheLocation, poster: any FormPoster = HTTPClient(),
    now: @escaping @Sendable () -> Int, lockTimeout: Duration = .seconds(90),
    sign: @escaping @Sendable ([UInt8], [UInt8]) throws(CryptoError) -> [UInt8] = {
      (data: [UInt8], pem: [UInt8]) throws(CryptoError) -> [UInt8] in
      try Crypto.rsaSHA256Signature(of: data, privateKeyPEM: pem)
    }
  ) {
    self.location = location
    self.poster = poster
    self.now = now
    self.lockTimeout = lockTimeout
    self.sign = sign
  }

  // MARK: Access tokens

  /// An access token for the account, from the cache or freshly obtained.
  /// - Parameters:
  ///   - account: The account's name (the cache file's name).
  ///   - grant: How to get a new token.
  ///   - forceRefresh: The server rejected the cached token: get a new one, unless another
  ///     process already replaced it while this one waited for the lock.
  /// - Returns: The access token.
  /// - Throws: `TokenError`.
  public func accessToken(account: String, grant: TokenGrant, forceRefresh: Bool = false)
    throws(TokenError) -> String
  {
    try location.validate(account: account)
    let seen = try load(account: account)
    if !forceRefresh, let token = seen?.usableAccessToken(now: now()) { return token }

    let lock: CacheLock?
    do {
      lock = try self.lock(account: account, timeout: senderLockTimeout)
    } catch .lockTimeout {
      return try refreshUnlocked(account: account, grant: grant, forceRefresh: forceRefresh, seen: seen)
    }
    defer { lock?.unlock() }

    let current = try load(account: account)
    if let token = reusable(current, forceRefresh: forceRefresh, seen: seen) { return token }
    let fresh = try requestToken(account: account, grant: grant, cached: current).tokens
    // Without the lock (no lock file yet where nothing may be created) nothing is stored.
    if lock != nil { try store(fresh, account: account) }
    guard let token = fresh.accessToken else { throw .notLoggedIn(account: account) }
    return token
  }

  /// The cached access token when it is still usable, without a lock or a request: what
  /// a sender checks before it works out how it would refresh (which may read a client
  /// secret or a service-account key).
  /// - Throws: `TokenError` for an invalid account name or an unreadable cache.
  public func cachedAccessToken(account: String) throws(TokenError) -> String? {
    try location.validate(account: account)
    return try load(account: account)?.usableAccessToken(now: now())
  }

  /// A cached access token to use instead of refreshing: without force, one someone else
  /// refreshed while this process waited; with force, only one that is not the token the
  /// server just rejected (`seen`).
  private func reusable(_ current: StoredTokens?, forceRefresh: Bool, seen: StoredTokens?) -> String? {
    guard let token = current?.usableAccessToken(now: now()), !forceRefresh || token != seen?.accessToken else {
      return nil
    }
    return token
  }

  /// The fallback when another process holds the lock too long: a fresh token without
  /// writing the cache (unless a rotated refresh token came back and the lock is free).
  private func refreshUnlocked(account: String, grant: TokenGrant, forceRefresh: Bool, seen: StoredTokens?)
    throws(TokenError) -> String
  {
    let current = try load(account: account)
    if let token = reusable(current, forceRefresh: forceRefresh, seen: seen) { return token }
    let fresh = try requestToken(account: account, grant: grant, cached: current).tokens
    guard let token = fresh.accessToken else { throw .notLoggedIn(account: account) }
    if case .refreshToken = grant, let rotated = fresh.refreshToken, rotated != current?.refreshToken {
      // Losing a rotated refresh token could end the login: keep it if the lock is free now.
      if let lock = try? self.lock(account: account, timeout: .zero) {
        defer { lock.unlock() }
        if (try? store(fresh, account: account)) == true { return token }
      }
      notice?(
        "account '\(account)': the token endpoint returned a new refresh token that was not stored "
          + "(the token cache lock is held by another process); run 'gsendmailctl login \(account)' if sending stops")
    }
    return token
  }

  /// What a refresh obtained, for `gsendmailctl doctor`. Never a token.
  public struct Refresh: Equatable, Sendable {
    /// When the new access token expires (seconds since the epoch).
    public var expiresAt: Int?
    /// The scopes the endpoint says the token grants, space-separated, when it says.
    public var scope: String?

    public init(expiresAt: Int?, scope: String?) {
      self.expiresAt = expiresAt
      self.scope = scope
    }
  }

  /// Gets a new access token now, whatever the cache holds, and stores it: proves that
  /// the refresh token (or the service-account key) still works.
  /// - Throws: `TokenError`.
  public func refresh(account: String, grant: TokenGrant) throws(TokenError) -> Refresh {
    try location.validate(account: account)
    let lock = try lock(account: account)
    defer { lock?.unlock() }
    let (fresh, scope) = try requestToken(account: account, grant: grant, cached: try load(account: account))
    if lock != nil { try store(fresh, account: account) }
    return Refresh(expiresAt: fresh.expiresAt, scope: scope)
  }

  private func requestToken(account: String, grant: TokenGrant, cached: StoredTokens?)
    throws(TokenError) -> (tokens: StoredTokens, scope: String?)
  {
    let base = cached ?? StoredTokens(refreshToken: nil, accessToken: nil, expiresAt: nil)
    let url: String
    let form: FormRequest
    switch grant {
    case .refreshToken(let client):
      guard let refresh = cached?.refreshToken else { throw .notLoggedIn(account: account) }
      url = client.tokenURL
      form = .refresh(
        refreshToken: refresh, clientID: client.clientID, clientSecret: client.clientSecret)
    case .serviceAccount(let key, let subject, let tokenURL, let scope):
      let assertion = JWTAssertion(key: key, subject: subject, scope: scope, audience: tokenURL, now: now())
      let pem = Array(key.privateKeyPEM.utf8)
      let sign = self.sign
      let jwt: String
      do {
        jwt = try assertion.signed { (input: [UInt8]) throws(CryptoError) -> [UInt8] in
          try sign(input, pem)
        }
      } catch {
        switch error {
        case .libraryUnavailable(let detail): throw .signing(detail)
        case .signing(let detail): throw .signing("\(key.clientEmail): \(detail)")
        case .randomUnavailable: throw .signing("no random source")
        }
      }
      url = tokenURL
      form = .jwtBearer(assertion: jwt)
    }
    let response: TokenResponse
    do {
      response = try exchange(account: account, url: url, form: form)
    } catch .endpoint(let account, .invalidGrant(let description)) where grant.isServiceAccount {
      // No refresh token is involved: the assertion itself was refused.
      throw .endpoint(account: account, .rejected(error: "invalid_grant", description: description))
    }
    var updated = base.updated(with: response, now: now())
    if case .serviceAccount = grant { updated.refreshToken = nil }
    return (updated, response.scope)
  }

  /// POSTs a token request and reads the reply.
  private func exchange(account: String, url: String, form: FormRequest) throws(TokenError)
    -> TokenResponse
  {
    let reply: HTTPResponse
    do {
      reply = try poster.post(url: url, form: form.body)
    } catch {
      throw .http(error)
    }
    do {
      return try TokenResponse.parse(status: reply.status, body: reply.body)
    } catch {
      throw .endpoint(account: account, error)
    }
  }

  // MARK: Cache

  /// The account's cached tokens.
  /// - Returns: nil when there is no cache file.
  /// - Throws: `.cacheUnreadable`, `.cacheCorrupt`, `.invalidAccountName`.
  public func load(account: String) throws(TokenError) -> StoredTokens? {
    try location.validate(account: account)
    let path = location.cachePath(account: account)
    guard var bytes = try CacheFiles.read(path) else { return nil }
    if CacheSlots.isSlotted(bytes) {
      guard let newest = CacheSlots.newest(bytes) else {
        throw .cacheCorrupt(path: path, reason: "no whole slot")
      }
      bytes = newest.content
    }
    do {
      return try StoredTokens.parse(bytes)
    } catch {
      throw .cacheCorrupt(path: path, reason: error.description)
    }
  }

  /// Replaces the account's cache under its lock.
  /// - Throws: `.cacheWrite`, `.lockTimeout`, `.invalidAccountName`.
  public func save(_ tokens: StoredTokens, account: String) throws(TokenError) {
    try location.validate(account: account)
    let lock = try lock(account: account)
    defer { lock?.unlock() }
    guard try store(tokens, account: account) else {
      throw .cacheWrite(
        path: location.cachePath(account: account),
        reason: "the system account's cache is made by root: run this as root")
    }
  }

  /// Takes the account's lock, making the directory and the lock file when missing; nil
  /// when `writesInPlace` and there is no lock file (then there is no cache to update).
  private func lock(account: String, timeout: Duration? = nil) throws(TokenError) -> CacheLock? {
    if !location.writesInPlace {
      try CacheFiles.makeDirectory(location.directory, mode: location.directoryMode)
    }
    return try CacheLock(
      path: location.lockPath(account: account), mode: location.fileMode, timeout: timeout ?? lockTimeout,
      create: !location.writesInPlace)
  }

  /// Writes the cache; the caller holds the lock. The system cache is written in the
  /// two-slot layout (CacheSlots): replaced whole by root, and, with `writesInPlace`, only
  /// its older slot rewritten in an existing file of root's (otherwise nothing is kept).
  /// - Returns: Whether the tokens were written.
  @discardableResult
  private func store(_ tokens: StoredTokens, account: String) throws(TokenError) -> Bool {
    let path = location.cachePath(account: account)
    let content = Array(tokens.serialized.utf8)
    if location.writesInPlace {
      return try CacheFiles.writeSlot(path, ownedBy: location.inPlaceOwner, content: content)
    }
    if location.isSystem {
      guard let file = CacheSlots.file(content) else {
        throw .cacheWrite(path: path, reason: "the tokens do not fit a cache slot (\(content.count) bytes)")
      }
      try CacheFiles.replace(path, with: file, mode: location.fileMode)
    } else {
      try CacheFiles.replace(path, with: content, mode: location.fileMode)
    }
    return true
  }

  /// What the cache holds, for `gsendmailctl status`. Never a token.
  public func status(account: String) -> TokenStatus {
    do {
      guard let tokens = try load(account: account) else { return .none }
      return .present(
        hasRefreshToken: tokens.refreshToken != nil,
        accessTokenValid: tokens.usableAccessToken(now: now(), margin: 0) != nil,
        accessTokenExpiresAt: tokens.expiresAt,
        refreshTokenIssuedAt: tokens.refreshToken == nil ? nil : tokens.refreshTokenIssuedAt)
    } catch {
      return .unusable(error.description)
    }
  }

  /// The scopes the cached tokens were last granted (space-separated), as the token
  /// endpoint said; nil when there is no cache or it did not say. Never a token.
  public func grantedScope(account: String) -> String? {
    (try? load(account: account))?.flatMap(\.scope)
  }

  // MARK: Login and logout

  /// Exchanges an authorization code (the end of `gsendmailctl login`) and saves the tokens.
  /// - Parameters:
  ///   - code: From the redirect.
  ///   - client: The OAuth client.
  ///   - redirectURI: Exactly the one in the authorization URL.
  ///   - codeVerifier: The PKCE verifier of this login.
  /// - Returns: What was saved (it carries a refresh token).
  /// - Throws: `TokenError`; `.endpoint(_, .invalidGrant)` for a wrong or reused code.
  @discardableResult
  public func exchangeCode(
    account: String, code: String, client: OAuthClient, redirectURI: String, codeVerifier: String
  ) throws(TokenError) -> StoredTokens {
    try location.validate(account: account)
    let response = try exchange(
      account: account, url: client.tokenURL,
      form: .authorizationCode(
        code: code, clientID: client.clientID, clientSecret: client.clientSecret,
        redirectURI: redirectURI, codeVerifier: codeVerifier))
    // A login without a refresh token (access_type=offline ignored) would leave the
    // account unable to send in an hour: keep a previous one if there is one.
    let previous = try? load(account: account)
    let tokens = StoredTokens(
      refreshToken: response.refreshToken ?? previous?.refreshToken,
      accessToken: response.accessToken, expiresAt: now() + response.expiresIn,
      refreshTokenIssuedAt: response.refreshToken != nil ? now() : previous?.refreshTokenIssuedAt,
      scope: response.scope)
    guard tokens.refreshToken != nil else {
      throw .endpoint(
        account: account,
        .malformed(
          status: 200, reason: "the response has no refresh_token (was access_type=offline sent?)"))
    }
    try save(tokens, account: account)
    return tokens
  }

  /// Saves a refresh token obtained elsewhere (`login --refresh-token-stdin`) and checks it
  /// with one refresh. On failure nothing is saved.
  /// - Throws: `TokenError`; `.endpoint(_, .invalidGrant)` when the token is not valid.
  public func importRefreshToken(_ refreshToken: String, account: String, client: OAuthClient)
    throws(TokenError)
  {
    try location.validate(account: account)
    let response = try exchange(
      account: account, url: client.tokenURL,
      form: .refresh(
        refreshToken: refreshToken, clientID: client.clientID, clientSecret: client.clientSecret))
    let tokens = StoredTokens(refreshToken: refreshToken, accessToken: nil, expiresAt: nil)
      .updated(with: response, now: now())
    try save(tokens, account: account)
  }

  /// Revokes the account's refresh token (or access token when there is none) and deletes
  /// the cache. The cache is deleted even when revocation fails: the outcome says so.
  /// - Parameter revokeURL: The revocation endpoint; nil skips revocation (service accounts).
  /// - Throws: `.cacheWrite`, `.lockTimeout`, `.invalidAccountName`, `.cacheUnreadable`.
  public func logout(account: String, revokeURL: String?) throws(TokenError) -> LogoutOutcome {
    try location.validate(account: account)
    let tokens: StoredTokens?
    do {
      tokens = try load(account: account)
    } catch {
      guard case .cacheCorrupt = error else { throw error }
      tokens = nil
    }
    TLSSessionFile.removeAll(location: location, account: account)
    guard Self.fileExists(location.cachePath(account: account)) else {
      return LogoutOutcome(hadTokens: false, revocation: .notAttempted)
    }
    var revocation = LogoutOutcome.Revocation.notAttempted
    if let revokeURL, let token = tokens?.refreshToken ?? tokens?.accessToken {
      revocation = revoke(token: token, url: revokeURL)
    }
    let lock = try lock(account: account)
    defer { lock?.unlock() }
    try CacheFiles.remove(location.cachePath(account: account))
    return LogoutOutcome(hadTokens: true, revocation: revocation)
  }

  private func revoke(token: String, url: String) -> LogoutOutcome.Revocation {
    let reply: HTTPResponse
    do {
      reply = try poster.post(url: url, form: FormRequest.revoke(token: token).body)
    } catch {
      return .failed(error.description)
    }
    if (200..<300).contains(reply.status) { return .revoked }
    // RFC 7009 §2.2: an invalid token is not an error for the client; Google answers 400
    // invalid_token for one that is already revoked or expired.
    if reply.status == 400, let json = try? JSON.parse(reply.body, maximumBytes: 64 * 1024),
      json["error"]?.stringValue == "invalid_token"
    {
      return .alreadyInvalid
    }
    return .failed("the revocation endpoint answered HTTP \(reply.status)")
  }

  private static func fileExists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
  }
}

/// What the cache says about an account, without any token.
public enum TokenStatus: Equatable, Sendable {
  /// No cache file.
  case none
  /// A cache file exists but cannot be used (the reason names the path).
  case unusable(String)
  /// Tokens are cached.
  case present(
    hasRefreshToken: Bool, accessTokenValid: Bool, accessTokenExpiresAt: Int?, refreshTokenIssuedAt: Int?)
}

/// The result of `logout`.
public struct LogoutOutcome: Equatable, Sendable {
  /// What happened to the revocation request.
  public enum Revocation: Equatable, Sendable {
    /// There was no token to revoke, or no endpoint.
    case notAttempted
    /// The endpoint revoked the token.
    case revoked
    /// The endpoint said the token was already invalid.
    case alreadyInvalid
    /// The request failed (the reason, never the token); revoke it at
    /// https://myaccount.google.com/permissions.
    case failed(String)
  }

  /// Whether a cache file existed (and was deleted).
  public var hadTokens: Bool
  public var revocation: Revocation
}
