// What an administrator meets on a first deployment, through the real gsendmailctl:
// usage without a command, no configuration at all, an OAuth client file not there
// yet, the last authentication failure in status until a send succeeds, a service
// account's client ID for its delegation, and shell completion of account names and
// queue ids. Exact texts and exit codes.
import Foundation
import TestServerKit
import Testing

@Suite("First deployment through gsendmailctl", .serialized)
struct DeploymentTests {
  static func ctl(_ arguments: [String], _ rig: Rig, environment: [String: String] = [:]) throws -> RunResult {
    try Harness.run(Harness.binary("gsendmailctl"), arguments, environment: rig.environment.merging(environment) { $1 })
  }

  @Test("gsendmailctl without a command prints its usage and exits 64")
  func bareCommand() throws {
    let r = try Harness.run(Harness.binary("gsendmailctl"), [])
    #expect(r.status == 64)
    #expect(r.stderr.contains("USAGE: gsendmailctl <subcommand>") && r.stderr.contains("login"), "\(r.stderr)")
    #expect(r.out.isEmpty)
  }

  @Test("No configuration anywhere: 78, naming the example file and the setup guide")
  func noConfiguration() throws {
    try #require(!FileManager.default.fileExists(atPath: "/etc/gsendmail/config.toml"), "this machine has a system configuration")
    let home = try Harness.tempDir("home")
    let r = try Harness.run(Harness.binary("gsendmailctl"), ["status"], environment: ["HOME": home.path])
    #expect(r.status == 78)
    #expect(
      r.stderr == "gsendmailctl: no configuration file found (looked for \(home.path)/.config/gsendmail/config.toml, "
        + "/etc/gsendmail/config.toml); create one from /usr/share/doc/gsendmail/examples/config.toml, "
        + "see gsendmail.conf(5) and /usr/share/doc/gsendmail/setup.md\n", "\(r.stderr)")
  }

  @Test("A client_secret_file that does not exist: login prints the setup guide (78), config check warns (0)")
  func missingClientFile() throws {
    let rig = try Rig()
    let missing = rig.dir.appendingPathComponent("client_secret.json").path
    let config = try rig.config(auth: "oauth", accountExtra: "client_secret_file = \"\(missing)\"\n")
    let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "client_id = \"test-client\"\n", with: "")
    let path = try rig.write("missing.toml", text)
    let login = try Self.ctl(["login", "alice", "--no-browser", "-C", path], rig)
    #expect(login.status == 78)
    #expect(login.stderr == "gsendmailctl: \(missing): no such file\n", "\(login.stderr)")
    #expect(login.out.hasPrefix("Account 'alice': its client_secret_file \(missing) does not exist.\n"), "\(login.out)")
    for line in [
      "3. Data Access > Add or remove scopes: add https://mail.google.com/ by hand",
      "       mkdir -p ~/.config/gsendmail\n       install -m 600 ~/Downloads/client_secret_*.json ~/.config/gsendmail/client_secret.json\n",
      "7. Run: gsendmailctl login alice",
    ] {
      #expect(login.out.contains(line), "\(line) missing in \(login.out)")
    }
    let check = try Self.ctl(["config", "check", "-C", path], rig)
    #expect(check.status == 0, "\(check.stderr)")
    #expect(
      check.stderr == "gsendmailctl: warning: [account.alice] client_secret_file \(missing) does not exist; "
        + "gsendmailctl login alice prints how to create it\n", "\(check.stderr)")
  }

  @Test("status shows the last authentication failure, with the app-password advice, until a send succeeds")
  func lastFailureInStatus() throws {
    let rig = try Rig()
    let config = try QueueTests.queueConfig(rig)
    try rig.write("pw", "wrong password\n")
    #expect(try rig.send(["-C", config, "bob@example.org"], simpleMessage).status == 0)
    let failing = try Self.ctl(["status", "-C", config], rig)
    #expect(failing.status == 0, "\(failing.stderr)")
    let line = try #require(failing.out.split(separator: "\n").first { $0.hasPrefix("  last failure: ") }, "\(failing.out)")
    #expect(line.contains(": authentication failed: 535 5.7.8 "), "\(line)")
    #expect(
      line.hasSuffix(
        "; check user and password_file, or use an app password: turn on 2-Step Verification for the account, create one "
          + "at https://myaccount.google.com/apppasswords and put it in password_file (spaces as Google shows them are ignored)"),
      "\(line)")
    #expect(!line.contains("gsendmailctl login"))
    let json = try Self.ctl(["status", "--json", "-C", config], rig)
    #expect(json.out.contains("\"last_auth_failure\":{\"time\":"), "\(json.out)")
    // The password fixed: the next send authenticates and the failure is gone.
    try rig.write("pw", rig.password + "\n")
    #expect(try rig.send(["-C", config, "bob@example.org"], simpleMessage).status == 0)
    #expect(rig.received.count == 1)
    let fixed = try Self.ctl(["status", "-C", config], rig)
    #expect(!fixed.out.contains("last failure"), "\(fixed.out)")
    #expect(try Self.ctl(["status", "--json", "-C", config], rig).out.contains("\"last_auth_failure\":null"))
  }

  @Test("An app password pasted with Google's spaces is accepted")
  func spacedAppPassword() throws {
    let rig = try Rig(password: "abcdefghijklmnop")
    let config = try rig.config()
    try rig.write("pw", "abcd efgh ijkl mnop\n")
    let r = try rig.send(["-C", config, "bob@example.org"], simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(rig.received.first?.record.authMechanism == "PLAIN")
  }

  @Test("A dead refresh token: the send is queued quietly, status says so with the login fix")
  func deadRefreshTokenInStatus() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let config = try bench.config(queue: true)
    try bench.writeCache(refresh: "1//revoked-long-ago", access: "ya29.expired", expiresAt: OAuthBench.now - 600)
    #expect(try bench.send(config).status == 0)
    let status = try bench.ctl(["status", "alice", "-C", config])
    #expect(status.status == 0, "\(status.stderr)")
    #expect(status.out.contains("; refused at the last attempt (see last failure)"), "\(status.out)")
    let line = try #require(status.out.split(separator: "\n").first { $0.hasPrefix("  last failure: ") }, "\(status.out)")
    #expect(line.contains("invalid_grant") && line.contains("gsendmailctl login alice"), "\(line)")
    #expect(status.out.contains("1 queued (1 waiting for login)"), "\(status.out)")
  }

  @Test("status of a service account prints its client ID and the scope for the Admin console, never the key")
  func serviceAccountClientID() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let key = try bench.makeServiceAccountKey()
    let config = try bench.serviceAccountConfig(keyFile: key.file)
    let status = try bench.ctl(["status", "-C", config])
    #expect(status.status == 0, "\(status.stderr)")
    #expect(
      status.out.contains(
        "  delegation: client ID 1234567890, scope https://mail.google.com/ (enter both in Admin console > Security > "
          + "Access and data control > API controls > Domain-wide delegation > Add new)\n"), "\(status.out)")
    #expect(!status.out.contains("PRIVATE KEY"))
    let json = try bench.ctl(["status", "--json", "-C", config])
    #expect(json.out.contains("\"service_account_client_id\":\"1234567890\""), "\(json.out)")
  }

  @Test("login --port N listens there and prints ssh -L N:127.0.0.1:N USER@HOST; nothing arriving is 75")
  func loginPort() throws {
    let rig = try Rig()
    let config = try rig.config(auth: "oauth")
    let port = try QueueTests.closedPort()
    let r = try Self.ctl(["login", "alice", "--no-browser", "--port", "\(port)", "--wait-seconds", "1", "-C", config], rig)
    #expect(r.status == 75, "\(r.stderr)")
    #expect(r.stderr == "gsendmailctl: no redirect arrived within 1 s; run the login again\n", "\(r.stderr)")
    #expect(r.out.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A\(port)%2F"), "\(r.out)")
    #expect(r.out.contains("\n  ssh -L \(port):127.0.0.1:\(port) \(NSUserName())@"), "\(r.out)")
    #expect(!r.out.contains("gsendmailctl login --port"), "\(r.out)")
  }

  @Test("XDG_STATE_HOME in a home without it (~/.local/state, no ~/.local) is made 0700 with what lies between")
  func stateHomeMade() throws {
    let rig = try Rig()
    let config = try QueueTests.queueConfig(rig)
    let home = try Harness.tempDir("home")
    let state = home.path + "/.local/state"
    let r = try Harness.run(
      Harness.binary("gsendmail"), ["-C", config, "-odq", "bob@example.org"], stdin: simpleMessage.bytes,
      environment: ["HOME": home.path, "XDG_STATE_HOME": state])
    #expect(r.status == 0, "\(r.stderr)")
    for dir in [home.path + "/.local", state, state + "/gsendmail", state + "/gsendmail/queue"] {
      let mode = try FileManager.default.attributesOfItem(atPath: dir)[.posixPermissions] as? Int
      #expect(mode == 0o700, "\(dir)")
    }
    // A home that does not exist is not made: 73.
    let gone = home.path + "/no-such-home"
    let missing = try Harness.run(
      Harness.binary("gsendmail"), ["-C", config, "-odq", "bob@example.org"], stdin: simpleMessage.bytes,
      environment: ["HOME": gone, "XDG_STATE_HOME": gone + "/.local/state"])
    #expect(missing.status == 73, "\(missing.stderr)")
    #expect(!FileManager.default.fileExists(atPath: gone))
  }

  @Test("A password file others can read is refused (78) before any connection is opened")
  func secretFilesCheckedFirst() throws {
    let rig = try Rig()
    let config = try rig.config()
    chmod(rig.dir.appendingPathComponent("pw").path, 0o644)
    let r = try rig.send(["-C", config, "bob@example.org"], simpleMessage)
    #expect(r.status == 78 && r.stderr.contains("chmod 600"), "\(r.stderr)")
    #expect(rig.server.sessions.isEmpty)
  }

  @Test("Shell completion offers the configuration's accounts and the queue's ids")
  func completion() throws {
    let rig = try Rig()
    let config = try QueueTests.queueConfig(rig)
    let two = try rig.write(
      "two.toml", try String(contentsOfFile: config, encoding: .utf8) + "\n[account.bob]\nfrom = \"bob@example.com\"\nauth = \"none\"\n")
    #expect(try rig.send(["-C", two, "-odq", "carol@example.org"], simpleMessage).status == 0)
    let id = try #require(try QueueTests.firstID(rig, two))
    let environment = ["GSENDMAIL_CONFIG": two]
    let accounts = try Self.ctl(["---completion", "status", "--", "positional@0", "0", "0", ""], rig, environment: environment)
    #expect(accounts.status == 0, "\(accounts.stderr)")
    #expect(accounts.out.split(separator: "\n").sorted() == ["alice", "bob"], "\(accounts.out)")
    let prefixed = try Self.ctl(["---completion", "doctor", "--", "positional@0", "0", "1", "b"], rig, environment: environment)
    #expect(prefixed.out.split(separator: "\n") == ["bob"], "\(prefixed.out)")
    let ids = try Self.ctl(["---completion", "queue", "show", "--", "positional@0", "0", "0", ""], rig, environment: environment)
    #expect(ids.out.split(separator: "\n") == [Substring(id)], "\(ids.out)")
  }
}
