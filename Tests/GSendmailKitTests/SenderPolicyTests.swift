// SPDX-License-Identifier: MIT
// Who may send as whom through the system configuration: the pure decision, the
// configuration keys, and the envelope and header a Submission ends up with.

import MessageCore
import Testing

@testable import GSendmailCore
@testable import GSendmailKit

@Suite("Sender policy")
struct SenderPolicyTests {
  static let text = """
    trusted_users = ["deploy", "@admins"]
    default = "fixed"

    [account.fixed]
    from = "noreply@example.com"

    [account.company]
    from = "*@example.com"
    auth = "service-account"
    service_account_file = "/etc/gsendmail/key.json"
    allowed_senders = { "www-data" = ["web@example.com"], "*" = ["%u@example.com"], "ops" = ["*@ops.example.com"] }

    [account.closed]
    from = "*@closed.example.com"
    """

  static func config(system: Bool = true) throws -> Configuration {
    try ConfigParser.parse(text, path: "/etc/gsendmail/config.toml", home: "/root", isSystem: system)
  }

  static func policy(_ name: String, uid: UInt32 = 1000, groups: [String] = [], system: Bool = true) throws -> SenderPolicy {
    SenderPolicy(caller: Caller(uid: uid, name: name, groups: [name] + groups), config: try config(system: system))
  }

  @Test("the keys are read")
  func keys() throws {
    let config = try Self.config()
    #expect(config.trustedUsers == ["deploy", "@admins"])
    #expect(config.account(named: "company")?.allowedSenders["www-data"] == ["web@example.com"])
    #expect(config.account(named: "fixed")?.allowedSenders == [:])
  }

  @Test("bad values name the key", arguments: [
    "trusted_users = \"deploy\"", "trusted_users = [\"a b\"]", "trusted_users = [\"@\"]", "trusted_users = [1]",
  ])
  func badTrusted(line: String) {
    #expect(throws: ConfigError.self) {
      try ConfigParser.parse(line + "\n[account.a]\nfrom = \"a@example.com\"\n", path: "c", home: "/")
    }
  }

  @Test("bad grants name the key", arguments: [
    "allowed_senders = [\"a@example.com\"]", "allowed_senders = { \"a b\" = [\"a@example.com\"] }",
    "allowed_senders = { \"u\" = \"a@example.com\" }", "allowed_senders = { \"u\" = [\"nobody\"] }",
    "allowed_senders = { \"u\" = [\"a*@example.com\"] }",
  ])
  func badGrants(line: String) {
    #expect(throws: ConfigError.self) {
      try ConfigParser.parse("[account.a]\nfrom = \"a@example.com\"\n" + line + "\n", path: "c", home: "/")
    }
  }

  @Test("root, trusted users and trusted groups may choose any sender; so may anyone with their own config")
  func unrestricted() throws {
    #expect(try Self.policy("root", uid: 0).isUnrestricted)
    #expect(try Self.policy("deploy").isUnrestricted)
    #expect(try Self.policy("carol", groups: ["admins"]).isUnrestricted)
    #expect(try Self.policy("mallory", system: false).isUnrestricted)
    #expect(try !Self.policy("mallory").isUnrestricted)
    #expect(try !Self.policy("mallory", groups: ["deploy"]).isUnrestricted)
    let company = try #require(try Self.config().account(named: "company"))
    try Self.policy("deploy").check(account: company, sender: "ceo@example.com", headerFrom: ["ceo@example.com"])
  }

  @Test("what each caller may use", arguments: [
    ("www-data", "company", "web@example.com", true),
    ("www-data", "company", "WEB@example.com", true),
    ("www-data", "company", "www-data@example.com", true),
    ("www-data", "company", "ceo@example.com", false),
    ("tester", "company", "tester@example.com", true),
    ("tester", "company", "ceo@example.com", false),
    ("tester", "company", "web@example.com", false),
    ("ops", "company", "alerts@ops.example.com", true),
    ("ops", "company", "alerts@example.com", false),
    ("tester", "fixed", "noreply@example.com", true),
    ("tester", "fixed", "ceo@example.com", false),
    ("tester", "closed", "tester@closed.example.com", false),
  ])
  func permits(user: String, account: String, address: String, allowed: Bool) throws {
    let policy = try Self.policy(user)
    let chosen = try #require(try Self.config().account(named: account))
    #expect(policy.permits(address, on: chosen) == allowed)
    if allowed {
      try policy.check(account: chosen, sender: address, headerFrom: [address])
    } else {
      #expect(throws: SenderRefused.self) { try policy.check(account: chosen, sender: address, headerFrom: []) }
      #expect(throws: SenderRefused.self) {
        try policy.check(account: chosen, sender: "", headerFrom: [address])
      }
    }
  }

  @Test("the refusal is one line that names the keys to change")
  func refusal() throws {
    let company = try #require(try Self.config().account(named: "company"))
    do {
      try Self.policy("tester").check(account: company, sender: "ceo@example.com", headerFrom: [])
      Issue.record("not refused")
    } catch let error as SenderRefused {
      let text = error.description
      #expect(!text.contains("\n") && text.contains("allowed_senders") && text.contains("trusted_users"))
      #expect(text.contains("<ceo@example.com>") && text.contains("[account.company]") && text.contains("tester"))
      #expect(ExitStatus.code(for: error) == .noPermission)
    }
  }

  @Test("an unreadable From: header is refused; the null sender is not")
  func unreadable() throws {
    let fixed = try #require(try Self.config().account(named: "fixed"))
    #expect(throws: SenderRefused.self) { try Self.policy("tester").check(account: fixed, sender: "", headerFrom: nil) }
    try Self.policy("tester").check(account: fixed, sender: "", headerFrom: [])
  }

  @Test("without -f the default sender is one the caller may use")
  func defaults() throws {
    let config = try Self.config()
    let company = try #require(config.account(named: "company"))
    let fixed = try #require(config.account(named: "fixed"))
    let closed = try #require(config.account(named: "closed"))
    #expect(try Self.policy("tester").defaultSender(on: company, headerFrom: nil) == "tester@example.com")
    #expect(try Self.policy("www-data").defaultSender(on: company, headerFrom: "web@example.com") == "web@example.com")
    #expect(try Self.policy("www-data").defaultSender(on: company, headerFrom: "ceo@example.com") == "www-data@example.com")
    #expect(try Self.policy("ops").defaultSender(on: company, headerFrom: nil) == "ops@example.com")
    #expect(try Self.policy("tester").defaultSender(on: fixed, headerFrom: nil) == "noreply@example.com")
    #expect(try Self.policy("tester").defaultSender(on: closed, headerFrom: nil) == nil)
  }

  // MARK: Through a submission

  static func submission(user: String, uid: UInt32 = 1000, sender: String?) throws -> Submission {
    var environment = Environment(
      variables: [:], uid: uid, gid: 1000, userName: user, home: "/home/\(user)", hostName: "host.example.com",
      now: { (1_800_000_000, 0) }, randomBytes: { [UInt8](repeating: 7, count: $0) })
    environment.groupNames = [user]
    var invocation = Invocation()
    invocation.sender = sender
    return Submission(invocation: invocation, config: try config(), aliases: AliasTable(), environment: environment, checksSender: true)
  }

  static func prepare(_ submission: Submission, header: String) throws -> PreparedMessage {
    var scanner = MessageScanner()
    try scanner.push(Array((header + "\r\n\r\nbody\r\n").utf8))
    let scanned = try scanner.finish()
    return try submission.prepare(
      scanned, envelopeSender: submission.invocation.sender, givenRecipients: ["x@example.org"], recipientsFromHeader: false)
  }

  @Test("a submission: -f or From: outside the grant is refused, the default is the granted address")
  func submissions() throws {
    #expect(throws: SenderRefused.self) {
      try Self.prepare(Self.submission(user: "tester", sender: "ceo@example.com"), header: "Subject: x")
    }
    #expect(throws: SenderRefused.self) {
      try Self.prepare(Self.submission(user: "tester", sender: nil), header: "From: CEO <ceo@example.com>")
    }
    #expect(throws: SenderRefused.self) {
      try Self.prepare(
        Self.submission(user: "tester", sender: "tester@example.com"), header: "From: tester@example.com, ceo@example.com")
    }
    let own = try Self.prepare(Self.submission(user: "tester", sender: "root"), header: "Subject: cron")
    #expect(own.sender == "noreply@example.com" && own.account.name == "fixed")
    let web = try Self.prepare(Self.submission(user: "www-data", sender: nil), header: "From: web@example.com")
    #expect(web.sender == "web@example.com" && web.account.name == "company")
    let root = try Self.prepare(Self.submission(user: "root", uid: 0, sender: "ceo@example.com"), header: "Subject: x")
    #expect(root.sender == "ceo@example.com")
  }
}
