// SPDX-License-Identifier: MIT
// An account's files beside its token cache: which ones `gsendmailctl login` prepares.

import Foundation
import Testing

@testable import GSendmailCore
@testable import GSendmailKit

@Suite("Credentials")
struct CredentialsTests {
  @Test("login reserves a TLS session file for an SMTP account, none for a gmail-api one")
  func tlsSessionReservation() throws {
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("cred-\(UUID().uuidString)").path
    let tokens = home + "/.local/state/gsendmail/tokens"
    try FileManager.default.createDirectory(atPath: tokens, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: home) }
    let config = try ConfigParser.parse(
      """
      [account.smtp]
      from = "a@example.com"
      auth = "oauth"
      client_id = "x"
      [account.api]
      from = "b@example.com"
      route = "gmail-api"
      auth = "oauth"
      client_id = "x"
      """, path: home + "/config.toml", home: home)
    let environment = Environment(
      variables: [:], uid: getuid(), gid: getgid(), userName: "tester", home: home, hostName: "host.example.org",
      now: { (0, 0) }, randomBytes: { Array(repeating: 7, count: $0) })
    #expect(config.accounts.count == 2)
    for account in config.accounts { config.reserveTLSSession(of: account, environment: environment) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: tokens) == ["smtp@smtp.gmail.com:587.tls"])
  }
}
