// SPDX-License-Identifier: MIT
// The whole OAuth path against the Gmail emulator's token endpoint (TestServerKit): the
// browser step (GET /auth → 302 to our loopback listener), the code exchange, refresh,
// rotation, and its failure modes, with tokens the emulator's SMTP side accepts.

import Foundation
import HTTPClient
import OAuth2
import TestServerKit
import Testing
import Transport

@testable import TokenStore

@Suite("TokenStore against the Gmail emulator", .serialized)
struct EmulatorTests {
  let server: GmailTestServer
  let directory: TemporaryDirectory
  let clock = TestClock(1_700_000_000)

  init() throws {
    directory = try TemporaryDirectory()
    var configuration = GmailTestServerConfiguration(stateDirectory: directory.path + "/server")
    configuration.refreshTokens = ["1//0g-known"]
    server = try GmailTestServer(configuration)
  }

  var client: OAuthClient {
    OAuthClient(
      clientID: "cid", clientSecret: "GOCSPX-cs", authorizationURL: server.authorizationURL ?? "",
      tokenURL: server.tokenURL ?? "", revokeURL: server.revokeURL ?? "")
  }

  var store: TokenStore {
    let clock = self.clock
    return TokenStore(
      location: .user(stateHome: directory.path + "/state"),
      poster: HTTPClient(timeout: .seconds(3)),
      now: { clock.now })
  }

  @Test("Login through the emulator's /auth, then refresh; the tokens are the emulator's")
  func login() throws {
    defer {
      server.stop()
      directory.remove()
    }
    let session = try LoginSession(client: client, loginHint: "alice@gmail.com")
    let result = WaitResult()
    let box = UncheckedBox(session)
    Thread.detachNewThread {
      do throws(TokenError) {
        result.finish(.success(try box.value.waitForCode(timeout: .seconds(10))))
      } catch {
        result.finish(.failure(error))
      }
    }
    // The browser: open the URL, follow the redirect to the loopback listener.
    let http = HTTPClient(timeout: .seconds(5))
    #expect(try http.get(url: session.authorizationURL).status == 302)
    let location = try #require(try locationHeader(of: session.authorizationURL))
    #expect(location.hasPrefix(session.redirectURI + "?"))
    #expect(try http.get(url: location).status == 200)
    guard case .success(let code)? = result.wait() else {
      Issue.record("no code")
      return
    }
    let saved = try store.exchangeCode(
      account: "alice", code: code, client: client, redirectURI: session.redirectURI,
      codeVerifier: session.codeVerifier)
    #expect(server.isValidAccessToken(saved.accessToken ?? ""))
    clock.now += 3600
    let refreshed = try store.accessToken(account: "alice", grant: .refreshToken(client))
    #expect(refreshed != saved.accessToken && server.isValidAccessToken(refreshed))
    #expect(server.tokenEndpointStats.refreshGrants == 1)
  }

  @Test("Rotation is stored; invalid_grant, 5xx, non-JSON and a hang leave the cache alone")
  func behaviours() throws {
    defer {
      server.stop()
      directory.remove()
    }
    let store = self.store
    try store.save(
      StoredTokens(refreshToken: "1//0g-known", accessToken: nil, expiresAt: nil), account: "a")
    server.setTokenEndpointBehavior(TokenEndpointBehavior(rotateRefreshTokens: true))
    _ = try store.accessToken(account: "a", grant: .refreshToken(client))
    let rotated = try #require(try store.load(account: "a"))
    #expect(rotated.refreshToken != "1//0g-known")
    let cacheFile = store.location.cachePath(account: "a")
    let before = try Data(contentsOf: URL(fileURLWithPath: cacheFile))
    let expectations: [(TokenEndpointBehavior.Failure, TokenError.Kind)] = [
      (.invalidGrant, .authentication), (.serverError, .temporary), (.unavailable, .temporary),
      (.nonJSON, .temporary), (.hang, .temporary),
    ]
    for (failure, kind) in expectations {
      server.setTokenEndpointBehavior(TokenEndpointBehavior(failure: failure))
      do {
        _ = try store.accessToken(account: "a", grant: .refreshToken(client), forceRefresh: true)
        Issue.record("\(failure) gave a token")
      } catch {
        #expect(error.kind == kind, "\(failure): \(error)")
        #expect(!error.description.contains(rotated.refreshToken ?? "-"))
      }
      #expect(try Data(contentsOf: URL(fileURLWithPath: cacheFile)) == before)
    }
  }

  /// The Location header of a 302, read with a raw socket (the client follows nothing and
  /// returns no headers).
  func locationHeader(of url: String) throws -> String? {
    let withoutScheme = url.dropFirst("http://".count)
    let slash = withoutScheme.firstIndex(of: "/") ?? withoutScheme.endIndex
    let hostPort = withoutScheme[..<slash].split(separator: ":")
    let target = String(withoutScheme[slash...])
    let connection = try TCPConnection.connect(
      host: String(hostPort[0]), port: UInt16(hostPort[1]) ?? 0, timeout: .seconds(5))
    try connection.write(
      Array("GET \(target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
    var bytes: [UInt8] = []
    while try connection.read(into: &bytes) > 0 {}
    let text = String(decoding: bytes, as: UTF8.self)
    return text.components(separatedBy: "\r\n").first { $0.hasPrefix("Location: ") }.map {
      String($0.dropFirst(10))
    }
  }
}
