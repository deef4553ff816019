// The real `gsendmailctl doctor` against the Gmail test server, with the sender domain's
// TXT records served by a local name server (GSENDMAIL_DNS_SERVER): what each check
// reports, the exit status, and that no secret is printed.
import Foundation
import TestServerKit
import Testing

@Suite("gsendmailctl doctor", .serialized)
struct DoctorEndToEndTests {
  static let dkimKey =
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA5FidcAl4dS8w617+B7gM9irayiL4eUYP7r7TKAd7qWoG9V1TQY+bVgc7J67xka57BdieJo/u0QP2nIgokcSJ3kZItkjmqjqtiPvMR8IPxT8NZq78oAZsIdTSUcKEmIc1dFjGoC+cin+Y0u5wc/Naz/B0BPD"
    + "/vBE1in5YP1yFBrq2bMBEtz1WAJ4xgj64uZLD34vQ3lBl+KUqz5xrV3RvqXWTrubVhgUwnYEN+yT/BTdGdXKTtJmsUcPKRwwP7gKYs1OeBEG5Eh7+0pUDlXLCkRrla6+eLHfpoXcmMaXWTDNkV26KUvttuIgYS065niQD+qQ8p6TNDDR6tQVLlkGh/QIDAQAB"

  /// Google's SPF tree, as published (3 nested includes), which the doctor follows.
  static let googleSPF = """
    _spf.google.com. 60 IN TXT "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com include:_netblocks3.google.com ~all"
    _netblocks.google.com. 60 IN TXT "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ~all"
    _netblocks2.google.com. 60 IN TXT "v=spf1 ip6:2001:4860:4000::/36 ~all"
    _netblocks3.google.com. 60 IN TXT "v=spf1 ip4:172.217.32.0/20 ~all"
    """

  /// SPF, DKIM and DMARC as Google asks for them.
  static var goodZone: String {
    let half = dkimKey.index(dkimKey.startIndex, offsetBy: 200)
    return googleSPF + "\n" + """
      example.com. 60 IN TXT "v=spf1 include:_spf.google.com ~all"
      google._domainkey.example.com. 60 IN TXT "v=DKIM1; k=rsa; p=\(dkimKey[..<half])" "\(dkimKey[half...])"
      _dmarc.example.com. 60 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"
      """
  }

  /// Runs `gsendmailctl doctor` with the rig's state and the local name server.
  static func doctor(_ rig: Rig, _ arguments: [String], dns: TestNameServer) throws -> RunResult {
    var environment = rig.environment
    environment["GSENDMAIL_DNS_SERVER"] = dns.address
    return try Harness.run(Harness.binary("gsendmailctl"), ["doctor"] + arguments, environment: environment)
  }

  @Test("everything right: every check ok, exit 0, the password never printed")
  func allOK() throws {
    let rig = try Rig()
    let dns = try TestNameServer(zone: Self.goodZone)
    defer { dns.stop() }
    let r = try Self.doctor(rig, ["-C", try rig.config()], dns: dns)
    #expect(r.status == 0, "\(r.out)\(r.stderr)")
    let lines = r.out.split(separator: "\n").map(String.init)
    let statuses = lines.filter { $0.hasPrefix("  ") && !$0.hasPrefix("        ") }.map { $0.split(separator: ":")[0] }
    #expect(
      statuses == [
        "  ok    config", "  ok    password_file", "  ok    credentials", "  ok    dns", "  ok    tcp", "  ok    tls", "  ok    smtp",
        "  ok    spf", "  ok    dkim", "  ok    dmarc",
      ])
    #expect(r.out.contains("ok    tls: TLSv1.3 "))
    #expect(r.out.contains("certificate verified for 127.0.0.1 (subject="))
    #expect(r.out.contains("ok    smtp: EHLO client.example.org accepted, AUTH as alice@example.com accepted; offered: SIZE 35882577"))
    #expect(r.out.contains("ok    dkim: google._domainkey.example.com: RSA key of about 2048 bits"))
    #expect(r.out.contains("ok    dmarc: _dmarc.example.com: p=quarantine"))
    #expect(r.out.hasSuffix("\nok: 10 checks, 0 failed, 0 warnings\n"))
    #expect(!r.out.contains(rig.password) && !r.stderr.contains(rig.password))
    #expect(rig.received.isEmpty)
    // The session authenticated and quit; nothing was sent.
    let session = try #require(rig.server.sessions.last)
    #expect(session.authentications.map(\.credentialValid) == [true])
  }

  @Test("a wrong password fails the smtp check with the fix, exit 1")
  func wrongPassword() throws {
    let rig = try Rig()
    let dns = try TestNameServer(zone: Self.goodZone)
    defer { dns.stop() }
    let r = try Self.doctor(rig, ["-C", try rig.config(passwordCommand: "echo not-the-password"), "alice"], dns: dns)
    #expect(r.status == 1, "\(r.out)\(r.stderr)")
    #expect(r.out.contains("ok    tls: TLSv1.3 "))
    #expect(r.out.contains("fail  smtp: authentication failed: 535 5.7.8"))
    #expect(r.out.contains("fix: check user and the password; for a Google account, use an app password"))
    #expect(!r.out.contains("not-the-password"))
    #expect(r.out.hasSuffix("\nFAILED: 9 checks, 1 failed, 0 warnings\n"))  // no password_file line
  }

  @Test("SPF, DKIM, DMARC as published: two SPF records fail, no DKIM warns, p=none is reported")
  func domainRecords() throws {
    let rig = try Rig()
    let dns = try TestNameServer(zone: """
      example.com. 60 IN TXT "v=spf1 include:_spf.google.com ~all"
      example.com. 60 IN TXT "v=spf1 +all"
      _dmarc.example.com. 60 IN TXT "v=DMARC1; p=none"
      """)
    defer { dns.stop() }
    let r = try Self.doctor(rig, ["-C", try rig.config()], dns: dns)
    #expect(r.status == 1)
    #expect(r.out.contains("fail  spf: example.com has 2 SPF records; receivers treat that as an error (RFC 7208 §4.5)"))
    #expect(r.out.contains("warn  dkim: no DKIM key at google._domainkey.example.com"))
    #expect(r.out.contains("ok    dmarc: _dmarc.example.com: p=none (monitoring only)"))
  }

  @Test("SPF includes are followed: Google through the domain's own include, and the look-ups counted")
  func nestedSPF() throws {
    let rig = try Rig()
    let nested = try TestNameServer(zone: Self.googleSPF + "\n" + """
      example.com. 60 IN TXT "v=spf1 include:spf.corp.example -all"
      spf.corp.example. 60 IN TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.google.com ~all"
      """)
    defer { nested.stop() }
    let r = try Self.doctor(rig, ["-C", try rig.config()], dns: nested)
    #expect(
      r.out.contains(
        "ok    spf: example.com: \"v=spf1 include:spf.corp.example -all\" (_spf.google.com through include:spf.corp.example), 5 DNS look-ups"),
      "\(r.out)")
    let crowded = try TestNameServer(zone: Self.googleSPF + "\n" + """
      example.com. 60 IN TXT "v=spf1 mx include:a.example include:b.example include:_spf.google.com ~all"
      a.example. 60 IN TXT "v=spf1 a mx ptr ~all"
      b.example. 60 IN TXT "v=spf1 exists:%{i}.b.example ~all"
      """)
    defer { crowded.stop() }
    let warned = try Self.doctor(rig, ["-C", try rig.config()], dns: crowded)
    #expect(warned.out.contains("warn  spf: example.com: \"v=spf1 mx include:a.example include:b.example include:_spf.google.com ~all\": it needs 11 DNS look-ups"), "\(warned.out)")
  }

  @Test("config check prints the resolved config, secrets masked; a secret file others can read is 78, as for sending")
  func configCheck() throws {
    let rig = try Rig()
    let config = try rig.config(accountExtra: "client_secret = \"GOCSPX-not-to-be-printed\"\n")
    let ok = try Harness.run(Harness.binary("gsendmailctl"), ["config", "check", "-C", config], environment: rig.environment)
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(ok.out.contains("[account.alice]") && ok.out.contains("password_file = "), "\(ok.out)")
    #expect(!ok.out.contains("GOCSPX-not-to-be-printed") && !ok.out.contains(rig.password))
    let pw = rig.dir.appendingPathComponent("pw").path
    chmod(pw, 0o640)
    let open = try Harness.run(Harness.binary("gsendmailctl"), ["config", "check", "-C", config], environment: rig.environment)
    #expect(open.status == 78 && open.stderr.contains("chmod 600 \(pw)"), "\(open.stderr)")
    #expect(try rig.send(["-C", config, "bob@example.org"], simpleMessage).status == 78)
  }

  @Test("a name server that fails is a warning per record, not a failure")
  func dnsServerFailure() throws {
    let rig = try Rig()
    let dns = try TestNameServer(zone: Self.goodZone, servfail: ["example.com", "google._domainkey.example.com", "_dmarc.example.com"])
    defer { dns.stop() }
    let r = try Self.doctor(rig, ["-C", try rig.config()], dns: dns)
    #expect(r.status == 0, "\(r.out)")
    #expect(r.out.contains("warn  spf: cannot look up TXT at example.com: no answer for example.com"))
    #expect(r.out.hasSuffix("\nok: 10 checks, 0 failed, 3 warnings\n"))
  }

  @Test("OAuth without a token: credentials warn, EHLO still checked without AUTH; with a token, XOAUTH2 is ok")
  func oauth() throws {
    let rig = try Rig()
    let dns = try TestNameServer(zone: Self.goodZone)
    defer { dns.stop() }
    let config = try rig.config(auth: "oauth", implicitTLS: true)
    var r = try Self.doctor(rig, ["-C", config], dns: dns)
    #expect(r.status == 0, "\(r.out)")
    #expect(r.out.contains("warn  credentials: no access token; AUTH is not tried\n        fix: run gsendmailctl login alice"))
    #expect(r.out.contains("warn  smtp: EHLO client.example.org accepted; AUTH not tried without a credential"))
    #expect(rig.server.sessions.last?.authentications.isEmpty == true)

    try rig.storeToken(rig.token)
    r = try Self.doctor(rig, ["-C", config], dns: dns)
    #expect(r.status == 0, "\(r.out)")
    #expect(r.out.contains("ok    token cache: "))
    #expect(r.out.contains("ok    credentials: access token refreshed, valid for 59 minutes; scope https://mail.google.com/"))
    #expect(r.out.contains("ok    smtp: EHLO client.example.org accepted, AUTH as alice@example.com accepted"))
    #expect(!r.out.contains(rig.token) && !r.out.contains("1//refresh-secret"))
    #expect(rig.server.tokenEndpointStats.refreshGrants == 1)
  }

  @Test("OAuth: a revoked refresh token fails even while the cached access token works; a narrow scope fails")
  func oauthGrantChecked() throws {
    let rig = try Rig()
    let dns = try TestNameServer(zone: Self.goodZone)
    defer { dns.stop() }
    let config = try rig.config(auth: "oauth")
    try rig.storeToken(rig.token)
    rig.server.setTokenEndpointBehavior(TokenEndpointBehavior(failure: .invalidGrant))
    var r = try Self.doctor(rig, ["-C", config], dns: dns)
    #expect(r.status == 1, "\(r.out)")
    #expect(r.out.contains("fail  credentials: token refresh failed: "), "\(r.out)")
    #expect(r.out.contains("fix: run gsendmailctl login alice"))
    // The cached token is still tried, and the server still takes it.
    #expect(r.out.contains("ok    smtp: EHLO client.example.org accepted, AUTH as alice@example.com accepted"))

    rig.server.setTokenEndpointBehavior(TokenEndpointBehavior(scope: "https://www.googleapis.com/auth/gmail.send"))
    r = try Self.doctor(rig, ["-C", config], dns: dns)
    #expect(r.status == 1, "\(r.out)")
    #expect(
      r.out.contains(
        "fail  credentials: access token refreshed, valid for 59 minutes; scope https://www.googleapis.com/auth/gmail.send, without https://mail.google.com/, which SMTP needs"),
      "\(r.out)")
    #expect(!r.out.contains(rig.token) && !r.out.contains("1//refresh-secret"))
  }

  @Test("the relay refusing the EHLO name: the helo fix, exit 1")
  func relayHELO() throws {
    let rig = try Rig(mode: .relay)
    let dns = try TestNameServer(zone: Self.goodZone)
    defer { dns.stop() }
    let r = try Self.doctor(rig, ["-C", try rig.config(auth: "none", helo: "localhost")], dns: dns)
    #expect(r.status == 1)
    #expect(r.out.contains("warn  helo: EHLO name 'localhost' is not a public fully qualified name"))
    #expect(r.out.contains("skip  tls: the session ended before STARTTLS"))
    #expect(r.out.contains("fail  smtp: the server rejected the EHLO name (421 4.7.0"))
    #expect(r.out.contains("fix: set helo = \"host.example.com\" (this machine's public FQDN; now 'localhost') in [account.alice]"))
  }

  @Test("an untrusted certificate fails the tls check; nothing is authenticated")
  func untrustedCertificate() throws {
    let rig = try Rig()
    let dns = try TestNameServer(zone: Self.goodZone)
    defer { dns.stop() }
    let r = try Self.doctor(rig, ["-C", try rig.config(caFile: .none)], dns: dns)
    #expect(r.status == 1)
    #expect(r.out.contains("fail  tls: server certificate rejected"))
    #expect(r.out.contains("skip  smtp: TLS failed; AUTH is never sent without it"))
    #expect(rig.server.sessions.allSatisfy { $0.authentications.isEmpty })
  }

  @Test("--send-test sends one message through the normal path and reports the reply")
  func sendTest() throws {
    let rig = try Rig()
    let dns = try TestNameServer(zone: Self.goodZone)
    defer { dns.stop() }
    let r = try Self.doctor(rig, ["-C", try rig.config(), "--send-test", "bob@example.org"], dns: dns)
    #expect(r.status == 0, "\(r.out)")
    #expect(r.out.contains("ok    send-test: sent from alice@example.com to bob@example.org; the server replied: 250 2.0.0 OK"))
    let message = try #require(rig.received.first)
    #expect(rig.received.count == 1)
    #expect(message.record.recipients == ["bob@example.org"] && message.record.mailFrom == "alice@example.com")
    let data = String(decoding: message.data, as: UTF8.self)
    #expect(data.contains("Subject: gsendmail test message\r\n") && data.contains("Message-ID: <"))

    let bad = try Self.doctor(rig, ["-C", try rig.config(), "--send-test", "not an address"], dns: dns)
    #expect(bad.status == 1)
    #expect(bad.out.contains("fail  send-test: 'not an address' is not an address"))
  }

  @Test("an unknown account and a missing config file fail with exit 1")
  func configProblems() throws {
    let rig = try Rig()
    let dns = try TestNameServer(zone: Self.goodZone)
    defer { dns.stop() }
    var r = try Self.doctor(rig, ["-C", try rig.config(), "bob"], dns: dns)
    #expect(r.status == 1)
    #expect(r.out.contains("fail  account: no account named 'bob'\n        fix: use one of: alice"))
    r = try Self.doctor(rig, ["-C", rig.dir.appendingPathComponent("none.toml").path], dns: dns)
    #expect(r.status == 1)
    #expect(r.out.contains("fail  config: cannot read "))
  }
}

/// Tests/python/dns_zone_server.py (dnslib) serving a zone on 127.0.0.1.
/// It needs a Python with dnslib: `$GSENDMAIL_TEST_PYTHON`, the package's `.venv`
/// (scripts/test.sh makes it from Tests/python/requirements.txt), or `python3`.
final class TestNameServer {
  struct Unavailable: Error, CustomStringConvertible {
    var description: String
  }

  let process = Process()
  /// Its standard input: the server exits when this closes, even if the test process dies.
  let input = Pipe()
  /// `127.0.0.1:PORT`, for GSENDMAIL_DNS_SERVER.
  let address: String

  init(zone: String, servfail: [String] = []) throws {
    let candidates: [String?] = [ProcessInfo.processInfo.environment["GSENDMAIL_TEST_PYTHON"], Harness.root.appendingPathComponent(".venv/bin/python3").path, "/usr/bin/python3"]
    guard let python = candidates.compactMap({ $0 }).first(where: {
      FileManager.default.isExecutableFile(atPath: $0) && (try? Harness.run($0, ["-c", "import dnslib"]))?.status == 0
    }) else {
      throw Unavailable(description: "no Python with dnslib: python3 -m venv .venv && .venv/bin/pip install -r Tests/python/requirements.txt")
    }
    let dir = try Harness.tempDir("dns")
    let zoneFile = dir.appendingPathComponent("zone")
    try Data(zone.utf8).write(to: zoneFile)
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [Harness.root.appendingPathComponent("Tests/python/dns_zone_server.py").path, zoneFile.path]
      + servfail.flatMap { ["--servfail", $0] }
    let out = Pipe()
    process.standardOutput = out
    process.standardInput = input
    process.standardError = FileHandle.nullDevice
    try process.run()
    // The first line is the port, printed once the socket is bound.
    var line = Data()
    while !line.contains(10) {
      let chunk = out.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      line += chunk
    }
    guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      throw Unavailable(description: "the name server did not start")
    }
    address = "127.0.0.1:\(port)"
  }

  func stop() {
    // SIGKILL: the name server may have inherited SIGTERM ignored or blocked.
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
}
