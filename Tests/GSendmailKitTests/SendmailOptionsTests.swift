@testable import GSendmailCore
@testable import GSendmailKit
import Testing

@Suite("Sendmail command line")
struct SendmailOptionsTests {
  // MARK: The exact invocations of gsendmail(8), "Options"

  @Test("Debian cron: -FCronDaemon -i -B8BITMIME -oem USER")
  func debianCron() throws {
    let inv = try SendmailOptions.parse(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "alice"])
    #expect(inv.fullName == "CronDaemon")
    #expect(inv.ignoreDots)
    #expect(inv.bodyType == .eightBitMIME)
    #expect(inv.recipients == ["alice"])
    #expect(inv.mode == .deliver)
  }

  @Test("cronie: -FCronDaemon -i -odi -oem -oi -t -f root")
  func cronie() throws {
    let inv = try SendmailOptions.parse(["-FCronDaemon", "-i", "-odi", "-oem", "-oi", "-t", "-f", "root"])
    #expect(inv.recipientsFromHeader && inv.ignoreDots)
    #expect(inv.sender == "root")
    #expect(inv.deliveryMode == .now)
    #expect(inv.recipients.isEmpty)
  }

  @Test("PHP, git send-email, mutt, bsd-mailx, mdadm")
  func otherCallers() throws {
    #expect(try SendmailOptions.parse(["-t", "-i"]).recipientsFromHeader)
    let git = try SendmailOptions.parse(["-i", "-f", "me@example.com", "a@example.org", "b@example.org"])
    #expect(git.sender == "me@example.com" && git.recipients == ["a@example.org", "b@example.org"])
    let mutt = try SendmailOptions.parse(["-oem", "-oi", "--", "-weird@example.org", "b@example.org"])
    #expect(mutt.ignoreDots && mutt.recipients == ["-weird@example.org", "b@example.org"])
    #expect(try SendmailOptions.parse(["-i", "--", "x@example.org"]).recipients == ["x@example.org"])
    let mdadm = try SendmailOptions.parse(["-oi", "-t"])
    #expect(mdadm.ignoreDots && mdadm.recipientsFromHeader)
  }

  // MARK: Clustering and arguments

  @Test("Clustered flags and attached arguments")
  func clustering() throws {
    let inv = try SendmailOptions.parse(["-tif", "x@example.com", "-odq", "-vv", "-Cconf.toml", "-r<>"])
    #expect(inv.recipientsFromHeader && inv.ignoreDots && inv.verbose == 2)
    #expect(inv.sender == "")  // -r<> after -f: the last one wins, and <> is the null sender
    #expect(inv.deliveryMode == .queueOnly)
    #expect(inv.configFile == "conf.toml")
  }

  @Test(
    "-od options: -odi/-odf interactive, -odb background, -odq queue only, none leaves it to the configuration",
    arguments: [
      ([], DeliveryMode.configured), (["-odi"], .now), (["-odf"], .now), (["-odb"], .background),
      (["-odq"], .queueOnly), (["-o", "db"], .background), (["-odb", "-odi"], .now), (["-odi", "-odb"], .background),
      (["-odd"], .configured),
    ])
  func deliveryModes(args: [String], mode: DeliveryMode) throws {
    #expect(try SendmailOptions.parse(args + ["x@example.org"]).deliveryMode == mode)
  }

  @Test("Null sender forms", arguments: [["-f", ""], ["-f", "<>"], ["-f<>"]])
  func nullSender(args: [String]) throws {
    #expect(try SendmailOptions.parse(args).sender == "")
  }

  @Test("Options stop at the first recipient, as Postfix's sendmail does")
  func stopsAtFirstRecipient() throws {
    #expect(try SendmailOptions.parse(["a@example.org", "-t"]).recipients == ["a@example.org", "-t"])
  }

  @Test("Modes", arguments: [
    (["-bm"], Mode.deliver), (["-bp"], .listQueue), (["-bs"], .smtpServer), (["-bi"], .checkAliases),
    (["-bv", "x"], .verify), (["-q"], .runQueue), (["-q15m"], .runQueue), (["-q1h30m"], .runQueue),
    (["--help"], .help), (["--version"], .version),
  ])
  func modes(args: [String], mode: Mode) throws {
    #expect(try SendmailOptions.parse(args).mode == mode)
  }

  @Test("argv[0] picks the mode")
  func programName() {
    #expect(SendmailOptions.mode(forProgramName: "/usr/bin/mailq") == .listQueue)
    #expect(SendmailOptions.mode(forProgramName: "newaliases") == .checkAliases)
    #expect(SendmailOptions.mode(forProgramName: "/usr/sbin/sendmail") == .deliver)
    #expect(SendmailOptions.mode(forProgramName: "gsendmail") == .deliver)
  }

  @Test("Ignored options are accepted", arguments: [
    ["-oem"], ["-oep"], ["-oeq"], ["-oew"], ["-oee"], ["-oXfoo"], ["-O", "a=b"], ["-G"], ["-U"], ["-n"], ["-m"],
    ["-h", "5"], ["-A", "c"], ["-X", "/tmp/x"],
  ])
  func ignored(args: [String]) throws {
    let inv = try SendmailOptions.parse(args + ["x@example.org"])
    #expect(inv.recipients == ["x@example.org"])
  }

  @Test("DSN options")
  func dsn() throws {
    let inv = try SendmailOptions.parse(["-N", "success,failure", "-R", "hdrs", "-V", "abc123"])
    #expect(inv.dsnNotify == "SUCCESS,FAILURE" && inv.dsnReturn == "HDRS" && inv.dsnEnvelopeID == "abc123")
    #expect(try SendmailOptions.parse(["-Nnever"]).dsnNotify == "NEVER")
  }

  // MARK: Errors (exit 64)

  @Test("Bad command lines are usage errors", arguments: [
    ["-x"], ["-bd"], ["-bD"], ["-bt"], ["-bh"], ["-bH"], ["-bz"], ["-f"], ["--bogus"], ["-B", "9BIT"],
    ["-N", "sometimes"], ["-R", "all"], ["-qRexample.com"], ["-F", "Evil\r\nBcc: x@example.org"],
    ["-f", "a@example.org\nRCPT TO:<b@example.org>"], ["--dry-run=yes"], ["-V", "a=b"],
  ])
  func usageErrors(args: [String]) {
    #expect(throws: UsageError.self) { try SendmailOptions.parse(args) }
    #expect(ExitStatus.code(for: UsageError("x")) == .usage)
  }

  @Test("Unsupported -b modes say why")
  func unsupportedReason() {
    #expect(throws: UsageError("-bd is not supported: gsendmail does not run as a daemon")) {
      try SendmailOptions.parse(["-bd"])
    }
  }

  @Test("each one-letter option is in the table once, and -b (the modes) is not one of them")
  func shortLettersUnique() {
    let letters = SendmailOptions.table.map(\.name).filter { $0.utf8.count == 2 }
    #expect(Set(letters).count == letters.count && !letters.contains("-b"))
  }

  @Test("--help lists every option of the table")
  func help() {
    let help = SendmailOptions.helpText(programName: "gsendmail")
    for option in SendmailOptions.table { #expect(help.contains(option.name)) }
  }
}
