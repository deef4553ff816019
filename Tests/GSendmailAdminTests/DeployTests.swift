// What a first deployment meets: paths in the system configuration, the example
// configuration, the advice for secret files and refused passwords, app passwords
// pasted with Google's spaces, local names without an alias, and the record of the
// last authentication failure.
import Foundation
import SMTPCore
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@testable import GSendmailCore
@testable import GSendmailAdmin
@testable import GSendmailKit

@Suite("First deployment")
struct DeployTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  @Test("~ is refused in the system configuration, naming the key; a per-user one expands it")
  func tildeInSystemConfig() throws {
    let text = "[account.a]\nfrom = \"a@example.com\"\nclient_secret_file = \"~/.config/gsendmail/client_secret.json\"\n"
    #expect(
      throws: ConfigError.invalidValue(
        path: "/etc/gsendmail/config.toml", line: 3, key: "account.a.client_secret_file",
        message: "~ is the home of whoever runs gsendmail; the system configuration needs an absolute path such as "
          + "/etc/gsendmail/client_secret.json")
    ) {
      try ConfigParser.parse(text, path: "/etc/gsendmail/config.toml", home: "/root", isSystem: true)
    }
    for key in ["password_file", "service_account_file", "tls_ca_file"] {
      #expect(throws: ConfigError.self) {
        try ConfigParser.parse(
          "[account.a]\nfrom = \"a@example.com\"\n\(key) = \"~/x\"\n", path: "/etc/gsendmail/config.toml", home: "/root",
          isSystem: true)
      }
    }
    #expect(throws: ConfigError.self) {
      try ConfigParser.parse(
        "aliases = \"~/aliases\"\n[account.a]\nfrom = \"a@example.com\"\n", path: "/etc/gsendmail/config.toml",
        home: "/root", isSystem: true)
    }
    let user = try ConfigParser.parse(text, path: "/home/a/.config/gsendmail/config.toml", home: "/home/a")
    #expect(user.accounts.first?.clientSecretFile == "/home/a/.config/gsendmail/client_secret.json")
  }

  @Test("The packaged example is a valid system configuration whose size limit is Gmail's")
  func exampleConfig() throws {
    let path = Self.root.appendingPathComponent("packaging/examples/config.toml").path
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let config = try ConfigParser.parse(text, path: "/etc/gsendmail/config.toml", home: "/root", isSystem: true)
    #expect(config.maxMessageSize == 35_882_577)
    #expect(try ConfigParser.parse("[account.a]\nfrom = \"a@example.com\"\n", path: "c", home: "/h").maxMessageSize == 35_882_577)
  }

  @Test("Secret files: per-user install lines and fixes, system ones with root:gsendmail 0640")
  func setupGuidePaths() {
    var config = Configuration(path: "/etc/gsendmail/config.toml", isSystem: true)
    let system = SetupGuide(config: config)
    #expect(
      system.installLines(from: "key.json", as: "client_secret.json")
        == ["install -m 640 -o root -g gsendmail key.json /etc/gsendmail/client_secret.json"])
    #expect(
      system.unreadableFix("/etc/gsendmail/pw", uid: 0, userName: "root")
        == "let the gsendmail group read it: chown root:gsendmail /etc/gsendmail/pw && chmod 640 /etc/gsendmail/pw")
    #expect(system.unreadableFix("/etc/gsendmail/pw", uid: 4242, userName: "alice").hasPrefix("run this as root (sudo), or add this user to group gsendmail"))
    #expect(system.oauthClientSteps(account: "a").contains("install -m 640 -o root -g gsendmail ~/Downloads/client_secret_*.json /etc/gsendmail/client_secret.json"))
    #expect(system.oauthClientSteps(account: "a").contains("client_secret_file = \"/etc/gsendmail/client_secret.json\""))
    #expect(system.oauthClientSteps(account: "a").contains("https://mail.google.com/"))
    #expect(!system.oauthClientSteps(account: "a").contains("~/.config"))
    // An account on the Gmail API route asks for gmail.send alone, with the API enabled.
    let api = system.oauthClientSteps(account: "a", apiRoute: true)
    #expect(api.contains("enable the Gmail API") && api.contains("https://www.googleapis.com/auth/gmail.send"))
    #expect(!api.contains("https://mail.google.com/"))
    config = Configuration(path: "/home/a/.config/gsendmail/config.toml", isSystem: false)
    let user = SetupGuide(config: config)
    #expect(
      user.installLines(from: "key.json", as: "client_secret.json")
        == ["mkdir -p ~/.config/gsendmail", "install -m 600 key.json ~/.config/gsendmail/client_secret.json"])
    #expect(user.unreadableFix("/home/a/pw", uid: 1000, userName: "a") == "make it yours and private: chmod 600 /home/a/pw")
  }

  @Test("An app password pasted as Google shows it loses its spaces; other passwords are kept as they are")
  func appPasswordSpaces() {
    #expect(PasswordSource.withoutGoogleSpaces("abcd efgh ijkl mnop") == "abcdefghijklmnop")
    for kept in ["abcdefghijklmnop", "correct horse battery staple", "ab cd", "abcd efgh ijkl mno1", " abcd efgh ijkl mnop"] {
      #expect(PasswordSource.withoutGoogleSpaces(kept) == kept)
    }
  }

  @Test("A refused password gets app-password advice, a refused token the login advice")
  func authenticationAdvice() {
    let reply = SMTPReply(code: 535, lines: ["5.7.8 Username and Password not accepted."])
    let password = DeliveryFailure.from(
      SMTPFailure.authenticationFailed(.init(mechanism: .plain, reply: reply, challenge: nil, afterFreshCredential: false)))
    #expect(
      "\(password)" == "authentication failed: 535 5.7.8 Username and Password not accepted.; check user and password_file, "
        + "or use an app password: turn on 2-Step Verification for the account, create one at "
        + "https://myaccount.google.com/apppasswords and put it in password_file (spaces as Google shows them are ignored)")
    #expect(!"\(password)".contains("gsendmailctl login"))
    let token = DeliveryFailure.from(
      SMTPFailure.authenticationFailed(.init(mechanism: .xoauth2, reply: reply, challenge: nil, afterFreshCredential: true)))
    #expect("\(token)".hasSuffix("; check the account, or run gsendmailctl login"))
  }

  @Test("The last authentication failure is kept beside the token cache, and cleared")
  func authFailureRecord() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gsendmail-authfail-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let record = AuthFailureRecord(time: 1_800_000_000, reason: "account 'a': invalid_grant; run 'gsendmailctl login a'")
    record.write(directory: dir + "/missing/tokens", account: "a", create: true)
    #expect(AuthFailureRecord.read(directory: dir + "/missing/tokens", account: "a") == nil)
    record.write(directory: dir, account: "a", create: true)
    #expect(AuthFailureRecord.read(directory: dir, account: "a") == record)
    #expect(record.localTime(zoneOffsetMinutes: 60) == "2027-01-15 09:00 +0100")
    AuthFailureRecord.clear(directory: dir, account: "a")
    #expect(AuthFailureRecord.read(directory: dir, account: "a") == nil)
  }

  @Test("A local name goes to an alias, then local_recipient, then the account's own address")
  func localNames() throws {
    var config = try ConfigParser.parse(
      "[account.a]\nfrom = \"alice@example.com\"\n[account.w]\nfrom = \"*@shop.example.com\"\n", path: "c", home: "/h")
    config.defaultAccount = "a"
    let environment = Environment(
      variables: [:], uid: 1000, gid: 1000, userName: "www", home: "/h", hostName: "host.example.com",
      now: { (0, 0) }, randomBytes: { Array(repeating: 7, count: $0) })
    var submission = Submission(
      invocation: Invocation(), config: config, aliases: try AliasTable(parsing: "ops: ops@example.org\n", path: "a"),
      environment: environment)
    let names = try Submission.mailboxes(given: ["root", "ops", "bob@example.org"])
    let own = submission.accountAddress(envelopeSender: nil, fields: [])
    #expect(own == "alice@example.com")
    let resolved = try submission.resolve(names, accountAddress: own)
    #expect(resolved.addresses == ["alice@example.com", "ops@example.org", "bob@example.org"] && resolved.toAccount == ["root"])
    // A pattern account: the envelope sender; the null sender has none.
    #expect(submission.accountAddress(envelopeSender: "shop@shop.example.com", fields: []) == "shop@shop.example.com")
    submission.invocation.account = "w"
    #expect(submission.accountAddress(envelopeSender: nil, fields: []) == "www@shop.example.com")
    #expect(submission.accountAddress(envelopeSender: "", fields: []) == nil)
    #expect(throws: AliasError.unresolved("root")) { try submission.resolve(names, accountAddress: nil) }
    submission.config.localRecipient = "admin@example.org"
    #expect(try submission.resolve(names, accountAddress: own).addresses.first == "admin@example.org")
  }

  @Test("doctor: group access only for the system configuration; a service account's client ID and scope")
  func doctorChecks() throws {
    let environment = Environment(
      variables: [:], uid: 0, gid: 0, userName: "root", home: "/root", hostName: "host.example.com",
      now: { (0, 0) }, randomBytes: { Array(repeating: 7, count: $0) })
    let doctor = Doctor(environment: environment)
    let account = Account(name: "a", from: "a@example.com", host: "smtp.gmail.com", port: 587, tls: .starttls)
    #expect(doctor.systemAccessCheck(account, config: Configuration(path: "/home/a/c.toml", isSystem: false)) == nil)
    if getgrnam("gsendmail") == nil {
      #expect(
        doctor.systemAccessCheck(account, config: Configuration(path: "/etc/gsendmail/config.toml", isSystem: true))
          == DoctorCheck(
            "other users", .fail, "there is no group gsendmail: only root can send through this account",
            fix: "reinstall the gsendmail package (it makes the group and its directories)"))
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gsendmail-sa-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let key = dir.appendingPathComponent("key.json").path
    try Data(
      #"{"type":"service_account","client_email":"robot@p.iam.gserviceaccount.com","client_id":"112233","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#
        .utf8
    ).write(to: URL(fileURLWithPath: key))
    var robot = account
    robot.auth = .serviceAccount
    robot.serviceAccountFile = key
    #expect(doctor.delegationCheck(account) == nil)
    #expect(
      doctor.delegationCheck(robot)
        == DoctorCheck(
          "delegation", .ok,
          "client ID 112233, scope https://mail.google.com/: both must be entered in Admin console > Security > "
            + "Access and data control > API controls > Domain-wide delegation > Add new"))
    // Delegation for the Gmail API route needs gmail.send alone.
    var apiRobot = robot
    apiRobot.route = .gmailAPI
    #expect(doctor.delegationCheck(apiRobot)?.detail.hasPrefix("client ID 112233, scope https://www.googleapis.com/auth/gmail.send:") == true)
    robot.serviceAccountFile = dir.appendingPathComponent("none.json").path
    #expect(doctor.delegationCheck(robot)?.status == .warn)
  }

  @Test("doctor: a user who may not read the system configuration is told to use root or join the group")
  func doctorUnreadableSystemConfig() {
    let error = ConfigError.systemConfigDenied(path: "/etc/gsendmail/config.toml", reason: "Permission denied")
    #expect(
      "\(error)"
        == "cannot read /etc/gsendmail/config.toml: Permission denied; run this as root (sudo), or add this user to group gsendmail")
    #expect(
      Doctor.configFailure(error)
        == DoctorCheck(
          "config", .fail, "cannot read /etc/gsendmail/config.toml: Permission denied",
          fix: "run this as root (sudo), or add this user to group gsendmail"))
    #expect(
      Doctor.configFailure(.syntax(path: "c", line: 1, column: 2, message: "x")).fix
        == "correct the file; see gsendmail.conf(5)")
  }
}
