// SPDX-License-Identifier: MIT
// The doctor without a network: the report's text (golden strings), the judgement of
// SPF, DKIM and DMARC records, which step a failed session is blamed on, and the file,
// credentials and EHLO name checks against files in a temporary directory. One file over
// 400 lines: one suite, whose SPF cases share the DNS table built by `dns(_:failing:)`.

import SMTPCore
import Testing
@testable import TokenStore

@testable import GSendmailAdmin
@testable import GSendmailCore
@testable import GSendmailKit

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Doctor")
struct DoctorTests {
  // MARK: Report

  @Test("the report: headings, aligned statuses, fixes under their check, the summary")
  func renderGolden() {
    let sections = [
      DoctorSection(title: "configuration", checks: [DoctorCheck("config", .ok, "/etc/gsendmail/config.toml: 1 account")]),
      DoctorSection(
        title: "account work: *@example.com via smtp-relay.gmail.com:587 (starttls, auth none)",
        checks: [
          DoctorCheck("helo", .warn, "EHLO name 'localhost' is not a public fully qualified name", fix: "set helo"),
          DoctorCheck("tcp", .fail, "cannot connect to smtp-relay.gmail.com port 587: Connection refused", fix: "open the firewall"),
          DoctorCheck("tls", .skip, "no connection"),
        ]),
    ]
    #expect(
      DoctorReport.render(sections) == """
        configuration
          ok    config: /etc/gsendmail/config.toml: 1 account

        account work: *@example.com via smtp-relay.gmail.com:587 (starttls, auth none)
          warn  helo: EHLO name 'localhost' is not a public fully qualified name
                fix: set helo
          fail  tcp: cannot connect to smtp-relay.gmail.com port 587: Connection refused
                fix: open the firewall
          skip  tls: no connection

        FAILED: 4 checks, 1 failed, 1 warning, 1 skipped

        """)
    #expect(DoctorReport.failed(sections))
  }

  @Test("a report with nothing failed says ok; warnings alone do not fail")
  func renderOK() {
    let one = [DoctorSection(title: "configuration", checks: [DoctorCheck("config", .ok, "/c.toml: 2 accounts")])]
    #expect(DoctorReport.render(one) == "configuration\n  ok    config: /c.toml: 2 accounts\n\nok: 1 check, 0 failed, 0 warnings\n")
    let warned = [DoctorSection(title: "x", checks: [DoctorCheck("spf", .warn, "none", fix: "add one"), DoctorCheck("dkim", .warn, "none")])]
    #expect(!DoctorReport.failed(warned))
    #expect(DoctorReport.summary(warned) == "\nok: 2 checks, 0 failed, 2 warnings\n")
  }

  // MARK: SPF

  /// Google's SPF tree in the shape it is published: three nested includes.
  static let google: [String: [String]] = [
    "_spf.google.com": [
      "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com include:_netblocks3.google.com ~all"
    ],
    "_netblocks.google.com": ["v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ~all"],
    "_netblocks2.google.com": ["v=spf1 ip6:2001:4860:4000::/36 ~all"],
    "_netblocks3.google.com": ["v=spf1 ip4:172.217.32.0/20 ~all"],
  ]

  struct LookUpFailure: Error {}

  /// A resolver answering from `google` and `extra`; names in `failing` throw.
  static func dns(_ extra: [String: [String]] = [:], failing: Set<String> = []) -> (String) throws -> [String] {
    let zone = google.merging(extra) { $1 }
    return { name in
      if failing.contains(name) { throw LookUpFailure() }
      return zone[name] ?? []
    }
  }

  @Test("SPF: Google reached through a domain's own include is ok, and says through what")
  func spfNested() {
    let check = DomainRecords.spf(
      domain: "example.com", records: ["v=spf1 include:spf.corp.example -all"],
      lookUp: Self.dns(["spf.corp.example": ["v=spf1 ip4:192.0.2.0/24 include:_spf.google.com ~all"]]))
    #expect(
      check == DoctorCheck(
        "spf", .ok, "example.com: \"v=spf1 include:spf.corp.example -all\" (_spf.google.com through include:spf.corp.example), 5 DNS look-ups"))
    let redirected = DomainRecords.spf(
      domain: "e.com", records: ["v=spf1 redirect=_spf.e.com"], lookUp: Self.dns(["_spf.e.com": ["v=spf1 mx include:_spf.google.com -all"]]))
    #expect(redirected.status == .ok && redirected.detail.hasSuffix("(_spf.google.com through redirect=_spf.e.com), 6 DNS look-ups"))
  }

  @Test("SPF: more than 10 DNS look-ups, nested ones counted, is a warning (RFC 7208 §4.6.4)")
  func spfTooManyLookups() {
    var zone: [String: [String]] = [:]
    for n in 1...3 { zone["s\(n).example"] = ["v=spf1 a mx ~all"] }
    let check = DomainRecords.spf(
      domain: "example.com", records: ["v=spf1 include:s1.example include:s2.example include:s3.example include:_spf.google.com ~all"],
      lookUp: Self.dns(zone))
    #expect(check.status == .warn)
    #expect(check.detail.hasSuffix("it needs 13 DNS look-ups (include, a, mx, ptr, exists, redirect, nested ones counted), more than the 10 receivers allow (RFC 7208 §4.6.4)"), "\(check.detail)")
    #expect(check.fix == "bring the look-ups down to 10: drop includes no longer used, or list their addresses (ip4:, ip6:) instead")
  }

  @Test("SPF: an include without a record is flagged; one that cannot be looked up is named; loops end")
  func spfBrokenIncludes() {
    let missing = DomainRecords.spf(
      domain: "example.com", records: ["v=spf1 include:gone.example include:_spf.google.com ~all"], lookUp: Self.dns())
    #expect(missing.status == .warn)
    #expect(missing.detail.hasSuffix("include:gone.example has no single SPF record, which receivers treat as an error"))
    #expect(missing.fix == "remove or fix include:gone.example")
    let unreachable = DomainRecords.spf(
      domain: "example.com", records: ["v=spf1 include:slow.example ~all"], lookUp: Self.dns(failing: ["slow.example"]))
    #expect(unreachable.status == .warn)
    #expect(unreachable.detail.hasSuffix("include:slow.example could not be looked up, so the record could not be checked whole (DNS look-ups counted so far: 1)"))
    // After a failed look-up the others are not waited for, and the result is not ok.
    var asked: [String] = []
    let failedOnce = DomainRecords.spf(
      domain: "example.com", records: ["v=spf1 include:slow.example include:other.example include:_spf.google.com ~all"],
      lookUp: { name in
        asked.append(name)
        if name == "slow.example" { throw LookUpFailure() }
        return []
      })
    #expect(asked == ["slow.example"])
    #expect(failedOnce.status == .warn)
    #expect(failedOnce.detail.contains("include:slow.example, include:other.example, include:_spf.google.com could not be looked up"), "\(failedOnce.detail)")
    // A loop: receivers run past their limit and stop with an error.
    let loop = DomainRecords.spf(
      domain: "example.com", records: ["v=spf1 include:a.example ~all"],
      lookUp: Self.dns(["a.example": ["v=spf1 include:b.example"], "b.example": ["v=spf1 include:a.example include:_spf.google.com"]]))
    #expect(loop.status == .warn, "\(loop.detail)")
    #expect(loop.detail.contains("include:a.example includes a record that includes it again"), "\(loop.detail)")
    #expect(loop.fix == "break the include loop")
    let macro = DomainRecords.spf(
      domain: "example.com", records: ["v=spf1 include:%{d}.spf.example include:_spf.google.com ~all"], lookUp: Self.dns())
    #expect(macro.status == .ok, "\(macro.detail)")
  }

  @Test("SPF: a record included twice is counted twice, as receivers evaluate it twice")
  func spfDiamond() {
    let zone = [
      "x.example": ["v=spf1 include:s.example"], "y.example": ["v=spf1 include:s.example"],
      "s.example": ["v=spf1 a mx exists:%{i}.s.example"],
    ]
    let check = DomainRecords.spf(
      domain: "example.com", records: ["v=spf1 include:x.example include:y.example include:_spf.google.com ~all"],
      lookUp: Self.dns(zone))
    // x, y, google (3) + s twice (2 × 4) + google's three = 14
    #expect(check.status == .warn && check.detail.contains("it needs 14 DNS look-ups"), "\(check.detail)")
  }

  @Test("SPF: terms after all are never evaluated, and redirect is ignored beside all (RFC 7208 §6.1)")
  func spfAfterAll() {
    let redirect = DomainRecords.spf(domain: "e.com", records: ["v=spf1 -all redirect=_spf.google.com"], lookUp: Self.dns())
    #expect(redirect.status == .warn && redirect.detail.contains("does not include _spf.google.com"), "\(redirect.detail)")
    let late = DomainRecords.spf(domain: "e.com", records: ["v=spf1 mx -all include:_spf.google.com"], lookUp: Self.dns())
    #expect(late.status == .warn && late.detail.contains("does not include _spf.google.com"), "\(late.detail)")
    #expect(late.fix == "publish instead: \"v=spf1 mx include:_spf.google.com -all\"")
  }

  @Test("SPF: one record including Google is ok, case aside")
  func spfOK() {
    let check = DomainRecords.spf(domain: "example.com", records: ["google-site-verification=x", "v=spf1 include:_spf.google.com ~all"], lookUp: Self.dns())
    #expect(check == DoctorCheck("spf", .ok, "example.com: \"v=spf1 include:_spf.google.com ~all\", 4 DNS look-ups"))
    #expect(DomainRecords.spf(domain: "e.com", records: ["V=SPF1 mx Include:_SPF.Google.com -ALL"], lookUp: Self.dns()).status == .ok)
    #expect(DomainRecords.spf(domain: "e.com", records: ["v=spf1 redirect=_spf.google.com"], lookUp: Self.dns()).status == .ok)
  }

  @Test("SPF: none is a warning with the record to publish; v=spf10 is not SPF")
  func spfMissing() {
    for records in [[], ["v=spf10 include:_spf.google.com"], ["v=DMARC1; p=none"]] {
      #expect(
        DomainRecords.spf(domain: "example.com", records: records, lookUp: Self.dns())
          == DoctorCheck(
            "spf", .warn, "example.com has no SPF record",
            fix: "publish a TXT record at example.com: \"v=spf1 include:_spf.google.com ~all\""))
    }
  }

  @Test("SPF: two records fail (RFC 7208 permerror)")
  func spfMultiple() {
    let check = DomainRecords.spf(domain: "example.com", records: ["v=spf1 include:_spf.google.com ~all", "v=spf1 mx -all"], lookUp: Self.dns())
    #expect(check.status == .fail)
    #expect(check.detail == "example.com has 2 SPF records; receivers treat that as an error (RFC 7208 §4.5)")
  }

  @Test("SPF: without Google's include, the include is added before the all term")
  func spfWithoutGoogle() {
    let check = DomainRecords.spf(domain: "example.com", records: ["v=spf1 mx -all"], lookUp: Self.dns())
    #expect(check.status == .warn)
    #expect(check.detail.contains("does not include _spf.google.com"))
    #expect(check.fix == "publish instead: \"v=spf1 mx include:_spf.google.com -all\"")
    #expect(DomainRecords.spf(domain: "e.com", records: ["v=spf1 mx"], lookUp: Self.dns()).fix == "publish instead: \"v=spf1 mx include:_spf.google.com\"")
  }

  @Test("SPF: +all and a bare all are flagged and replaced by ~all")
  func spfPlusAll() {
    let plus = DomainRecords.spf(domain: "example.com", records: ["v=spf1 +all"], lookUp: Self.dns())
    #expect(plus.status == .warn)
    #expect(plus.detail == "example.com: \"v=spf1 +all\": it ends in +all, which lets any server send as example.com; "
      + "it does not include _spf.google.com, so mail sent through Google can fail SPF")
    #expect(plus.fix == "publish instead: \"v=spf1 include:_spf.google.com ~all\"")
    let bare = DomainRecords.spf(domain: "example.com", records: ["v=spf1 include:_spf.google.com all"], lookUp: Self.dns())
    #expect(bare.status == .warn && bare.fix == "publish instead: \"v=spf1 include:_spf.google.com ~all\"")
    #expect(DomainRecords.spf(domain: "e.com", records: ["v=spf1 include:_spf.google.com ?all"], lookUp: Self.dns()).status == .ok)
  }

  // MARK: DKIM

  static let rsa512 = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBANiUDIJ/xbdx/xIBSVk6TovdKWU9aAxC1FViuYK2EmEWPMR15aVi90kgwtfSH9EwtOYUKx1wvGhLqlXPk5GUFnsCAwEAAQ=="
  static let rsa1024 = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCzQhoV02Bs/Cp6tTOhNXQnyLA8BkV8N0hcp2KyfIRC6zIt0S+Nsj4+ZGBtVY08oADIOJNjWlyVLbBlC872A2RZUcixZEs2Rd/vtyeTEWwk7IsZFRQdi6Z6XtgGbSbpPhGkTj6tbpg691HqVFN9Db3ZwqcL57OvaW4QDCaAEkfIRwIDAQAB"
  static let rsa2048 = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA5FidcAl4dS8w617+B7gM9irayiL4eUYP7r7TKAd7qWoG9V1TQY+bVgc7J67xka57BdieJo/u0QP2nIgokcSJ3kZItkjmqjqtiPvMR8IPxT8NZq78oAZsIdTSUcKEmIc1dFjGoC+cin+Y0u5wc/Naz/B0BPD/vBE1in5YP1yFBrq2bMBEtz1WAJ4xgj64uZLD34vQ3lBl+KUqz5xrV3RvqXWTrubVhgUwnYEN+yT/BTdGdXKTtJmsUcPKRwwP7gKYs1OeBEG5Eh7+0pUDlXLCkRrla6+eLHfpoXcmMaXWTDNkV26KUvttuIgYS065niQD+qQ8p6TNDDR6tQVLlkGh/QIDAQAB"

  @Test("DKIM: a key at google._domainkey with its approximate size")
  func dkimOK() {
    #expect(
      DomainRecords.dkim(domain: "example.com", records: ["v=DKIM1; k=rsa; p=\(Self.rsa2048)"])
        == DoctorCheck("dkim", .ok, "google._domainkey.example.com: RSA key of about 2048 bits"))
    #expect(DomainRecords.dkim(domain: "e.com", records: ["v=DKIM1;p=\(Self.rsa1024)"]).detail.hasSuffix("about 1024 bits"))
    #expect(DomainRecords.dkim(domain: "e.com", records: ["v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="]).status == .ok)
    // A key split over strings may carry spaces after joining.
    let spaced = "v=DKIM1; k=rsa; p=" + Self.rsa2048.prefix(100) + " " + Self.rsa2048.dropFirst(100)
    #expect(DomainRecords.dkim(domain: "e.com", records: [spaced]).status == .ok)
  }

  @Test("DKIM: missing, not a key, revoked, not base64, too short: each a warning")
  func dkimProblems() {
    let cases: [([String], String)] = [
      ([], "no DKIM key at google._domainkey.example.com"),
      (["k=rsa; p=\(Self.rsa2048)"], "the TXT record at google._domainkey.example.com is not a DKIM key (no v=DKIM1)"),
      (["v=DKIM1; k=rsa; p="], "the DKIM key at google._domainkey.example.com is revoked (empty p=)"),
      (["v=DKIM1; p=not*base64"], "the DKIM key at google._domainkey.example.com is not valid base64"),
      (["v=DKIM1; p=\(Self.rsa512)"], "google._domainkey.example.com: RSA key of about 512 bits, too short"),
    ]
    for (records, detail) in cases {
      let check = DomainRecords.dkim(domain: "example.com", records: records)
      #expect(check.status == .warn && check.detail == detail)
      #expect(check.fix?.contains("Authenticate email") == true)
    }
  }

  // MARK: DMARC

  @Test("DMARC: one record, its policy reported")
  func dmarcOK() {
    #expect(
      DomainRecords.dmarc(domain: "example.com", records: ["v=DMARC1; p=reject; rua=mailto:d@example.com"])
        == DoctorCheck("dmarc", .ok, "_dmarc.example.com: p=reject"))
    #expect(DomainRecords.dmarc(domain: "e.com", records: ["v=DMARC1;p=none", "unrelated"]).detail == "_dmarc.e.com: p=none (monitoring only)")
  }

  @Test("DMARC: none warns with a record to publish; two fail; no p= warns")
  func dmarcProblems() {
    let none = DomainRecords.dmarc(domain: "example.com", records: ["v=spf1 -all"])
    #expect(none.status == .warn)
    #expect(none.fix == "publish a TXT record at _dmarc.example.com: \"v=DMARC1; p=none; rua=mailto:postmaster@example.com\"")
    #expect(DomainRecords.dmarc(domain: "e.com", records: ["v=DMARC1; p=none", "v=DMARC1; p=reject"]).status == .fail)
    #expect(DomainRecords.dmarc(domain: "e.com", records: ["v=DMARC1; rua=mailto:x@e.com"]).detail == "_dmarc.e.com has no p= policy")
    #expect(DomainRecords.dmarc(domain: "e.com", records: ["v=DMARC10; p=none"]).detail.hasPrefix("no DMARC record"))
  }

  // MARK: Which step a failed session is blamed on

  static let account = Account(name: "alice", from: "alice@example.com", auth: .password, host: "smtp.example.com", port: 587, tls: .starttls)

  /// The session's steps, written as their transcript lines for brevity.
  static func stages(_ lines: [String]) -> SessionStages {
    let stages = SessionStages()
    for line in lines {
      let text = String(line.dropFirst(3))
      if line.hasPrefix("connected to ") {
        stages.note(.connected(relay: String(line.dropFirst(13))))
      } else if line.hasPrefix("TLS ") {
        stages.note(.tls(String(line.dropFirst(4))))
      } else if line.hasPrefix("C: ") {
        stages.note(.command(verb: text.prefix { $0 != " " }.uppercased(), line: text))
      } else {
        stages.note(.reply(SMTPReply(code: Int(text.prefix(3)) ?? 0, lines: [String(text.dropFirst(4))])))
      }
    }
    return stages
  }

  /// A failure known only by its text.
  struct Said: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
  }

  static func statuses(_ checks: [DoctorCheck]) -> [String] { checks.map { "\($0.name) \($0.status.rawValue)" } }

  @Test("no connection: tcp fails, tls and smtp are skipped")
  func blameTCP() {
    let checks = Self.stages([]).failureChecks(Said("cannot connect"), account: Self.account, heloName: "h.example.com")
    #expect(Self.statuses(checks) == ["tcp fail", "tls skip", "smtp skip"])
    #expect(checks[0].detail == "cannot connect" && checks[0].fix?.contains("port 587") == true)
  }

  @Test("a failure after STARTTLS, or with STARTTLS not offered, is TLS's")
  func blameTLS() {
    let handshake = Self.stages(["connected to h[192.0.2.1]:587", "S: 220 hi", "C: EHLO h.example.com", "S: 250-hi", "S: 250 STARTTLS", "C: STARTTLS", "S: 220 go"])
    #expect(Self.statuses(handshake.failureChecks(Said("bad cert"), account: Self.account, heloName: "h")) == ["tcp ok", "tls fail", "smtp skip"])
    let notOffered = Self.stages(["connected to h[192.0.2.1]:587", "S: 220 hi", "C: EHLO h.example.com", "S: 250 hi"])
    #expect(Self.statuses(notOffered.failureChecks(Said("no STARTTLS"), account: Self.account, heloName: "h")) == ["tcp ok", "tls fail", "smtp skip"])
    var implicit = Self.account
    implicit.tls = .implicit
    #expect(Self.statuses(Self.stages(["connected to h[192.0.2.1]:465"]).failureChecks(Said("x"), account: implicit, heloName: "h")) == ["tcp ok", "tls fail", "smtp skip"])
  }

  @Test("an EHLO name the server refuses gets the helo fix")
  func blameHELO() {
    let stages = Self.stages(["connected to h[192.0.2.1]:587", "S: 220 hi", "C: EHLO localhost", "S: 421 4.7.0 Try again later, closing connection. (EHLO)"])
    let refusal = DeliveryFailure.from(
      SMTPFailure.rejected(SMTPReply(code: 421, lines: ["4.7.0 Try again later, closing connection. (EHLO)"]), during: .ehlo))
    let checks = stages.failureChecks(refusal, account: Self.account, heloName: "localhost")
    #expect(Self.statuses(checks) == ["tcp ok", "tls skip", "smtp fail"])
    #expect(checks[2].fix == "set helo = \"host.example.com\" (this machine's public FQDN; now 'localhost') in [account.alice]")
  }

  @Test("AUTH refused after TLS: tls ok with its version, smtp fails with the password fix")
  func blameAUTH() {
    let stages = Self.stages([
      "connected to h[192.0.2.1]:587", "S: 220 hi", "C: EHLO h", "S: 250 STARTTLS", "C: STARTTLS", "S: 220 go",
      "TLS TLSv1.3 TLS_AES_256_GCM_SHA384", "C: EHLO h", "S: 250 AUTH PLAIN", "C: AUTH PLAIN <redacted>", "S: 535 5.7.8 no",
    ])
    let checks = stages.failureChecks(Said("authentication failed"), account: Self.account, heloName: "h")
    #expect(Self.statuses(checks) == ["tcp ok", "tls ok", "smtp fail"])
    #expect(checks[1].detail == "TLSv1.3 TLS_AES_256_GCM_SHA384, certificate verified for smtp.example.com")
    #expect(checks[2].fix?.contains("app password") == true)
  }

  @Test("a refused greeting is the server's: smtp fails, tls skipped")
  func blameGreeting() {
    let checks = Self.stages(["connected to h[192.0.2.1]:587", "S: 554 go away"]).failureChecks(Said("refused"), account: Self.account, heloName: "h")
    #expect(Self.statuses(checks) == ["tcp ok", "tls skip", "smtp fail"])
  }

  // MARK: Files, credentials, EHLO name

  /// A private directory, removed at the end of the test.
  final class TempDir {
    let path: String
    init() throws {
      var template = Array("/tmp/gsendmail-doctor-XXXXXX".utf8CString)
      guard mkdtemp(&template) != nil else { throw ConfigError.unreadable(path: "/tmp", reason: "mkdtemp") }
      path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    deinit { _ = system("rm -rf '\(path)'") }

    @discardableResult
    func write(_ name: String, _ text: String, mode: mode_t = 0o600) -> String {
      let file = path + "/" + name
      let dir = String(file[..<(file.lastIndex(of: "/") ?? file.endIndex)])
      _ = system("mkdir -p '\(dir)'")
      let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, mode)
      _ = Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
      close(fd)
      chmod(file, mode)
      return file
    }
  }

  static let now = 1_800_000_000

  static func doctor(_ dir: TempDir) -> Doctor {
    let environment = Environment(
      variables: ["XDG_STATE_HOME": dir.path + "/state"], uid: getuid(), gid: getgid(), userName: "alice", home: dir.path,
      hostName: "host.example.org", now: { (Self.now, 0) }, randomBytes: { [UInt8](repeating: 1, count: $0) })
    return Doctor(environment: environment)
  }

  static func config(_ dir: TempDir, _ account: String) throws -> Configuration {
    try ConfigParser.parse("[account.alice]\nfrom = \"alice@example.com\"\n" + account, path: dir.path + "/config.toml", home: dir.path)
  }

  @Test("password_file: ok with its mode; readable by others fails with chmod; missing fails")
  func passwordFile() throws {
    let dir = try TempDir()
    let pw = dir.write("pw", "secret\n")
    let doctor = Self.doctor(dir)
    var config = try Self.config(dir, "auth = \"password\"\npassword_file = \"\(pw)\"\n")
    #expect(doctor.fileChecks(config.accounts[0], config: config) == [DoctorCheck("password_file", .ok, "\(pw), mode 0600")])
    #expect(doctor.credentialsCheck(config.accounts[0], config: config).check.status == .ok)
    chmod(pw, 0o644)
    let open = doctor.fileChecks(config.accounts[0], config: config)
    #expect(open == [DoctorCheck("password_file", .fail, "\(pw) can be read or written by others", fix: "chmod 600 \(pw) (or, for the system account, chown :gsendmail \(pw) and chmod 640 \(pw))")])
    config.accounts[0].passwordFile = dir.path + "/none"
    #expect(doctor.fileChecks(config.accounts[0], config: config)[0].status == .fail)
    let credentials = doctor.credentialsCheck(config.accounts[0], config: config)
    #expect(credentials.check.status == .fail && !credentials.usable)
    #expect(!credentials.check.detail.contains("secret"))
  }

  @Test("password_command: a failing command fails with its stderr, never the password")
  func passwordCommand() throws {
    let dir = try TempDir()
    let doctor = Self.doctor(dir)
    let good = try Self.config(dir, "auth = \"password\"\npassword_command = \"echo hunter2\"\n")
    let ok = doctor.credentialsCheck(good.accounts[0], config: good)
    #expect(ok.usable && ok.check == DoctorCheck("credentials", .ok, "a password can be read from password_command"))
    let bad = try Self.config(dir, "auth = \"password\"\npassword_command = \"echo locked >&2; exit 2\"\n")
    let failed = doctor.credentialsCheck(bad.accounts[0], config: bad)
    #expect(!failed.usable && failed.check.status == .fail && failed.check.detail.contains("locked"))
  }

  @Test("OAuth: no token warns and AUTH is not tried; a valid token is ok; an open cache fails")
  func tokens() throws {
    let dir = try TempDir()
    var doctor = Self.doctor(dir)
    doctor.refreshAccessToken = nil
    let config = try Self.config(dir, "auth = \"oauth\"\nclient_id = \"id\"\n")
    let account = config.accounts[0]
    let none = doctor.credentialsCheck(account, config: config)
    #expect(!none.usable)
    #expect(none.check == DoctorCheck("credentials", .warn, "no access token; AUTH is not tried", fix: "run gsendmailctl login alice"))

    let cache = dir.write("state/gsendmail/tokens/alice.json", #"{"refresh_token":"1//r","access_token":"ya29.a","expires_at":\#(Self.now + 1800)}"#)
    let valid = doctor.credentialsCheck(account, config: config)
    #expect(valid.usable && valid.check == DoctorCheck("credentials", .ok, "the cached access token is valid for 30 more minutes"))
    #expect(doctor.fileChecks(account, config: config) == [DoctorCheck("token cache", .ok, "\(cache), mode 0600")])

    dir.write("state/gsendmail/tokens/alice.json", #"{"refresh_token":"1//r","access_token":"ya29.a","expires_at":\#(Self.now - 10)}"#)
    let expired = doctor.credentialsCheck(account, config: config)
    #expect(!expired.usable && expired.check.detail == "the access token has expired (a refresh token is cached); AUTH is not tried")

    doctor.refreshAccessToken = { _, _ in TokenStore.Refresh(expiresAt: Self.now + 3600, scope: nil) }
    let refreshed = doctor.credentialsCheck(account, config: config)
    #expect(refreshed.usable && refreshed.check == DoctorCheck("credentials", .ok, "access token refreshed, valid for 60 minutes"))
    doctor.refreshAccessToken = { _, _ in throw TokenError.loginRefused("invalid_grant") }
    let rejected = doctor.credentialsCheck(account, config: config)
    #expect(!rejected.usable && rejected.check.status == .fail && rejected.check.detail == "token refresh failed: invalid_grant")

    chmod(cache, 0o644)
    #expect(doctor.credentialsCheck(account, config: config).check.status == .fail)
    #expect(doctor.fileChecks(account, config: config)[0].fix?.hasPrefix("chmod 600 \(cache) (or, for the system account, chown :gsendmail") == true)
  }

  @Test("OAuth: the grant is tried even with a usable cached token; the granted scope is checked")
  func grantAlwaysTried() throws {
    let dir = try TempDir()
    var doctor = Self.doctor(dir)
    let config = try Self.config(dir, "auth = \"oauth\"\nclient_id = \"id\"\n")
    let account = config.accounts[0]
    dir.write("state/gsendmail/tokens/alice.json", #"{"refresh_token":"1//r","access_token":"ya29.a","expires_at":\#(Self.now + 1800)}"#)
    var calls = 0
    doctor.refreshAccessToken = { _, _ in
      calls += 1
      return TokenStore.Refresh(expiresAt: Self.now + 3600, scope: "https://mail.google.com/ openid")
    }
    let ok = doctor.credentialsCheck(account, config: config)
    #expect(calls == 1)
    // The refresh token's age, when the cache knows it.
    for (days, text) in [
      (3, "; refresh token 3 days old (a client left in \"Testing\" loses it after 7 days)"),
      (9, "; refresh token 9 days old, so the OAuth client is not one limited to 7 days"),
    ] {
      dir.write(
        "state/gsendmail/tokens/alice.json",
        #"{"refresh_token":"1//r","access_token":"ya29.a","expires_at":\#(Self.now + 1800),"refresh_token_issued_at":\#(Self.now - days * 86400 - 60)}"#)
      let dated = doctor.credentialsCheck(account, config: config)
      #expect(dated.check.detail == "access token refreshed, valid for 60 minutes" + text + "; scope https://mail.google.com/ openid")
    }
    dir.write("state/gsendmail/tokens/alice.json", #"{"refresh_token":"1//r","access_token":"ya29.a","expires_at":\#(Self.now + 1800)}"#)
    #expect(ok.usable && ok.check == DoctorCheck("credentials", .ok, "access token refreshed, valid for 60 minutes; scope https://mail.google.com/ openid"))

    doctor.refreshAccessToken = { _, _ in
      TokenStore.Refresh(expiresAt: Self.now + 3600, scope: "https://www.googleapis.com/auth/gmail.send")
    }
    let narrow = doctor.credentialsCheck(account, config: config)
    #expect(narrow.check.status == .fail)
    #expect(narrow.check.detail.hasSuffix("scope https://www.googleapis.com/auth/gmail.send, without https://mail.google.com/, which SMTP needs"))
    #expect(narrow.check.fix == "run gsendmailctl login alice and allow access to Gmail (it asks for https://mail.google.com/)")

    // A dead refresh token fails even while the cached access token still works.
    doctor.refreshAccessToken = { _, _ in throw TokenError.loginRefused("invalid_grant") }
    let revoked = doctor.credentialsCheck(account, config: config)
    #expect(revoked.usable && revoked.check.status == .fail && revoked.check.fix == "run gsendmailctl login alice")
    // A cache that cannot be written is the cache's problem, not the grant's.
    doctor.refreshAccessToken = { _, _ in throw TokenError.cacheWrite(path: "/x/alice.json", reason: "Permission denied") }
    let unwritable = doctor.credentialsCheck(account, config: config)
    #expect(unwritable.usable && unwritable.check.status == .fail)
    #expect(unwritable.check.fix?.hasPrefix("check the owner and mode of ") == true, "\(unwritable.check)")
    // The endpoint out of reach: a warning while the cached token lasts.
    doctor.refreshAccessToken = { _, _ in throw TokenError.login("token endpoint unreachable") }
    let unreachable = doctor.credentialsCheck(account, config: config)
    #expect(unreachable.usable)
    #expect(
      unreachable.check == DoctorCheck(
        "credentials", .warn, "token refresh failed: token endpoint unreachable; the cached access token is valid for 30 more minutes",
        fix: "try again later"))
  }

  @Test("System token cache: one not owned by root, or in the older form, is a warning with the fix")
  func systemCacheOwnership() throws {
    let dir = try TempDir()
    let config = try Self.config(dir, "auth = \"oauth\"\nclient_id = \"id\"\n")
    let account = config.accounts[0]
    let json = Array(#"{"refresh_token":"r","access_token":"a","expires_at":1}"#.utf8)
    let slotted = try #require(CacheSlots.file(json))
    #expect(Doctor.systemCacheProblem(path: "/t/alice.json", owner: 0, bytes: slotted, account: account) == nil)
    let foreign = try #require(Doctor.systemCacheProblem(path: "/t/alice.json", owner: 1000, bytes: slotted, account: account))
    #expect(foreign.status == .warn && foreign.detail.contains("uid 1000, not root"))
    #expect(foreign.fix == "as root, gsendmailctl logout alice then gsendmailctl login alice")
    let older = try #require(Doctor.systemCacheProblem(path: "/t/alice.json", owner: 0, bytes: json, account: account))
    #expect(older.status == .warn && older.fix == "run gsendmailctl doctor alice as root once")
  }

  @Test("EHLO name: checked for the relay and for auth none only")
  func helo() throws {
    let dir = try TempDir()
    let doctor = Self.doctor(dir)
    for (name, status) in [("localhost", DoctorCheck.Status.warn), ("[192.0.2.1]", .warn), ("192.0.2.1", .warn), ("host", .warn), ("mx.example.com", .ok)] {
      let config = try Self.config(dir, "route = \"relay\"\nauth = \"none\"\nhelo = \"\(name)\"\n")
      #expect(doctor.heloCheck(config.accounts[0])?.status == status, "\(name)")
    }
    let gmail = try Self.config(dir, "auth = \"oauth\"\nclient_id = \"id\"\n")
    #expect(doctor.heloCheck(gmail.accounts[0]) == nil)
    let defaulted = try Self.config(dir, "route = \"relay\"\nauth = \"none\"\n")
    #expect(doctor.heloCheck(defaulted.accounts[0]) == DoctorCheck("helo", .ok, "EHLO name host.example.org"))
  }

  @Test("a configuration that cannot be loaded, and an unknown account, end the run with a failure")
  func configFailures() throws {
    let dir = try TempDir()
    var doctor = Self.doctor(dir)
    doctor.configFile = dir.path + "/missing.toml"
    let sink = CaptureSink()
    let sections = doctor.run(output: sink)
    #expect(DoctorReport.failed(sections))
    #expect(sink.text == DoctorReport.render(sections))
    #expect(sections[0].checks[0].detail.contains("missing.toml"))

    doctor.configFile = dir.write("config.toml", "[account.alice]\nfrom = \"alice@example.com\"\nauth = \"none\"\n")
    doctor.accountName = "bob"
    let unknown = doctor.run(output: CaptureSink())
    #expect(Self.statuses(unknown[0].checks) == ["config ok", "account fail"])
  }
}
