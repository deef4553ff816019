// Shared set-up for end-to-end tests: a Gmail test server in this process and a
// config file pointing at it.
import Foundation
import TestServerKit
import Testing

/// A running test server with a private state directory and a config for it.
final class Rig {
  let dir: URL
  let server: GmailTestServer
  let password: String
  let token = "ya29.test-access-token-0123456789"
  let refreshToken = "1//refresh-secret"

  init(
    scenarios: [GmailScenario] = [], mode: GmailTestServerConfiguration.Mode = .submission,
    maxMessageSize: Int = 35_882_577, certificateName: String? = nil, password: String = "app-pass-1234-abcd",
    sessionTickets: Bool = true, sessionLifetime: Int = 7200
  ) throws {
    self.password = password
    dir = try Harness.tempDir("rig")
    let state = dir.appendingPathComponent("server").path
    if let certificateName { try Self.makeCertificate(in: state, name: certificateName) }
    var c = GmailTestServerConfiguration(stateDirectory: state)
    c.users = ["alice@example.com": password]
    c.accessTokens = [token]
    c.scenarios = scenarios
    c.mode = mode
    c.maxMessageSize = maxMessageSize
    c.refreshTokens = [refreshToken]
    c.httpsPort = 0
    c.idleTimeout = .seconds(20)
    c.sessionTickets = sessionTickets
    c.sessionLifetime = sessionLifetime
    server = try GmailTestServer(c)
  }

  deinit { server.stop() }

  /// Puts a CA and a server certificate for `name` only where the test server looks for
  /// them, so that the server presents a certificate for another host.
  static func makeCertificate(in directory: String, name: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let ext = directory + "/server.ext"
    try Data("basicConstraints=CA:FALSE\nsubjectAltName=DNS:\(name)\n".utf8).write(to: URL(fileURLWithPath: ext))
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for arguments in [
      ["req", "-x509"] + ec + ["-keyout", directory + "/ca.key", "-out", directory + "/ca.pem", "-days", "2", "-subj", "/CN=test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"],
      ["req"] + ec + ["-keyout", directory + "/server.key", "-out", directory + "/server.csr", "-subj", "/CN=\(name)"],
      ["x509", "-req", "-in", directory + "/server.csr", "-CA", directory + "/ca.pem", "-CAkey", directory + "/ca.key",
        "-set_serial", "7", "-days", "2", "-extfile", ext, "-out", directory + "/server.pem"],
    ] {
      let r = try Harness.run("/usr/bin/openssl", arguments)
      guard r.status == 0 else { throw CocoaError(.fileWriteUnknown) }
    }
  }

  /// Writes a file with mode 0600.
  @discardableResult
  func write(_ name: String, _ text: String, mode: Int = 0o600) throws -> String {
    let url = dir.appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
    return url.path
  }

  /// A config file for one account on this server. `auth`: password, oauth, none.
  /// `caFile: nil` leaves `tls_ca_file` out (the system store is used).
  func config(
    auth: String = "password", implicitTLS: Bool = false, host: String = "127.0.0.1",
    helo: String = "client.example.org", timeout: String = "5s", caFile: String?? = .some(nil),
    passwordCommand: String? = nil, accountExtra: String = "", name: String = "config.toml"
  ) throws -> String {
    let port = implicitTLS ? server.implicitTLSPort! : server.startTLSPort!
    var account = """
      [account.alice]
      from = "alice@example.com"
      route = "custom"
      host = "\(host)"
      port = \(port)
      tls = "\(implicitTLS ? "implicit" : "starttls")"
      auth = "\(auth)"
      helo = "\(helo)"

      """
    switch caFile {
    case .none: break
    case .some(.none): account += "tls_ca_file = \"\(server.caFile)\"\n"
    case .some(.some(let path)): account += "tls_ca_file = \"\(path)\"\n"
    }
    if auth == "password" {
      if let passwordCommand {
        account += "password_command = \"\(passwordCommand)\"\n"
      } else {
        account += "password_file = \"\(try write("pw", password + "\n"))\"\n"
      }
    }
    if auth == "oauth" { account += "client_id = \"test-client\"\ntoken_url = \"\(server.tokenURL!)\"\n" }
    return try write(name, "queue = false\ntimeout = \"\(timeout)\"\n\n" + account + accountExtra)
  }

  /// Stores an access token in the token cache under `state`.
  func storeToken(_ token: String, expiresIn: Int = 3600) throws {
    let tokens = dir.appendingPathComponent("state/gsendmail/tokens")
    try FileManager.default.createDirectory(at: tokens, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    let expiry = Int(Date().timeIntervalSince1970) + expiresIn
    let path = tokens.appendingPathComponent("alice.json").path
    try Data(#"{"refresh_token":"\#(refreshToken)","access_token":"\#(token)","expires_at":\#(expiry)}"#.utf8)
      .write(to: URL(fileURLWithPath: path))
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
  }

  /// The environment for gsendmail: state under this rig.
  var environment: [String: String] {
    ["XDG_STATE_HOME": dir.appendingPathComponent("state").path, "HOME": dir.path]
  }

  /// Runs gsendmail with `arguments`, feeding `message`.
  func send(_ arguments: [String], _ message: String, timeout: TimeInterval = 30) throws -> RunResult {
    try Harness.run(Harness.binary("gsendmail"), arguments, stdin: message.bytes, environment: environment, timeout: timeout)
  }

  /// The messages the server accepted.
  var received: [ReceivedMessage] { server.messages }
}

let simpleMessage = "From: Alice <alice@example.com>\nTo: Bob <bob@example.org>\nSubject: test\n\nHello Bob.\n"
