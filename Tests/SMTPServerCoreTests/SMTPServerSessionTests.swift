import Codecs
import SMTPServerCore
import TestSupport
import Testing

@Suite("SMTPServerSession: commands and transactions")
struct SMTPServerSessionTests {
  static let ehloReply =
    "250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 1000\r\n"
    + "250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n"

  @Test("Greeting and EHLO list the configured extensions")
  func greetingAndEHLO() {
    var driver = Driver(policy: RecordingPolicy())
    driver.start()
    #expect(driver.take() == "220 mx.test ESMTP ready\r\n")
    driver.feed("EHLO client.example\r\n")
    #expect(driver.take() == Self.ehloReply)
    driver.feed("HELO client.example\r\n")
    #expect(driver.take() == "250 mx.test\r\n")
  }

  @Test("Verbs and keywords are ASCII: lower case is upper case, Unicode look-alikes are not")
  func asciiVerbs() throws {
    #expect(throws: SMTPCommand.ParseError.unknownVerb) { try SMTPCommand.parse(Array("MA\u{131}L FROM:<a@b.c>".utf8)) }
    #expect(throws: SMTPCommand.ParseError.unknownVerb) { try SMTPCommand.parse(Array("R\u{17F}ET".utf8)) }
    #expect(throws: SMTPCommand.ParseError.self) { try SMTPCommand.parse(Array("MAIL FROM\u{131}:<a@b.c>".utf8)) }
    #expect(try SMTPCommand.parse(Array("mail from:<a@b.c>".utf8)) == SMTPCommand.parse(Array("MAIL FROM:<a@b.c>".utf8)))
  }

  static let pipelined =
    "EHLO c.example\r\nMAIL FROM:<a@example.com> SIZE=60 BODY=8BITMIME\r\n"
    + "RCPT TO:<b@example.net>\r\nrcpt to:<c@example.net>\r\nDATA\r\n"
    + "Subject: x\r\n\r\n..leading dot\r\n..\r\n..\r\nlast\r\n.\r\nQUIT\r\n"

  @Test("A pipelined transaction with dot-stuffing", arguments: Feeding.allCases)
  func pipelinedTransaction(feeding: Feeding) {
    let policy = RecordingPolicy()
    var driver = Driver(policy: policy)
    driver.start()
    _ = driver.take()
    driver.feed(Self.pipelined, feeding)
    #expect(
      driver.take()
        == Self.ehloReply + "250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n"
        + "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 OK\r\n221 2.0.0 closing connection\r\n")
    #expect(driver.outcome.closed)
    #expect(policy.messages.count == 1)
    let message = policy.messages.first
    #expect(
      (message?.data).map { String(decoding: $0, as: UTF8.self) }
        == "Subject: x\r\n\r\n.leading dot\r\n.\r\n.\r\nlast\r\n")
    #expect(message?.envelope.mailFrom.address == "a@example.com")
    #expect(message?.envelope.mailFrom.declaredSize == 60)
    #expect(message?.envelope.mailFrom.body == .eightBitMIME)
    #expect(
      message?.envelope.mailFrom.parameters
        == [SMTPParameter("SIZE", "60"), SMTPParameter("BODY", "8BITMIME")])
    #expect(message?.envelope.recipients.map(\.address) == ["b@example.net", "c@example.net"])
  }

  @Test("Commands after the message are answered in the same pass", arguments: Feeding.allCases)
  func twoMessagesInOneChunk(feeding: Feeding) {
    let policy = RecordingPolicy()
    var driver = Driver(policy: policy)
    driver.start()
    let one = "MAIL FROM:<>\r\nRCPT TO:<x@y.example>\r\nDATA\r\nbody\r\n.\r\n"
    driver.feed("EHLO c.example\r\n" + one + one + "NOOP\r\n", feeding)
    #expect(policy.messages.map(\.data) == [Array("body\r\n".utf8), Array("body\r\n".utf8)])
    #expect(policy.messages.first?.envelope.mailFrom.address == "")
    #expect(driver.take().hasSuffix("250 2.0.0 OK\r\n250 2.0.0 OK\r\n"))
  }

  @Test("An over-long line gets 500 and the session goes on", arguments: Feeding.allCases)
  func overLongLine(feeding: Feeding) {
    var configuration = SMTPServerConfiguration.testDefault
    configuration.maxLineLength = 512
    var driver = Driver(configuration, policy: RecordingPolicy())
    driver.start()
    _ = driver.take()
    driver.feed("NOOP " + String(repeating: "x", count: 600) + "\r\nNOOP\r\n", feeding)
    #expect(driver.take() == "500 5.5.2 Line too long.\r\n250 2.0.0 OK\r\n")
    // 510 characters + CRLF = 512: just within the limit.
    driver.feed("NOOP " + String(repeating: "x", count: 505) + "\r\n", feeding)
    #expect(driver.take() == "250 2.0.0 OK\r\n")
  }

  static let badCommands: [(String, String)] = [
    ("FOO\r\n", "500 5.5.1 Unrecognized command.\r\n"),
    ("MAIL FROM:<a@b.example>\r\n", "503 5.5.1 EHLO/HELO first.\r\n"),
    ("EHLO\r\n", "501 5.5.4 Empty HELO/EHLO argument not allowed.\r\n"),
    ("DATA now\r\n", "501 5.5.4 Syntax error in parameters or arguments.\r\n"),
    ("MAIL TO:<a@b.example>\r\n", "501 5.5.4 Syntax error in parameters or arguments.\r\n"),
    ("BDAT x\r\n", "501 5.5.4 Syntax error in parameters or arguments.\r\n"),
    ("QUIT now\r\n", "501 5.5.4 Syntax error in parameters or arguments.\r\n"),
    ("STARTTLS\r\n", "502 5.5.1 Unimplemented command.\r\n"),
    ("AUTH PLAIN\r\n", "502 5.5.1 Unimplemented command.\r\n"),
  ]

  @Test("Bad commands before EHLO get 500/501/502/503", arguments: badCommands)
  func badCommand(line: String, reply: String) {
    var driver = Driver(policy: RecordingPolicy())
    driver.start()
    _ = driver.take()
    driver.feed(line)
    #expect(driver.take() == reply)
    #expect(!driver.outcome.closed)
  }

  static let badPaths = [
    "MAIL FROM:<\"Alice\" <alice@example.com>>", "MAIL FROM:alice@example.com",
    "MAIL FROM:<alice@example.com", "MAIL FROM:<alice@@example.com>",
    "MAIL FROM:<a..b@example.com>",
    "MAIL FROM:<alice@-bad.example>", "MAIL FROM:<alice@example.com>junk",
    "MAIL FROM:<al ice@example.com>", "MAIL FROM:<jörg@example.com>",
    "MAIL FROM:<" + String(repeating: "a", count: 250) + "@example.com>",
  ]

  @Test("Malformed reverse paths get the path syntax reply", arguments: badPaths)
  func badPath(line: String) {
    var driver = Driver.greeted()
    driver.feed(line + "\r\n")
    #expect(driver.take() == "501 5.1.3 Bad address syntax.\r\n")
  }

  static let goodPaths: [(String, String)] = [
    ("MAIL FROM:<a.b+tag@sub.example.com>", "a.b+tag@sub.example.com"),
    ("MAIL FROM: <a@example.com>", "a@example.com"),
    ("MAIL FROM:<\"a b\"@example.com>", "\"a b\"@example.com"),
    ("MAIL FROM:<@relay.example,@r2.example:a@example.com>", "a@example.com"),
    ("MAIL FROM:<a@[192.0.2.1]>", "a@[192.0.2.1]"),
    ("mail from:<jörg@bücher.example> SMTPUTF8", "jörg@bücher.example"),
  ]

  @Test("Valid reverse paths are accepted", arguments: goodPaths)
  func goodPath(line: String, address: String) {
    let policy = RecordingPolicy()
    var driver = Driver(policy: policy)
    driver.start()
    driver.feed("EHLO c.example\r\n" + line + "\r\nRCPT TO:<Postmaster>\r\nDATA\r\nx\r\n.\r\n")
    #expect(policy.messages.first?.envelope.mailFrom.address == address)
    #expect(policy.messages.first?.envelope.recipients.first?.address == "Postmaster")
  }

  @Test("Bare local names: refused by default (postmaster aside), accepted when configured")
  func localNames() {
    var strict = Driver.greeted()
    strict.feed("MAIL FROM:<root>\r\n")
    #expect(strict.take() == "501 5.1.3 Bad address syntax.\r\n")
    var configuration = SMTPServerConfiguration.testDefault
    configuration.acceptsLocalNames = true
    let policy = RecordingPolicy()
    var local = Driver(configuration, policy: policy)
    local.start()
    local.feed("EHLO c.example\r\nMAIL FROM:<root>\r\nRCPT TO:<backup.admin>\r\nRCPT TO:<a..b>\r\nDATA\r\nx\r\n.\r\n")
    #expect(policy.messages.first?.envelope.mailFrom.address == "root")
    #expect(policy.messages.first?.envelope.recipients.map(\.address) == ["backup.admin"])
    #expect(local.take().contains("501 5.1.3 Bad address syntax."))
  }

  @Test("Sequence errors: RCPT before MAIL, DATA before RCPT, nested MAIL, RCPT <>")
  func sequenceErrors() {
    var driver = Driver.greeted()
    driver.feed("RCPT TO:<b@example.net>\r\n")
    #expect(driver.take() == "503 5.5.1 MAIL first.\r\n")
    driver.feed("DATA\r\n")
    #expect(driver.take() == "503 5.5.1 MAIL first.\r\n")
    driver.feed("MAIL FROM:<a@example.com>\r\nDATA\r\n")
    #expect(driver.take() == "250 2.1.0 OK\r\n503 5.5.1 RCPT first.\r\n")
    driver.feed("MAIL FROM:<a@example.com>\r\n")
    #expect(driver.take() == "503 5.5.1 Sender already specified.\r\n")
    driver.feed("RCPT TO:<>\r\n")
    #expect(driver.take() == "501 5.1.3 Bad address syntax.\r\n")
    driver.feed("RCPT TO:<b@example.net> NOTIFY=NEVER\r\n")
    #expect(driver.take() == "555 5.5.4 Unsupported option.\r\n")
  }

  @Test("Too many errors end the session with 421", arguments: Feeding.allCases)
  func tooManyErrors(feeding: Feeding) {
    var configuration = SMTPServerConfiguration.testDefault
    configuration.maxErrors = 3
    var driver = Driver(configuration, policy: RecordingPolicy())
    driver.start()
    _ = driver.take()
    driver.feed(String(repeating: "BAD\r\n", count: 5), feeding)
    #expect(
      driver.take()
        == String(repeating: "500 5.5.1 Unrecognized command.\r\n", count: 3)
        + "421 4.7.0 Too many errors, closing connection.\r\n")
    #expect(driver.outcome.closed)
    #expect(driver.session.phase == .closed)
  }

  @Test("RSET forgets the transaction but not the greeting")
  func reset() {
    var driver = Driver(policy: RecordingPolicy())
    driver.start()
    driver.feed("EHLO c.example\r\nMAIL FROM:<a@example.com>\r\n")
    #expect(driver.session.envelope?.mailFrom.address == "a@example.com")
    _ = driver.take()
    driver.feed("RSET\r\nRCPT TO:<b@example.net>\r\nMAIL FROM:<a@example.com>\r\n")
    #expect(driver.take() == "250 2.0.0 Flushed\r\n503 5.5.1 MAIL first.\r\n250 2.1.0 OK\r\n")
  }

  @Test("VRFY 252, NOOP, HELP, QUIT")
  func informational() {
    var driver = Driver(policy: RecordingPolicy())
    driver.start()
    _ = driver.take()
    driver.feed("VRFY bob\r\nNOOP hello\r\nHELP\r\n")
    let text = driver.take()
    #expect(text.hasPrefix("252 2.1.5 Cannot VRFY user"))
    #expect(text.contains("\r\n250 2.0.0 OK\r\n214 2.0.0 "))
    driver.feed("QUIT\r\nNOOP\r\n")
    #expect(driver.take() == "221 2.0.0 closing connection\r\n")
    #expect(driver.outcome.closed)
  }

  @Test("Parameters: SIZE over the limit 552, unknown 555, none after HELO")
  func parameters() {
    var driver = Driver.greeted()
    driver.feed("MAIL FROM:<a@example.com> SIZE=1001\r\n")
    #expect(driver.take() == "552 5.3.4 Message size exceeds fixed limit.\r\n")
    driver.feed("MAIL FROM:<a@example.com> SIZE=12x\r\n")
    #expect(driver.take() == "501 5.5.4 Syntax error in parameters or arguments.\r\n")
    driver.feed("MAIL FROM:<a@example.com> RET=HDRS\r\n")
    #expect(driver.take() == "555 5.5.4 Unsupported option.\r\n")
    driver.feed("MAIL FROM:<a@example.com> BODY=BINARYMIME\r\n")
    #expect(driver.take() == "555 5.5.4 Unsupported option.\r\n")
    driver.feed("MAIL FROM:<a@example.com> BODY\r\n")
    #expect(driver.take() == "555 5.5.4 Unsupported option.\r\n")
    driver.feed("MAIL FROM:<a@example.com> SIZE==1\r\n")
    #expect(driver.take() == "501 5.5.4 Syntax error in parameters or arguments.\r\n")
    driver.feed("HELO c.example\r\nMAIL FROM:<a@example.com> SIZE=10\r\n")
    #expect(driver.take() == "250 mx.test\r\n555 5.5.4 Unsupported option.\r\n")
  }

  @Test("A message over the size limit gets 552 after the data", arguments: Feeding.allCases)
  func oversizedMessage(feeding: Feeding) {
    let policy = RecordingPolicy()
    var driver = Driver(policy: policy)
    driver.start()
    driver.feed(
      "EHLO c.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
    _ = driver.take()
    let line = String(repeating: "y", count: 98) + "\r\n"
    driver.feed(String(repeating: line, count: 11) + ".\r\nRCPT TO:<b@example.net>\r\n", feeding)
    #expect(
      driver.take() == "552 5.3.4 Message size exceeds fixed limit.\r\n503 5.5.1 MAIL first.\r\n")
    #expect(policy.messages.isEmpty)
  }

  @Test("The 101st recipient gets 452 and the others go through")
  func recipientLimit() {
    let policy = RecordingPolicy()
    var driver = Driver(policy: policy)
    driver.start()
    driver.feed("EHLO c.example\r\nMAIL FROM:<a@example.com>\r\n")
    _ = driver.take()
    for index in 0...100 { driver.feed("RCPT TO:<r\(index)@example.net>\r\n") }
    let replies = driver.take().split(separator: "\r\n")
    #expect(replies.count == 101)
    #expect(replies.dropLast().allSatisfy { $0 == "250 2.1.5 OK" })
    #expect(replies.last == "452 4.5.3 Too many recipients.")
    driver.feed("DATA\r\nx\r\n.\r\n")
    #expect(policy.messages.first?.envelope.recipients.count == 100)
  }

  @Test("Per-recipient decisions; the transaction goes on with the accepted ones")
  func recipientDecisions() {
    let policy = RecordingPolicy()
    policy.recipientReplies["full@example.net"] = .reply(
      SMTPServerReply(452, "4.2.2", "Over quota."))
    policy.recipientReplies["gone@example.net"] = .reply(
      SMTPServerReply(550, "5.1.1", "No such user."))
    var driver = Driver(policy: policy)
    driver.start()
    driver.feed("EHLO c.example\r\nMAIL FROM:<a@example.com>\r\n")
    _ = driver.take()
    driver.feed(
      "RCPT TO:<full@example.net>\r\nRCPT TO:<gone@example.net>\r\nRCPT TO:<ok@example.net>\r\n")
    #expect(
      driver.take() == "452 4.2.2 Over quota.\r\n550 5.1.1 No such user.\r\n250 2.1.5 OK\r\n")
    driver.feed("DATA\r\nx\r\n.\r\n")
    #expect(policy.messages.first?.envelope.recipients.map(\.address) == ["ok@example.net"])
  }

  @Test("Policy decisions: 421 at greeting, stall, drop and a custom end-of-data reply")
  func policyDecisions() {
    let closing = SMTPServerReply(421, "4.7.0", "Try again later, closing connection.")
    let greetingPolicy = RecordingPolicy()
    greetingPolicy.greetingDecision = .replyAndClose(closing)
    var refused = Driver(policy: greetingPolicy)
    refused.start()
    #expect(refused.take() == "421 4.7.0 Try again later, closing connection.\r\n")
    #expect(refused.outcome.closed)

    let stallPolicy = RecordingPolicy()
    stallPolicy.helloDecision = .stall
    var stalled = Driver(policy: stallPolicy)
    stalled.start()
    _ = stalled.take()
    stalled.feed("EHLO c.example\r\nNOOP\r\nQUIT\r\n")
    #expect(stalled.take() == "")
    #expect(stalled.session.phase == .stalled)
    #expect(!stalled.outcome.closed)

    let dropPolicy = RecordingPolicy()
    dropPolicy.dataDecision = .drop
    var dropped = Driver(policy: dropPolicy)
    dropped.start()
    dropped.feed("EHLO c.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\n")
    _ = dropped.take()
    dropped.feed("DATA\r\n")
    #expect(dropped.take() == "")
    #expect(dropped.outcome.closed)

    let endPolicy = RecordingPolicy()
    endPolicy.endDecision = .reply(
      SMTPServerReply(550, "5.4.5", "Daily user sending limit exceeded."))
    var limited = Driver(policy: endPolicy)
    limited.start()
    limited.feed("EHLO c.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\n")
    _ = limited.take()
    limited.feed("DATA\r\nx\r\n.\r\nRCPT TO:<b@example.net>\r\n")
    #expect(
      limited.take()
        == "354 End data with <CR><LF>.<CR><LF>\r\n550 5.4.5 Daily user sending limit exceeded.\r\n"
        + "503 5.5.1 MAIL first.\r\n")
  }

  @Test("BDAT chunks make one message; DATA after BDAT is refused", arguments: Feeding.allCases)
  func chunking(feeding: Feeding) {
    let policy = RecordingPolicy()
    var driver = Driver(policy: policy)
    driver.start()
    driver.feed("EHLO c.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\n")
    _ = driver.take()
    driver.feed("BDAT 5\r\nab\r\n.BDAT 0\r\nDATA\r\nBDAT 3 LAST\r\nxyzNOOP\r\n", feeding)
    #expect(
      driver.take()
        == "250 2.0.0 Chunk received\r\n250 2.0.0 Chunk received\r\n503 5.5.1 No DATA after BDAT.\r\n"
        + "250 2.0.0 OK\r\n250 2.0.0 OK\r\n")
    #expect(policy.messages.map(\.data) == [Array("ab\r\n.xyz".utf8)])
  }

  @Test("A refused BDAT still consumes its chunk")
  func refusedChunk() {
    var driver = Driver.greeted()
    driver.feed("BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n")
    #expect(driver.take() == "503 5.5.1 MAIL first.\r\n250 2.0.0 OK\r\n")
  }

  @Test("Bare LF line ends are accepted for commands")
  func bareLineFeed() {
    var driver = Driver(policy: RecordingPolicy())
    driver.start()
    _ = driver.take()
    driver.feed("NOOP\nNOOP\r\n")
    #expect(driver.take() == "250 2.0.0 OK\r\n250 2.0.0 OK\r\n")
  }

  @Test("Input before start() is answered after the greeting")
  func earlyTalker() {
    var driver = Driver(policy: RecordingPolicy())
    driver.feed("NOOP\r\n")
    #expect(driver.take() == "")
    driver.start()
    #expect(driver.take() == "220 mx.test ESMTP ready\r\n250 2.0.0 OK\r\n")
  }
}

@Suite("SMTPServerSession: 421 closes")
struct SMTPServerClosingTests {
  @Test("Any 421 reply closes the session, even a configured text or a policy reply")
  func anyFourTwentyOneCloses() {
    var configuration = SMTPServerConfiguration.testDefault
    configuration.replies.helloArgumentMissing = SMTPServerReply(
      421, "4.7.0", "Try again later, closing connection. (EHLO)")
    var driver = Driver(configuration, policy: RecordingPolicy())
    driver.start()
    _ = driver.take()
    driver.feed("EHLO\r\nNOOP\r\n")
    #expect(driver.take() == "421 4.7.0 Try again later, closing connection. (EHLO)\r\n")
    #expect(driver.outcome.closed)

    let policy = RecordingPolicy()
    policy.recipientReplies["x@example.net"] = .reply(SMTPServerReply(421, "4.3.0", "Busy."))
    var rcpt = Driver(policy: policy)
    rcpt.start()
    rcpt.feed("EHLO c.example\r\nMAIL FROM:<>\r\nRCPT TO:<x@example.net>\r\nNOOP\r\n")
    #expect(rcpt.take().hasSuffix("250 2.1.0 OK\r\n421 4.3.0 Busy.\r\n"))
    #expect(rcpt.outcome.closed)
  }
}
