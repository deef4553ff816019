// SPDX-License-Identifier: MIT
// The service-account grant (T7): a JWT signed with a real RSA key (made with the
// openssl command), exchanged at the fake endpoint, verified with openssl, and cached
// without a refresh token.

import Codecs
import Foundation
import HTTPClient
import OAuth2
import Testing

@testable import TokenStore

@Suite("Service accounts", .serialized)
struct ServiceAccountTests {
  let endpoint: FakeTokenEndpoint
  let directory: TemporaryDirectory
  let clock = TestClock(1_700_000_000)

  init() throws {
    endpoint = try FakeTokenEndpoint(delay: 0)
    directory = try TemporaryDirectory()
  }

  @discardableResult
  func run(_ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
  }

  /// Writes a key file for a fresh 2048-bit key and returns its path.
  func makeKeyFile(pem: String? = nil) throws -> String {
    let keyPath = directory.path + "/key.pem"
    try run([
      "openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
      keyPath,
    ])
    try run(["openssl", "pkey", "-in", keyPath, "-pubout", "-out", directory.path + "/pub.pem"])
    let keyText = try pem ?? String(contentsOfFile: keyPath, encoding: .utf8)
    let json: [String: String] = [
      "type": "service_account", "project_id": "p", "private_key_id": "kid-1",
      "private_key": keyText,
      "client_email": "svc@p.iam.gserviceaccount.com", "client_id": "1",
      "token_uri": "https://oauth2.googleapis.com/token",
    ]
    let path = directory.path + "/sa.json"
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
    return path
  }

  var store: TokenStore {
    let clock = self.clock
    return TokenStore(
      location: TokenCacheLocation(directory: directory.path + "/tokens", isSystem: false),
      poster: HTTPClient(timeout: .seconds(5)), now: { clock.now })
  }

  @Test("A signed JWT is exchanged, verifies with the public key, and is cached")
  func exchange() throws {
    defer { directory.remove() }
    let tokenURL = endpoint.url("/token/ok")
    let grant = try TokenGrant.serviceAccount(
      keyFile: makeKeyFile(), subject: "alice@corp.example.com", tokenURL: tokenURL)
    #expect(try store.accessToken(account: "svc", grant: grant) == "ya29.AT-1")
    #expect(try store.accessToken(account: "svc", grant: grant) == "ya29.AT-1")
    #expect(try endpoint.count() == 1)
    #expect(
      try store.load(account: "svc")
        == StoredTokens(
          refreshToken: nil, accessToken: "ya29.AT-1", expiresAt: clock.now + 3599, scope: "https://mail.google.com/"))

    let form = try endpoint.lastForm()
    #expect(form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer")
    let parts = (form["assertion"] ?? "").split(separator: ".").map(String.init)
    #expect(parts.count == 3)
    guard parts.count == 3 else { return }
    let header = String(decoding: Base64.decode(parts[0], alphabet: .url) ?? [], as: UTF8.self)
    let claims = String(decoding: Base64.decode(parts[1], alphabet: .url) ?? [], as: UTF8.self)
    #expect(header == #"{"alg":"RS256","typ":"JWT","kid":"kid-1"}"#)
    #expect(
      claims
        == #"{"iss":"svc@p.iam.gserviceaccount.com","sub":"alice@corp.example.com","scope":"https://mail.google.com/","aud":"\#(tokenURL)","iat":1700000000,"exp":1700003600}"#
    )

    try Data((parts[0] + "." + parts[1]).utf8).write(
      to: URL(fileURLWithPath: directory.path + "/input"))
    try Data(Base64.decode(parts[2], alphabet: .url) ?? []).write(
      to: URL(fileURLWithPath: directory.path + "/sig"))
    let verified = try run([
      "openssl", "dgst", "-sha256", "-verify", directory.path + "/pub.pem", "-signature",
      directory.path + "/sig",
      directory.path + "/input",
    ])
    #expect(verified == 0)
  }

  @Test("unauthorized_client (no domain-wide delegation) is an authentication failure")
  func unauthorized() throws {
    defer { directory.remove() }
    let grant = try TokenGrant.serviceAccount(
      keyFile: makeKeyFile(), subject: "a@b", tokenURL: endpoint.url("/token/unauthorized_client"))
    #expect(
      throws: TokenError.endpoint(
        account: "svc",
        .rejected(
          error: "unauthorized_client",
          description:
            "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."
        ))
    ) {
      try store.accessToken(account: "svc", grant: grant)
    }
  }

  @Test("A key that cannot sign is a configuration error that shows no key material")
  func badKey() throws {
    defer { directory.remove() }
    let pem =
      "-----BEGIN PRIVATE KEY-----\nTUlJQnNlY3JldGtleW1hdGVyaWFs\n-----END PRIVATE KEY-----\n"
    let grant = try TokenGrant.serviceAccount(
      keyFile: makeKeyFile(pem: pem), subject: "a@b", tokenURL: endpoint.url("/token/ok"))
    do {
      _ = try store.accessToken(account: "svc", grant: grant)
      Issue.record("a bad key signed")
    } catch {
      #expect(error.kind == .configuration)
      #expect(!error.description.contains("TUlJQnNlY3JldGtleW1hdGVyaWFs"))
      #expect(error.description.contains("svc@p.iam.gserviceaccount.com"))
    }
    #expect(try endpoint.count() == 0)
  }

  @Test("Unreadable or wrong key files name the file and the problem")
  func badFiles() throws {
    defer { directory.remove() }
    let missing = directory.path + "/none.json"
    #expect(throws: TokenError.credentials(path: missing, problem: "no such file")) {
      try TokenGrant.serviceAccount(keyFile: missing, subject: nil, tokenURL: nil)
    }
    let client = directory.path + "/client.json"
    try Data(#"{"installed":{"client_id":"x","client_secret":"GOCSPX-s"}}"#.utf8).write(
      to: URL(fileURLWithPath: client))
    do {
      _ = try TokenGrant.serviceAccount(keyFile: client, subject: nil, tokenURL: nil)
      Issue.record("a client file was taken for a key")
    } catch {
      #expect(error.kind == .configuration)
      #expect(error.description.contains("use client_secret_file"))
      #expect(!error.description.contains("GOCSPX"))
    }
    #expect(try OAuthClient.load(clientSecretFile: client).clientID == "x")
  }
}
