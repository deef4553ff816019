// The route "gmail-api" through the real gsendmail binary against the test server's
// Gmail API: the same message sent by SMTP and by the API arrives alike, the envelope
// and the header are made to agree (or the message is refused), each HTTP error maps to
// its exit code, and a gmail.send token works for the API but not for SMTP.
import Foundation
import TestServerKit
import Testing

@Suite("The Gmail API route", .serialized)
struct GmailAPITests {
  static let sendScope = "https://www.googleapis.com/auth/gmail.send"

  /// A rig whose tokens carry `scope` (gmail.send alone by default).
  static func rig(scope: String = sendScope, scenarios: [GmailScenario] = []) throws -> Rig {
    let rig = try Rig(scenarios: scenarios)
    rig.server.setTokenEndpointBehavior(TokenEndpointBehavior(scope: scope))
    try rig.storeToken(rig.token)
    return rig
  }

  /// A config with the account on the API route (HTTPS, the test CA unless `caFile` is
  /// false: then the system store), plus `extra` at the top.
  static func apiConfig(
    _ rig: Rig, extra: String = "", accountExtra: String = "", caFile: Bool = true
  ) throws -> String {
    let account = """
      [account.alice]
      from = "alice@example.com"
      route = "gmail-api"
      auth = "oauth"
      client_id = "test-client"
      token_url = "\(rig.server.tokenURL!)"
      api_url = "\(rig.server.httpsAPIURL!)"
      \(caFile ? "tls_ca_file = \"\(rig.server.caFile)\"" : "")

      """
    return try rig.write("api.toml", "queue = false\ntimeout = \"5s\"\n\(extra)\n" + account + accountExtra)
  }

  /// The message as a recipient sees it: Bcc fields (which Gmail removes) dropped.
  static func visible(_ data: [UInt8]) -> String {
    let text = String(decoding: data, as: UTF8.self)
    var out: [Substring] = []
    var skipping = false
    var inHeader = true
    for line in text.split(separator: "\r\n", omittingEmptySubsequences: false) {
      if inHeader && line.isEmpty { inHeader = false }
      if inHeader {
        if line.first == " " || line.first == "\t" {
          if skipping { continue }
        } else {
          skipping = line.lowercased().hasPrefix("bcc:")
          if skipping { continue }
        }
      }
      out.append(line)
    }
    return out.joined(separator: "\r\n")
  }

  /// Without the fields that differ between two sends of one message.
  static func comparable(_ text: String) -> String {
    text.split(separator: "\r\n", omittingEmptySubsequences: false)
      .filter { !$0.hasPrefix("Message-ID:") && !$0.hasPrefix("Date:") }.joined(separator: "\r\n")
  }

  /// Sends `message` with `arguments` once through SMTP (XOAUTH2) and once through the API,
  /// and checks that both arrive alike, to the same recipients.
  func bothRoutes(_ arguments: [String], _ message: String, recipients: [String]) throws {
    let rig = try Self.rig(scope: "https://mail.google.com/")
    let date = "Date: Mon, 7 Dec 2026 01:00:00 +0000\nMessage-ID: <fixed@example.com>\n"
    var r = try rig.send(["-C", try rig.config(auth: "oauth")] + arguments, date + message)
    #expect(r.status == 0, "\(r.stderr)")
    r = try rig.send(["-C", try Self.apiConfig(rig)] + arguments, date + message)
    #expect(r.status == 0, "\(r.stderr)")
    let received = rig.received
    try #require(received.count == 2)
    let (smtp, api) = (received[0], received[1])
    #expect(smtp.record.route == nil && api.record.route == "api")
    #expect(Set(smtp.record.recipients.map { $0.lowercased() }) == Set(recipients))
    #expect(Set(api.record.recipients.map { $0.lowercased() }) == Set(recipients))
    #expect(Self.visible(api.data) == String(decoding: smtp.data, as: UTF8.self))
  }

  // MARK: Same delivery by both routes

  @Test("With -t and Bcc: the same visible message and the same recipients by SMTP and by the API")
  func withT() throws {
    try bothRoutes(
      ["-t"], "From: alice@example.com\nTo: Bob <bob@example.org>\nCc: carol@example.org\nBcc: dave@example.org\nSubject: x\n\nHello.\n",
      recipients: ["bob@example.org", "carol@example.org", "dave@example.org"])
  }

  @Test("Without -t: envelope-only recipients are reached by the API through Bcc")
  func withoutT() throws {
    try bothRoutes(
      ["bob@example.org", "erin@example.org"], "To: bob@example.org\nSubject: x\n\nHi.\n",
      recipients: ["bob@example.org", "erin@example.org"])
  }

  @Test("A body line over 998 octets and 8-bit text: re-encoded alike by both routes")
  func longLines() throws {
    let long = String(repeating: "x", count: 3000)
    try bothRoutes(
      ["-t"], "To: bob@example.org\nSubject: long\nContent-Type: text/plain; charset=utf-8\n\n\(long)\nh\u{e9}llo\n",
      recipients: ["bob@example.org"])
  }

  @Test("An alias: To: root is rewritten to the address it was delivered to")
  func alias() throws {
    let rig = try Self.rig()
    let aliases = try rig.write("aliases", "root: admin@example.org\n")
    let config = try Self.apiConfig(rig, extra: "aliases = \"\(aliases)\"")
    let r = try rig.send(["-C", config, "root"], "From: alice@example.com\nTo: root\nSubject: cron\n\nout\n")
    #expect(r.status == 0, "\(r.stderr)")
    let m = try #require(rig.received.first)
    #expect(m.record.recipients == ["admin@example.org"])
    #expect(String(decoding: m.data, as: UTF8.self).contains("\r\nTo: admin@example.org\r\n"))
  }

  @Test("Without tls_ca_file: the system store, where a hashed SSL_CERT_DIR is enough on its own")
  func hashedSystemStore() throws {
    let rig = try Self.rig()
    let arguments = ["-C", try Self.apiConfig(rig, caFile: false), "bob@example.org"]
    let message = Array("To: bob@example.org\nSubject: store\n\nx\n".utf8)
    // The system store does not hold the test CA: the upload is refused by TLS.
    let untrusted = try Harness.run(
      Harness.binary("gsendmail"), arguments, stdin: message, environment: rig.environment)
    #expect(untrusted.status == 75, "\(untrusted.stderr)")
    #expect(untrusted.stderr.contains("certificate"), "\(untrusted.stderr)")
    #expect(rig.received.isEmpty)
    // A directory of hash links holding it, as update-ca-certificates makes /etc/ssl/certs:
    // libcurl is given the directory alone, without its bundle file.
    let hashed = rig.dir.appendingPathComponent("hashed-ca")
    try FileManager.default.createDirectory(at: hashed, withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      atPath: rig.server.caFile, toPath: hashed.appendingPathComponent("ca.pem").path)
    let rehash = try Harness.run("/usr/bin/openssl", ["rehash", hashed.path])
    try #require(rehash.status == 0, "\(rehash.stderr)")
    let r = try Harness.run(
      Harness.binary("gsendmail"), arguments, stdin: message,
      environment: rig.environment.merging(["SSL_CERT_DIR": hashed.path]) { $1 })
    #expect(r.status == 0, "\(r.stderr)")
    #expect(rig.received.map(\.record.recipients) == [["bob@example.org"]])
  }

  @Test("A 30 MB message goes through a resumable session and arrives whole")
  func large() throws {
    let rig = try Self.rig()
    let line = String(repeating: "0123456789abcdef", count: 4) + "\n"
    let body = String(repeating: line, count: 30 * 1024 * 1024 / line.utf8.count)
    let r = try rig.send(["-C", try Self.apiConfig(rig), "bob@example.org"], "Subject: big\n\n" + body, timeout: 120)
    #expect(r.status == 0, "\(r.stderr)")
    let m = try #require(rig.received.first)
    #expect(m.record.size > 30_000_000)
    #expect(String(decoding: m.data.suffix(line.utf8.count + 1), as: UTF8.self) == line.replacingOccurrences(of: "\n", with: "\r\n"))
    #expect(rig.server.apiRequests == 2)  // the session's POST, then one PUT
  }

  // MARK: Refusals and failures

  @Test("A header recipient outside the envelope: 65, one line naming it, nothing uploaded")
  func mismatch() throws {
    let rig = try Self.rig()
    let r = try rig.send(["-C", try Self.apiConfig(rig), "bob@example.org"], "To: bob@example.org\nCc: eve@example.org\n\nx\n")
    #expect(r.status == 65)
    #expect(r.stderr.contains("eve@example.org") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    #expect(rig.server.apiRequests == 0 && rig.received.isEmpty)
  }

  @Test(
    "Each HTTP error maps to its exit code",
    arguments: [
      ("429", 75), ("403:rateLimitExceeded", 75), ("403:dailyLimitExceeded", 75), ("503", 75),
      ("403:insufficientPermissions", 77), ("400:invalidArgument", 65), ("400:failedPrecondition", 69), ("401", 77),
    ])
  func httpErrors(scenario: String, expected: Int32) throws {
    let rig = try Self.rig(scenarios: [try GmailScenario.parse("api-error=" + scenario)])
    let r = try rig.send(["-C", try Self.apiConfig(rig), "bob@example.org"], simpleMessage)
    #expect(r.status == expected, "\(scenario): \(r.stderr)")
    #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    #expect(!r.stderr.contains(rig.token) && !r.stderr.contains("Hello Bob"))
    if scenario.hasPrefix("403:insufficientPermissions") {
      #expect(r.stderr.contains("gmail.send") && r.stderr.contains("gsendmailctl login alice"), "\(r.stderr)")
    }
  }

  @Test("401 once: the token is refreshed and the upload tried again")
  func refreshOnce() throws {
    let rig = try Self.rig(scenarios: [.apiError(status: 401, reason: nil, times: 1)])
    let r = try rig.send(["-C", try Self.apiConfig(rig), "bob@example.org"], simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(rig.server.tokenEndpointStats.refreshGrants == 1)
    #expect(rig.received.count == 1)
  }

  @Test("With the queue on, a rate limit holds the message (0) with the long backoff; the log names the API")
  func queued() throws {
    let rig = try Self.rig(scenarios: [.apiError(status: 429, reason: nil, times: 1)])
    let log = rig.dir.appendingPathComponent("mail.log").path
    let config = try Self.apiConfig(rig, extra: "log = \"file:\(log)\"")
    let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "queue = false", with: "queue = true")
    try rig.write("api.toml", text)
    var r = try rig.send(["-C", config, "bob@example.org"], simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(rig.received.isEmpty)
    let deferred = try String(contentsOfFile: log, encoding: .utf8)
    let entry = try #require(deferred.split(separator: " ").first { $0.hasPrefix("id=") }).dropFirst(3)
    // A limit, not an ordinary temporary failure: mailq says it is held, and why.
    let listing = try rig.send(["-C", config, "-bp"], "")
    #expect(listing.out.contains("held until") && listing.out.contains("rate limit"), "\(listing.out)")
    r = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "retry", String(entry), "-C", config], environment: rig.environment)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(rig.received.count == 1)
    let lines = try String(contentsOfFile: log, encoding: .utf8)
    #expect(lines.contains("status=deferred") && lines.contains("relay=127.0.0.1[127.0.0.1]:"), "\(lines)")
    let id = try #require(rig.received.first?.record.apiMessageID)
    #expect(lines.contains("status=sent (id=\(id))"), "\(lines)")
    #expect(!lines.contains(rig.token) && !lines.contains("Hello Bob"))
  }

  // MARK: Scope

  @Test("A gmail.send token: refused by SMTP with a clear message, accepted by the API")
  func sendScopeToken() throws {
    let rig = try Self.rig()
    var r = try rig.send(["-C", try rig.config(auth: "oauth"), "bob@example.org"], simpleMessage)
    #expect(r.status == 77, "\(r.stderr)")
    #expect(r.stderr.contains("granted \(Self.sendScope) only; SMTP needs https://mail.google.com/"), "\(r.stderr)")
    r = try rig.send(["-C", try Self.apiConfig(rig), "bob@example.org"], simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(rig.received.count == 1 && rig.received[0].record.route == "api")
    #expect(!r.stderr.contains(rig.token))
  }

  @Test("doctor: the API reached over HTTPS, gmail.send is enough, a wider scope is a warning; the test message uploads")
  func doctor() throws {
    let rig = try Self.rig()
    let dns = try TestNameServer(zone: DoctorEndToEndTests.goodZone)
    defer { dns.stop() }
    let config = try Self.apiConfig(rig)
    var r = try DoctorEndToEndTests.doctor(rig, ["-C", config, "--send-test", "bob@example.org"], dns: dns)
    #expect(r.out.contains("ok    https: \(rig.server.httpsAPIURL!) answered"), "\(r.out)")
    #expect(r.out.contains("ok    credentials: access token refreshed, valid for 59 minutes; scope \(Self.sendScope)\n"), "\(r.out)")
    #expect(r.out.contains("ok    send-test: sent from alice@example.com to bob@example.org through the Gmail API"), "\(r.out)")
    #expect(!r.out.contains("smtp:") && !r.out.contains(rig.token))
    #expect(rig.received.first?.record.route == "api")
    rig.server.setTokenEndpointBehavior(TokenEndpointBehavior(scope: "https://mail.google.com/"))
    r = try DoctorEndToEndTests.doctor(rig, ["-C", config], dns: dns)
    #expect(r.out.contains("warn  credentials: ") && r.out.contains("more than the Gmail API route needs"), "\(r.out)")
    // The same wide token on an SMTP account: a warning that the API route needs less.
    r = try DoctorEndToEndTests.doctor(rig, ["-C", try rig.config(auth: "oauth")], dns: dns)
    #expect(r.out.contains("warn  scope: the token's scope https://mail.google.com/"), "\(r.out)")
    #expect(r.out.contains("route = \"gmail-api\" sends over HTTPS"), "\(r.out)")
  }

  @Test("A route gmail-api account with auth password is a configuration error")
  func passwordRefused() throws {
    let rig = try Self.rig()
    let config = try rig.write(
      "bad.toml", "[account.a]\nfrom = \"a@example.com\"\nroute = \"gmail-api\"\nauth = \"password\"\npassword_file = \"/x\"\n")
    let r = try rig.send(["-C", config, "bob@example.org"], simpleMessage)
    #expect(r.status == 78 && r.stderr.contains("gmail-api"), "\(r.stderr)")
  }
}

@Suite("Logging in for the Gmail API route", .serialized)
struct GmailAPILoginTests {
  @Test("login asks for gmail.send alone for an API account (mail.google.com for SMTP); status shows the grant")
  func loginScope() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let smtp = try bench.config()
    let smtpLogin = try bench.startLogin(smtp)
    let smtpURL = try #require(smtpLogin.authorizationURL(), "no URL printed: \(smtpLogin.stdout)")
    smtpLogin.stop()
    #expect(OAuthBench.query(of: smtpURL)["scope"] == "https://mail.google.com/")

    let text = try String(contentsOfFile: smtp, encoding: .utf8)
      .replacingOccurrences(of: "route = \"custom\"", with: "route = \"gmail-api\"")
      + "api_url = \"\(bench.rig.server.httpsAPIURL!)\"\n"
    let config = try bench.rig.write("api-login.toml", text)
    let login = try bench.startLogin(config)
    defer { login.stop() }
    let url = try #require(login.authorizationURL(), "no URL printed: \(login.stdout)")
    #expect(OAuthBench.query(of: url)["scope"] == GmailAPITests.sendScope)
    let location = try bench.authorize(url)
    bench.secrets.insert(OAuthBench.query(of: location)["code"] ?? "")
    _ = try LoopbackHTTP.request("GET", location)
    #expect(login.waitForExit(timeout: 30) == 0, "\(login.stderr)")
    bench.record("login", login)

    let status = try bench.ctl(["status", "alice", "-C", config])
    #expect(status.out.contains("scope:  \(GmailAPITests.sendScope)\n"), "\(status.out)")
    #expect(status.out.contains("route:  gmail-api (https://127.0.0.1:"), "\(status.out)")
    let check = try bench.ctl(["config", "check", "-C", config])
    #expect(check.out.contains("# token scope: \(GmailAPITests.sendScope)"), "\(check.out)")
    #expect(check.out.contains("# [account.alice] granted scope: \(GmailAPITests.sendScope)\n"), "\(check.out)")

    // The send-only token goes through the API, and SMTP refuses it.
    let sent = try bench.send(config)
    #expect(sent.status == 0, "\(sent.stderr)")
    #expect(bench.rig.received.count == 1 && bench.rig.received[0].record.route == "api")
    bench.record("send", sent)
    let refused = try bench.send(smtp)
    #expect(refused.status == 77, "\(refused.stderr)")
    bench.record("smtp", refused)
    #expect(bench.rig.received.count == 1)
  }

  @Test("A service account asks for gmail.send in its JWT and uploads to users/USER")
  func serviceAccount() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let key = try bench.makeServiceAccountKey()
    bench.rig.server.trustServiceAccount(key.trusted)
    let text = try String(contentsOfFile: try bench.serviceAccountConfig(keyFile: key.file), encoding: .utf8)
      .replacingOccurrences(of: "route = \"custom\"", with: "route = \"gmail-api\"")
      + "api_url = \"\(bench.rig.server.httpsAPIURL!)\"\n"
    let config = try bench.rig.write("sa-api.toml", text)
    let r = try bench.send(config)
    #expect(r.status == 0, "\(r.stderr)")
    bench.record("send", r)
    #expect(bench.rig.server.oauthCheckStats.assertions.first?.accepted == true)
    let message = try #require(bench.rig.received.first)
    #expect(message.record.route == "api" && message.record.authUser == "alice@example.com")
    let cache = try String(contentsOfFile: bench.cachePath, encoding: .utf8)
    #expect(cache.contains(#""scope":"\#(GmailAPITests.sendScope)""#), "\(cache)")
  }
}
