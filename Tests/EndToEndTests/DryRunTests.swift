// The exact caller invocations of SPEC §3 and the argv[0] links, through the real
// binary with --dry-run: envelope and bytes checked.
import Foundation
import Testing

@Suite("Callers and argv[0], with --dry-run")
struct DryRunTests {
  static let dir = try! Harness.tempDir("dry")
  static let config: String = {
    let path = dir.appendingPathComponent("config.toml").path
    let aliases = dir.appendingPathComponent("aliases").path
    try! Data("root: admin@example.com\npostmaster: root\nalice: alice@example.com, root\n".utf8).write(to: URL(fileURLWithPath: aliases))
    try! Data(
      """
      default = "cron"
      aliases = "\(aliases)"
      [account.cron]
      from = "cron@example.com"
      name = "Cron Daemon"
      auth = "none"
      route = "relay"
      helo = "host.example.com"
      [account.www]
      from = "*@shop.example.com"
      auth = "none"
      route = "relay"
      """.utf8
    ).write(to: URL(fileURLWithPath: path))
    return path
  }()

  /// Runs gsendmail with the config, a fixed clock is not needed: Date and Message-ID are
  /// checked by shape.
  static func run(_ args: [String], _ input: String, argv0: String? = nil) throws -> RunResult {
    try Harness.run(
      Harness.binary("gsendmail"), args, argv0: argv0, stdin: input.bytes,
      environment: ["GSENDMAIL_CONFIG": config, "USER": "www-data"])
  }

  /// Splits dry-run output into envelope lines and the message.
  static func split(_ r: RunResult) -> (envelope: [String], message: String) {
    let text = r.out
    guard let range = text.range(of: "\r\n\r\n") else { return ([], text) }
    return (text[..<range.lowerBound].components(separatedBy: "\r\n"), String(text[range.upperBound...]))
  }

  static let cronOutput = "Subject: Cron <root@host> /usr/local/bin/backup\nContent-Type: text/plain; charset=UTF-8\n\nbackup done\n.\nstill the body\n"

  @Test("Debian cron: -FCronDaemon -i -B8BITMIME -oem root")
  func debianCron() throws {
    let r = try Self.run(["--dry-run", "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"], Self.cronOutput)
    #expect(r.status == 0, "\(r.stderr)")
    let (env, msg) = Self.split(r)
    #expect(env == ["MAIL FROM:<cron@example.com> SIZE=\(msg.utf8.count)", "RCPT TO:<admin@example.com>"])
    #expect(msg.contains("From: CronDaemon <cron@example.com>\r\n"))
    #expect(msg.hasSuffix("\r\n\r\nbackup done\r\n.\r\nstill the body\r\n"))
  }

  @Test("cronie: -FCronDaemon -i -odi -oem -oi -t -f root")
  func cronie() throws {
    let input = "From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@h> true\n\nout\n"
    let r = try Self.run(["--dry-run", "-FCronDaemon", "-i", "-odi", "-oem", "-oi", "-t", "-f", "root"], input)
    #expect(r.status == 0, "\(r.stderr)")
    let (env, msg) = Self.split(r)
    // -f root is a local name: the account's address is the envelope sender.
    #expect(env == ["MAIL FROM:<cron@example.com> SIZE=\(msg.utf8.count)", "RCPT TO:<admin@example.com>"])
    #expect(msg.hasPrefix("From: root (Cron Daemon)\r\nTo: root\r\n"))
  }

  @Test("PHP mail(): -t -i, pattern account picked by From:")
  func php() throws {
    let input = "To: customer@example.org\nSubject: Order 42\nFrom: shop@shop.example.com\nBcc: audit@example.com\n\nThanks\n"
    let r = try Self.run(["--dry-run", "-t", "-i"], input)
    #expect(r.status == 0, "\(r.stderr)")
    let (env, msg) = Self.split(r)
    #expect(env == ["MAIL FROM:<shop@shop.example.com> SIZE=\(msg.utf8.count)", "RCPT TO:<customer@example.org>", "RCPT TO:<audit@example.com>"])
    #expect(!msg.contains("Bcc") && !msg.contains("audit"))
  }

  @Test("git send-email: -i -f FROM RCPT...")
  func gitSendEmail() throws {
    let input = "From: Dev <dev@shop.example.com>\nTo: list@example.org\nSubject: [PATCH] x\n\n---\n"
    let r = try Self.run(["--dry-run", "-i", "-f", "dev@shop.example.com", "list@example.org", "maint@example.org"], input)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(Self.split(r).envelope.dropFirst() == ["RCPT TO:<list@example.org>", "RCPT TO:<maint@example.org>"])
    #expect(Self.split(r).envelope.first?.hasPrefix("MAIL FROM:<dev@shop.example.com>") == true)
  }

  @Test("mutt -oem -oi -- RCPT, bsd-mailx -i -- RCPT, mdadm -oi -t", arguments: [
    (["-oem", "-oi", "--", "bob@example.org"], "Subject: m\n\nx\n"),
    (["-i", "--", "bob@example.org"], "Subject: m\n\nx\n"),
    (["-oi", "-t"], "To: bob@example.org\nSubject: m\n\nx\n"),
    (["-t"], "To: Bob <bob@example.org>\nSubject: m\n\nx\n"),
  ])
  func otherCallers(args: [String], input: String) throws {
    let r = try Self.run(["--dry-run"] + args, input)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(Self.split(r).envelope.last == "RCPT TO:<bob@example.org>")
  }

  @Test("DSN options reach MAIL FROM and RCPT TO")
  func dsnOptions() throws {
    let r = try Self.run(["--dry-run", "-N", "success,failure", "-R", "hdrs", "-V", "abc", "bob@example.org"], "Subject: x\n\ny\n")
    let (env, msg) = Self.split(r)
    #expect(env == ["MAIL FROM:<cron@example.com> SIZE=\(msg.utf8.count) RET=HDRS ENVID=abc", "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE"])
  }

  @Test("Without -i a line with a single dot ends the message")
  func dotEnds() throws {
    let r = try Self.run(["--dry-run", "bob@example.org"], "Subject: x\n\nkept\n.\ndropped\n")
    #expect(r.status == 0)
    #expect(Self.split(r).message.hasSuffix("\r\n\r\nkept\r\n"))
  }

  @Test("Added headers: From with -F, Date, Message-ID; an mbox From line dropped; Return-Path removed")
  func addedHeaders() throws {
    let r = try Self.run(["--dry-run", "-F", "Zoë Q", "bob@example.org"], "From someone Sat Jan  1 00:00:00 2000\nReturn-Path: <x@y>\nSubject: s\n\nFrom the body\n")
    let msg = Self.split(r).message
    #expect(msg.hasPrefix("Subject: s\r\nFrom: =?UTF-8?"))
    #expect(msg.contains("\r\nDate: ") && msg.contains("\r\nMessage-ID: <") && msg.contains("@example.com>\r\n"))
    #expect(!msg.contains("Return-Path") && msg.contains("\r\nFrom the body\r\n"))
  }

  @Test("The spoof case: a display name never becomes a recipient")
  func spoof() throws {
    let r = try Self.run(["--dry-run", "-t"], "To: alice@example.org <bob@example.org>\n\nx\n")
    if r.status == 0 {
      #expect(Self.split(r).envelope.dropFirst() == ["RCPT TO:<bob@example.org>"])
    } else {
      #expect(r.status == 65)
    }
    #expect(!r.out.contains("RCPT TO:<alice@example.org>"))
  }

  // MARK: argv[0]

  @Test("Linked as sendmail it delivers; as mailq it lists; as newaliases it checks aliases")
  func links() throws {
    let send = try Self.run(["--dry-run", "bob@example.org"], "Subject: x\n\ny\n", argv0: "sendmail")
    #expect(send.status == 0 && send.out.hasPrefix("MAIL FROM:<cron@example.com>"))
    let newaliases = try Self.run([], "", argv0: "newaliases")
    #expect(newaliases.status == 0 && newaliases.out.isEmpty && newaliases.stderr.isEmpty)
    let mailq = try Self.run([], "", argv0: "mailq")
    #expect(mailq.status == 0 && mailq.out.contains("Mail queue is empty"))
  }

  @Test(
    "Before any configuration exists: newaliases exits 0 and mailq says the queue is empty; sending is 78",
    .enabled(if: !FileManager.default.fileExists(atPath: "/etc/gsendmail/config.toml"), "a system configuration exists here"))
  func noConfiguration() throws {
    let home = try Harness.tempDir("noconfig")
    let environment = ["HOME": home.path]
    let newaliases = try Harness.run(Harness.binary("gsendmail"), [], argv0: "newaliases", environment: environment)
    #expect(newaliases.status == 0 && newaliases.stderr.isEmpty, "\(newaliases.stderr)")
    let mailq = try Harness.run(Harness.binary("gsendmail"), [], argv0: "mailq", environment: environment)
    #expect(mailq.status == 0 && mailq.out == "Mail queue is empty\n", "\(mailq.stderr)")
    let send = try Harness.run(Harness.binary("gsendmail"), ["bob@example.org"], stdin: "x\n".bytes, environment: environment)
    #expect(send.status == 78 && send.stderr.contains("no configuration file"), "\(send.stderr)")
    // A file named with -C that does not exist is still an error.
    let named = try Harness.run(Harness.binary("gsendmail"), ["-C", home.path + "/missing.toml"], argv0: "newaliases", environment: environment)
    #expect(named.status == 78)
  }

  @Test("newaliases finds alias loops (78) and is quiet on a good file")
  func newaliasesLoops() throws {
    let aliases = Self.dir.appendingPathComponent("loops").path
    try Data("a: b\nb: a\n".utf8).write(to: URL(fileURLWithPath: aliases))
    let config = Self.dir.appendingPathComponent("loops.toml").path
    try Data("aliases = \"\(aliases)\"\n[account.a]\nfrom = \"a@example.com\"\nauth = \"none\"\n".utf8)
      .write(to: URL(fileURLWithPath: config))
    let r = try Harness.run(Harness.binary("gsendmail"), ["-C", config], argv0: "newaliases")
    #expect(r.status == 78 && r.stderr.contains("alias loop"))
  }

  @Test("A config that is not UTF-8 is refused with its line and column (78), not guessed at")
  func configNotUTF8() throws {
    let config = Self.dir.appendingPathComponent("latin1.toml").path
    try Data(Array("[account.a]\nfrom = \"a@example.com\"\nname = \"Ren".utf8) + [0xE9] + Array("\"\nauth = \"none\"\n".utf8))
      .write(to: URL(fileURLWithPath: config))
    let r = try Harness.run(Harness.binary("gsendmail"), ["-C", config, "--dry-run", "b@example.org"], stdin: "Subject: x\n\nx\n".bytes)
    #expect(r.status == 78 && r.stderr.contains("\(config):3:12") && r.stderr.contains("invalid UTF-8"), "\(r.stderr)")
  }

  @Test("--dry-run shows the message as it would go out: a too-long line re-encoded, a multipart one refused (65)")
  func dryRunEncodes() throws {
    let long = String(repeating: "x", count: 1200)
    let plain = try Self.run(["--dry-run", "-t"], "To: bob@example.org\nSubject: long\n\n\(long)\n")
    #expect(plain.status == 0, "\(plain.stderr)")
    let message = Self.split(plain).message
    #expect(message.contains("Content-Transfer-Encoding: quoted-printable\r\n"), "\(message)")
    #expect(message.contains("MIME-Version: 1.0\r\n"))
    #expect(message.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 76 }, "\(message)")
    let multipart = try Self.run(
      ["--dry-run", "-t"],
      "To: bob@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\n\(long)\n--b--\n")
    #expect(multipart.status == 65 && multipart.out.isEmpty, "\(multipart.stderr)")
  }

  @Test("-bv resolves aliases")
  func verify() throws {
    let r = try Self.run(["-bv", "postmaster", "alice", "x@example.org"], "")
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.out == "postmaster -> admin@example.com\nalice -> alice@example.com\nalice -> admin@example.com\nx@example.org -> x@example.org\n")
  }

  // MARK: Bad input: one line, the right code, never a crash or a hang

  @Test("Bad input", arguments: [
    ("NUL byte", ["bob@example.org"], "Subject: a\n\nnul\u{0}here\n", Int32(65), "NUL"),
    ("no recipients", [], "Subject: a\n\nx\n", 65, "no recipients"),
    ("no recipients with -t", ["-t"], "Subject: a\n\nx\n", 65, "no recipients"),
    ("empty input", ["-t"], "", 65, "no recipients"),
    ("bad address", ["bob@"], "Subject: a\n\nx\n", 65, "bob@"),
    ("bad header address", ["-t"], "To: <bob@example.org\n\nx\n", 65, "To"),
    ("CR/LF in -f", ["-f", "a@example.org\r\nRCPT TO:<x@y>", "bob@example.org"], "x\n", 64, "line break"),
    ("CR/LF in -F", ["-F", "Evil\nBcc: x@y", "bob@example.org"], "x\n", 64, "line break"),
    ("local name with nowhere to go", ["--account", "www", "-f", "", "nobody"], "x\n", 67, "nobody"),
    ("unknown option", ["-Y"], "x\n", 64, "-Y"),
    ("daemon mode", ["-bd"], "", 64, "not supported"),
    ("--dry-run with -bs", ["-bs"], "", 64, "--dry-run"),
    ("--dry-run with -q", ["-q"], "", 64, "--dry-run"),
  ])
  func badInput(name: String, args: [String], input: String, code: Int32, mention: String) throws {
    let r = try Self.run(["--dry-run"] + args, input)
    #expect(r.status == code, "\(name): \(r.stderr)")
    #expect(r.stderr.hasPrefix("gsendmail: ") && r.stderr.contains(mention), "\(name): \(r.stderr)")
    #expect(r.stderr.filter { $0 == "\n" }.count == 1, "\(name): one line")
    #expect(!r.timedOut)
  }

  @Test("Header lines without a colon, a leading continuation line, binary junk: defined results")
  func oddHeaders() throws {
    for input in ["no colon here\nTo: x@example.org\n\nbody\n", " leading continuation\nTo: x@example.org\n\nb\n",
                  String(decoding: (1...255).map { UInt8($0) }, as: UTF8.self)] {
      let r = try Self.run(["--dry-run", "bob@example.org"], input)
      #expect(r.status == 0 || r.status == 65, "\(r.stderr)")
      #expect(!r.timedOut && r.status < 128)
    }
  }

  @Test("Input over max_message_size is refused before reading it all")
  func oversize() throws {
    let small = Self.dir.appendingPathComponent("small.toml").path
    try Data("max_message_size = 1000\n[account.a]\nfrom = \"a@example.com\"\nauth = \"none\"\n".utf8).write(to: URL(fileURLWithPath: small))
    let big = String(repeating: "0123456789abcdef\n", count: 4 << 20 / 17 * 16)  // ~64 MiB
    let start = Date()
    let r = try Harness.run(Harness.binary("gsendmail"), ["-C", small, "--dry-run", "bob@example.org"], stdin: big.bytes)
    #expect(r.status == 65)
    #expect(r.stderr.contains("max_message_size"))
    #expect(Date().timeIntervalSince(start) < 20)
  }
}
