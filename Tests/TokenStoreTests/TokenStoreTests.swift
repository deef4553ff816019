// SPDX-License-Identifier: MIT
// The token cache against a fake token endpoint: reuse, one refresh for 20 concurrent
// callers, rotation, every failure leaving the cache untouched with the right kind and a
// message free of secrets, file modes, login code exchange, import, logout. One file over
// 400 lines: one suite around one fake endpoint and the cache it writes.

import Foundation
import HTTPClient
import OAuth2
import Testing

@testable import TokenStore

@Suite("TokenStore", .serialized)
struct TokenStoreTests {
  static let refreshToken = "1//RT-original-secret"
  static let staleAccess = "ya29.stale-secret"
  static let clientSecret = "GOCSPX-client-secret"

  let endpoint: FakeTokenEndpoint
  let directory: TemporaryDirectory
  let clock = TestClock(1_700_000_000)

  init() throws {
    endpoint = try FakeTokenEndpoint()
    directory = try TemporaryDirectory()
  }

  func store(isSystem: Bool = false, timeout: Duration = .seconds(5)) -> TokenStore {
    let clock = self.clock
    return TokenStore(
      location: TokenCacheLocation(directory: directory.path + "/tokens", isSystem: isSystem),
      poster: HTTPClient(timeout: timeout), now: { clock.now })
  }

  func client(_ mode: String) -> OAuthClient {
    OAuthClient(
      clientID: "cid.apps.googleusercontent.com", clientSecret: Self.clientSecret,
      authorizationURL: endpoint.url("/auth"), tokenURL: endpoint.url("/token/\(mode)"),
      revokeURL: endpoint.url("/revoke/ok"))
  }

  var cachePath: String { directory.path + "/tokens/acct.json" }

  /// Writes an expired cache and returns its bytes.
  @discardableResult
  func seedExpiredCache(_ store: TokenStore) throws -> Data {
    try store.save(
      StoredTokens(
        refreshToken: Self.refreshToken, accessToken: Self.staleAccess, expiresAt: clock.now - 10),
      account: "acct")
    return try Data(contentsOf: URL(fileURLWithPath: cachePath))
  }

  func mode(_ path: String) throws -> UInt32 {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? NSNumber)?.uint32Value ?? 0
  }

  /// Asserts that no secret appears in a message.
  func expectNoSecrets(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    for secret in [
      Self.refreshToken, Self.staleAccess, Self.clientSecret, "ya29.AT", "RT-", "GOCSPX",
    ] {
      #expect(!text.contains(secret), "secret in: \(text)", sourceLocation: sourceLocation)
    }
  }

  // MARK: Reuse and refresh

  @Test("A valid cached token is used without any request")
  func reuse() throws {
    defer { directory.remove() }
    let store = store()
    try store.save(
      StoredTokens(refreshToken: "r", accessToken: "ya29.cached", expiresAt: clock.now + 61),
      account: "acct")
    #expect(
      try store.accessToken(account: "acct", grant: .refreshToken(client("ok"))) == "ya29.cached")
    #expect(try endpoint.count() == 0)
    clock.now += 1  // now within 60 s of expiry: refresh
    #expect(
      try store.accessToken(account: "acct", grant: .refreshToken(client("ok"))) == "ya29.AT-1")
    #expect(try endpoint.count() == 1)
    let form = try endpoint.lastForm()
    #expect(form["grant_type"] == "refresh_token")
    #expect(form["refresh_token"] == "r")
    #expect(form["client_secret"] == Self.clientSecret)
  }

  @Test("The cached token alone: usable until 60 s before expiry, nil without a cache, names checked")
  func cachedOnly() throws {
    defer { directory.remove() }
    let store = store()
    #expect(try store.cachedAccessToken(account: "acct") == nil)
    try store.save(
      StoredTokens(refreshToken: "r", accessToken: "ya29.cached", expiresAt: clock.now + 61),
      account: "acct")
    #expect(try store.cachedAccessToken(account: "acct") == "ya29.cached")
    clock.now += 1
    #expect(try store.cachedAccessToken(account: "acct") == nil)
    #expect(throws: TokenError.self) { try store.cachedAccessToken(account: "../acct") }
    #expect(try endpoint.count() == 0)
  }

  @Test("20 concurrent callers with an expired cache make exactly one request")
  func concurrentRefresh() throws {
    defer { directory.remove() }
    let store = store()
    try seedExpiredCache(store)
    let results = ResultBox()
    let grant = TokenGrant.refreshToken(client("ok"))
    DispatchQueue.concurrentPerform(iterations: 20) { _ in
      do throws(TokenError) {
        results.append(.success(try store.accessToken(account: "acct", grant: grant)))
      } catch {
        results.append(.failure(error))
      }
    }
    #expect(try endpoint.count() == 1)
    let tokens = results.values.compactMap { try? $0.get() }
    #expect(tokens.count == 20)
    #expect(Set(tokens) == ["ya29.AT-1"])
    let cached = try store.load(account: "acct")
    #expect(
      cached
        == StoredTokens(
          refreshToken: Self.refreshToken, accessToken: "ya29.AT-1", expiresAt: clock.now + 3599,
          scope: "https://mail.google.com/"))
  }

  @Test("A rotated refresh token is stored; without one the old one is kept")
  func rotation() throws {
    defer { directory.remove() }
    let store = store()
    try seedExpiredCache(store)
    _ = try store.accessToken(account: "acct", grant: .refreshToken(client("ok")))
    #expect(try store.load(account: "acct")?.refreshToken == Self.refreshToken)
    _ = try store.accessToken(
      account: "acct", grant: .refreshToken(client("rotate")), forceRefresh: true)
    #expect(try store.load(account: "acct")?.refreshToken == "1//RT-rotated-2")
    #expect(try store.load(account: "acct")?.refreshTokenIssuedAt == clock.now)
    #expect(try endpoint.lastForm()["refresh_token"] == Self.refreshToken)
  }

  @Test("A held lock: a sender waits only briefly, then refreshes without writing the cache")
  func heldLockFallback() throws {
    defer { directory.remove() }
    var store = store()
    store.senderLockTimeout = .milliseconds(300)
    let notices = ResultBox()
    store.notice = { notices.append(.success($0)) }
    let before = try seedExpiredCache(store)
    // Another process (here: another open file description) holds the lock and never lets go.
    let holder = open(directory.path + "/tokens/acct.lock", O_RDONLY)
    defer { close(holder) }
    #expect(flock(holder, LOCK_EX | LOCK_NB) == 0)
    let started = Date()
    #expect(try store.accessToken(account: "acct", grant: .refreshToken(client("ok"))) == "ya29.AT-1")
    let waited = Date().timeIntervalSince(started)
    #expect(waited >= 0.3 && waited < 5, "waited \(waited) s")
    #expect(try endpoint.count() == 1)
    #expect(try Data(contentsOf: URL(fileURLWithPath: cachePath)) == before)
    #expect(notices.values.isEmpty)
    // A rotated refresh token while the lock is still held: not stored, and said so.
    #expect(try store.accessToken(account: "acct", grant: .refreshToken(client("rotate"))) == "ya29.AT-2")
    #expect(try Data(contentsOf: URL(fileURLWithPath: cachePath)) == before)
    let said = notices.values.compactMap { try? $0.get() }
    #expect(said.count == 1 && said[0].contains("not stored") && !said[0].contains("RT-"), "\(said)")
    // Once the lock is free, a rotated token is stored as usual.
    flock(holder, LOCK_UN)
    _ = try store.accessToken(account: "acct", grant: .refreshToken(client("rotate")), forceRefresh: true)
    #expect(try store.load(account: "acct")?.refreshToken == "1//RT-rotated-3")
  }

  @Test("forceRefresh gets a new token even when the cached one looks valid")
  func forceRefresh() throws {
    defer { directory.remove() }
    let store = store()
    try store.save(
      StoredTokens(refreshToken: "r", accessToken: "ya29.rejected", expiresAt: clock.now + 3000),
      account: "acct")
    #expect(
      try store.accessToken(account: "acct", grant: .refreshToken(client("ok")), forceRefresh: true)
        == "ya29.AT-1")
    #expect(try endpoint.count() == 1)
  }

  // MARK: Failures leave the cache alone

  @Test(
    "Failures: kind, message, and an untouched cache",
    arguments: [
      ("503", TokenError.Kind.temporary, "unavailable (HTTP 503)"),
      ("notjson", .temporary, "not JSON"),
      ("truncated", .temporary, "truncated"),
      ("big", .temporary, "larger than 65536 bytes"),
      ("huge", .temporary, "larger than 1048576 bytes"),
      ("noaccess", .temporary, "no access_token"),
      ("invalid_grant", .authentication, "gsendmailctl login acct"),
      ("unauthorized_client", .authentication, "domain-wide delegation"),
    ])
  func failures(mode: String, kind: TokenError.Kind, reason: String) throws {
    defer { directory.remove() }
    let store = store()
    let before = try seedExpiredCache(store)
    do {
      _ = try store.accessToken(account: "acct", grant: .refreshToken(client(mode)))
      Issue.record("no error for \(mode)")
    } catch {
      #expect(error.kind == kind)
      #expect(error.description.contains(reason), "\(error)")
      expectNoSecrets(error.description)
      expectNoSecrets("\(error)")
      if mode == "invalid_grant" {
        #expect(error.description.contains("7 days") && error.description.contains("Testing"))
      }
    }
    #expect(try Data(contentsOf: URL(fileURLWithPath: cachePath)) == before)
    #expect(try endpoint.count() == 1)
  }

  @Test("An unreachable endpoint or one that hangs is temporary; the cache stays")
  func unreachable() throws {
    defer { directory.remove() }
    let store = store(timeout: .seconds(1))
    let before = try seedExpiredCache(store)
    var closed = client("ok")
    closed.tokenURL = "http://127.0.0.1:9/token"
    #expect(throws: TokenError.self) {
      try store.accessToken(account: "acct", grant: .refreshToken(closed))
    }
    do {
      _ = try store.accessToken(account: "acct", grant: .refreshToken(closed))
    } catch {
      #expect(error.kind == .temporary)
      guard case .http(.connect) = error else { throw error }
      expectNoSecrets(error.description)
    }
    #expect(try Data(contentsOf: URL(fileURLWithPath: cachePath)) == before)
  }

  @Test("No cache, or no refresh token: not logged in")
  func notLoggedIn() throws {
    defer { directory.remove() }
    let store = store()
    #expect(throws: TokenError.notLoggedIn(account: "acct")) {
      try store.accessToken(account: "acct", grant: .refreshToken(client("ok")))
    }
    #expect(TokenError.notLoggedIn(account: "acct").kind == .authentication)
    #expect(TokenError.notLoggedIn(account: "acct").description.contains("gsendmailctl login acct"))
    #expect(try endpoint.count() == 0)
  }

  @Test("A corrupt cache is an authentication failure and is not rewritten")
  func corrupt() throws {
    defer { directory.remove() }
    let store = store()
    try seedExpiredCache(store)
    try Data("{\"refresh_token\":\"1//RT-original-secret".utf8).write(
      to: URL(fileURLWithPath: cachePath))
    do {
      _ = try store.accessToken(account: "acct", grant: .refreshToken(client("ok")))
      Issue.record("a corrupt cache was accepted")
    } catch {
      #expect(error.kind == .authentication)
      #expect(error.description.contains("gsendmailctl login acct"))
      expectNoSecrets(error.description)
    }
    #expect(store.status(account: "acct") != .none)
  }

  @Test(
    "Bad account names are refused before touching files",
    arguments: ["", ".hidden", "a/b", "../x", "a\nb"])
  func badNames(name: String) {
    #expect(throws: TokenError.invalidAccountName(name)) {
      try store().accessToken(account: name, grant: .refreshToken(client("ok")))
    }
    directory.remove()
  }

  // MARK: Files

  @Test("User cache: directory 0700, file 0600, no temporary file left")
  func userModes() throws {
    defer { directory.remove() }
    let old = umask(0o022)
    defer { umask(old) }
    try seedExpiredCache(store())
    #expect(try mode(directory.path + "/tokens") == 0o700)
    #expect(try mode(cachePath) == 0o600)
    #expect(try mode(directory.path + "/tokens/acct.lock") == 0o600)
    #expect(!FileManager.default.fileExists(atPath: cachePath + ".tmp"))
    let text = try String(contentsOfFile: cachePath, encoding: .utf8)
    #expect(
      text.hasPrefix(
        #"{"refresh_token":"1//RT-original-secret","access_token":"ya29.stale-secret","expires_at":"#
      ))
  }

  @Test("System cache: directory 2770, file 0660")
  func systemModes() throws {
    defer { directory.remove() }
    let old = umask(0o077)
    defer { umask(old) }
    try seedExpiredCache(store(isSystem: true))
    #expect(try mode(directory.path + "/tokens") == 0o2770)
    #expect(try mode(cachePath) == 0o660)
    // The group must be able to open the lock file too, whatever the umask of its creator.
    #expect(try mode(directory.path + "/tokens/acct.lock") == 0o660)
  }

  /// A store writing as the set-group-ID gsendmail does for a user (`writesInPlace`), taking
  /// files of `owner` (this process's user, standing in for root) as the ones to update.
  func inPlaceStore(owner: UInt32 = geteuid()) -> TokenStore {
    let clock = self.clock
    var location = TokenCacheLocation(directory: directory.path + "/tokens", isSystem: true, writesInPlace: true)
    location.inPlaceOwner = owner
    return TokenStore(location: location, poster: HTTPClient(timeout: .seconds(5)), now: { clock.now })
  }

  func inode(_ path: String) -> UInt64? {
    var st = stat()
    return stat(path, &st) == 0 ? UInt64(st.st_ino) : nil
  }

  @Test("Written for another user: the older slot of the owner's file is rewritten in place; a torn slot is passed over")
  func inPlace() throws {
    defer { directory.remove() }
    try seedExpiredCache(store(isSystem: true))
    let before = inode(cachePath)
    #expect(try Data(contentsOf: URL(fileURLWithPath: cachePath)).count == 8192)
    let token = try inPlaceStore().accessToken(account: "acct", grant: .refreshToken(client("ok")))
    #expect(token == "ya29.AT-1")
    #expect(inode(cachePath) == before && before != nil)
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: cachePath)))
    #expect(bytes.count == 8192 && CacheSlots.newest(bytes)?.index == 1)
    #expect(try store(isSystem: true).load(account: "acct")?.accessToken == "ya29.AT-1")
    #expect(try mode(cachePath) == 0o660)
    #expect(!FileManager.default.fileExists(atPath: cachePath + ".tmp"))
    // A write cut short (crash, file-size limit) spoils only its slot: the other is read.
    bytes[4096 + 100] ^= 0x01
    try Data(bytes).write(to: URL(fileURLWithPath: cachePath))
    let previous = try #require(try store(isSystem: true).load(account: "acct"))
    #expect(previous.accessToken == Self.staleAccess && previous.refreshToken == Self.refreshToken)
    // The next writer rewrites the spoilt slot, not the good one.
    let again = try inPlaceStore().accessToken(account: "acct", grant: .refreshToken(client("ok")))
    let after = [UInt8](try Data(contentsOf: URL(fileURLWithPath: cachePath)))
    #expect(CacheSlots.newest(after)?.index == 1 && CacheSlots.newest(after)?.generation == 2)
    #expect(try store(isSystem: true).load(account: "acct")?.accessToken == again)
  }

  @Test("Written for another user: no cache file, or one owned by someone else, is not written; the token is still returned")
  func inPlaceNothingToUpdate() throws {
    defer { directory.remove() }
    let service = TokenGrant.refreshToken(client("ok"))
    // Someone else's file: its content stays as it was.
    let seeded = try seedExpiredCache(store(isSystem: true))
    #expect(try inPlaceStore(owner: 4_000_000).accessToken(account: "acct", grant: service) == "ya29.AT-1")
    #expect(try Data(contentsOf: URL(fileURLWithPath: cachePath)) == seeded)
    // No file at all (nor lock file): nothing is created.
    try FileManager.default.removeItem(atPath: cachePath)
    try FileManager.default.removeItem(atPath: directory.path + "/tokens/acct.lock")
    #expect(throws: TokenError.notLoggedIn(account: "acct")) {
      try inPlaceStore().accessToken(account: "acct", grant: service)
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/tokens").isEmpty)
    // A login that cannot keep its tokens says so instead of seeming to work.
    #expect(throws: TokenError.self) {
      try inPlaceStore().save(StoredTokens(refreshToken: "r", accessToken: nil, expiresAt: nil), account: "acct")
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/tokens").isEmpty)
  }

  @Test("A stale temporary file from a crash does not block writing")
  func staleTemporary() throws {
    defer { directory.remove() }
    let store = store()
    try seedExpiredCache(store)
    try Data("junk".utf8).write(to: URL(fileURLWithPath: cachePath + ".tmp"))
    _ = try store.accessToken(account: "acct", grant: .refreshToken(client("ok")))
    #expect(try store.load(account: "acct")?.accessToken == "ya29.AT-1")
  }

  // MARK: Login, import, logout

  @Test("The code exchange sends PKCE and saves both tokens; a bad code saves nothing")
  func exchange() throws {
    defer { directory.remove() }
    let store = store()
    #expect(throws: TokenError.endpoint(account: "acct", .invalidGrant(description: "Bad Request")))
    {
      try store.exchangeCode(
        account: "acct", code: "4/0Abad", client: client("code"),
        redirectURI: "http://127.0.0.1:5/", codeVerifier: "v")
    }
    #expect(store.status(account: "acct") == .none)
    let saved = try store.exchangeCode(
      account: "acct", code: "4/0Agood", client: client("code"), redirectURI: "http://127.0.0.1:5/",
      codeVerifier: "verifier-1")
    #expect(
      saved
        == StoredTokens(
          refreshToken: "1//RT-new", accessToken: "ya29.AT-2", expiresAt: clock.now + 3599,
          refreshTokenIssuedAt: clock.now, scope: "https://mail.google.com/"))
    let form = try endpoint.lastForm()
    #expect(form["code_verifier"] == "verifier-1")
    #expect(form["redirect_uri"] == "http://127.0.0.1:5/")
    #expect(
      store.status(account: "acct")
        == .present(
          hasRefreshToken: true, accessTokenValid: true, accessTokenExpiresAt: clock.now + 3599,
          refreshTokenIssuedAt: clock.now))
  }

  @Test("An imported refresh token is checked with one refresh before it is saved")
  func importToken() throws {
    defer { directory.remove() }
    let store = store()
    #expect(throws: TokenError.self) {
      try store.importRefreshToken("1//bad", account: "acct", client: client("invalid_grant"))
    }
    #expect(store.status(account: "acct") == .none)
    try store.importRefreshToken("1//moved", account: "acct", client: client("ok"))
    // Its age is unknown: no issue time is made up.
    #expect(
      try store.load(account: "acct")
        == StoredTokens(
          refreshToken: "1//moved", accessToken: "ya29.AT-2", expiresAt: clock.now + 3599,
          scope: "https://mail.google.com/"))
  }

  @Test("Logout revokes the refresh token and deletes the cache, even when revocation fails")
  func logout() throws {
    defer { directory.remove() }
    let store = store()
    try seedExpiredCache(store)
    let outcome = try store.logout(account: "acct", revokeURL: endpoint.url("/revoke/ok"))
    #expect(outcome == LogoutOutcome(hadTokens: true, revocation: .revoked))
    #expect(try endpoint.lastForm() == ["token": Self.refreshToken])
    #expect(!FileManager.default.fileExists(atPath: cachePath))
    #expect(
      try store.logout(account: "acct", revokeURL: endpoint.url("/revoke/ok"))
        == LogoutOutcome(hadTokens: false, revocation: .notAttempted))

    try seedExpiredCache(store)
    #expect(
      try store.logout(account: "acct", revokeURL: endpoint.url("/revoke/invalid")).revocation
        == .alreadyInvalid)
    try seedExpiredCache(store)
    let failed = try store.logout(account: "acct", revokeURL: endpoint.url("/revoke/500"))
    #expect(failed.revocation == .failed("the revocation endpoint answered HTTP 500"))
    #expect(!FileManager.default.fileExists(atPath: cachePath))
  }

  @Test("Logout deletes the account's saved TLS sessions, and only its own")
  func logoutDeletesSessions() throws {
    defer { directory.remove() }
    let store = store()
    try seedExpiredCache(store)
    func session(_ account: String, _ host: String) -> TLSSessionFile {
      TLSSessionFile(location: store.location, account: account, host: host, port: 587, caFile: nil, now: clock.now)
    }
    let own = [session("acct", "smtp.gmail.com"), session("acct", "127.0.0.1")]
    let other = session("acct2", "smtp.gmail.com")
    for file in own + [other] { file.save([0x30, 0x03, 0x02, 0x01, 0x01]) }
    #expect(own.allSatisfy { $0.load() != nil } && other.load() != nil)
    _ = try store.logout(account: "acct", revokeURL: nil)
    #expect(own.allSatisfy { $0.path.map { !FileManager.default.fileExists(atPath: $0) } ?? false })
    #expect(other.load() != nil)
  }
}

/// Collects results from concurrent threads.
final class ResultBox: @unchecked Sendable {
  private let lock = NSLock()
  private var items: [Result<String, TokenError>] = []
  func append(_ item: Result<String, TokenError>) { lock.withLock { items.append(item) } }
  var values: [Result<String, TokenError>] { lock.withLock { items } }
}

@Suite("Token cache slots")
struct CacheSlotsTests {
  @Test("A slot round-trips; a changed byte, a cut or a bad header makes it invalid; the newest valid wins")
  func slots() throws {
    let json = Array(#"{"refresh_token":"r","access_token":"a","expires_at":5}"#.utf8)
    let one = try #require(CacheSlots.slot(json, generation: 7))
    #expect(one.count == 4096 && CacheSlots.decode(one[...])?.1 == json && CacheSlots.decode(one[...])?.0 == 7)
    var flipped = one
    flipped[60] ^= 0x20
    #expect(CacheSlots.decode(flipped[...]) == nil)
    #expect(CacheSlots.decode(one[..<50]) == nil)
    #expect(CacheSlots.decode(Array("gsendmail-token-slot 1 x 3 0\nabc".utf8)[...]) == nil)
    let older = try #require(CacheSlots.slot(Array("{}".utf8), generation: 6))
    #expect(CacheSlots.newest(older + one)?.index == 1)
    #expect(CacheSlots.newest(one + older)?.index == 0)
    #expect(CacheSlots.newest(older + flipped)?.index == 0)
    #expect(CacheSlots.newest(flipped + flipped) == nil)
    #expect(CacheSlots.slot([UInt8](repeating: 0x61, count: 4090), generation: 1) == nil)
    #expect(!CacheSlots.isSlotted(json) && CacheSlots.isSlotted(one))
    // A write cut right after a new generation number leaves the new header's start over
    // the old slot: the checksum covers the generation, so that is not a slot.
    let old = try #require(CacheSlots.slot(json, generation: 1))
    let oldHeader = String(decoding: old.prefix { $0 != 0x0A }, as: UTF8.self).split(separator: " ")
    let mixed = Array("gsendmail-token-slot 2 9 \(oldHeader[3]) \(oldHeader[4])\n".utf8) + json
    #expect(CacheSlots.decode(mixed[...]) == nil)
    #expect(CacheSlots.decode(old[...])?.0 == 1)
    // The last generation is refused: the next writer could not count past it.
    let last = try #require(CacheSlots.slot(json, generation: UInt64.max))
    #expect(CacheSlots.decode(last[...]) == nil)
  }
}
