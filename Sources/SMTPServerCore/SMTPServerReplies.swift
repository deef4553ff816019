// SPDX-License-Identifier: MIT
// The texts of every reply a session sends on its own. The defaults are plain RFC 5321
// wording for `gsendmail -bs`; the Gmail emulator replaces them with Gmail's texts.

/// The reply texts of a session. Each one can be replaced.
public struct SMTPServerReplies: Sendable {
  /// The greeting on connect (`220`).
  public var greeting: SMTPServerReply
  /// The reply to `HELO` (`250`).
  public var helo: SMTPServerReply
  /// `STARTTLS` accepted (`220`).
  public var startTLSReady: SMTPServerReply
  /// `STARTTLS` when TLS is already active (`454`).
  public var startTLSRepeated: SMTPServerReply
  /// AUTH succeeded (`235`).
  public var authAccepted: SMTPServerReply
  /// AUTH before TLS when TLS is required for it (`530`).
  public var authNeedsTLS: SMTPServerReply
  /// AUTH after a successful AUTH (`503`).
  public var authRepeated: SMTPServerReply
  /// AUTH with an unknown mechanism (`504`).
  public var authMechanismUnknown: SMTPServerReply
  /// The client sent `*` during an AUTH exchange (`501`).
  public var authCancelled: SMTPServerReply
  /// An AUTH payload that is not valid base64 or not the mechanism's format (`501`).
  public var authUndecodable: SMTPServerReply
  /// `MAIL` before AUTH when AUTH is required (`530`).
  public var authRequired: SMTPServerReply
  /// `MAIL` accepted (`250`).
  public var mailAccepted: SMTPServerReply
  /// `RCPT` accepted (`250`).
  public var recipientAccepted: SMTPServerReply
  /// `DATA` accepted: send the message (`354`).
  public var dataReady: SMTPServerReply
  /// The message accepted (`250`), when the policy does not give its own reply.
  public var messageAccepted: SMTPServerReply
  /// One non-last `BDAT` chunk received (`250`).
  public var chunkAccepted: SMTPServerReply
  /// `RSET` (`250`).
  public var reset: SMTPServerReply
  /// `NOOP` (`250`).
  public var noop: SMTPServerReply
  /// `QUIT` (`221`); the session closes after it.
  public var quit: SMTPServerReply
  /// `VRFY` (`252`, RFC 5321 §3.5.3).
  public var verify: SMTPServerReply
  /// `HELP` (`214`).
  public var help: SMTPServerReply
  /// An unknown verb (`500`).
  public var unknownCommand: SMTPServerReply
  /// A known verb that this configuration does not offer (`502`).
  public var notImplemented: SMTPServerReply
  /// A command line longer than the limit (`500`).
  public var lineTooLong: SMTPServerReply
  /// Bad arguments to a command (`501`).
  public var syntaxError: SMTPServerReply
  /// A `MAIL`/`RCPT` path that is not an RFC 5321 path (`501`; Gmail says `555`).
  public var pathSyntaxError: SMTPServerReply
  /// A `MAIL`/`RCPT` parameter that is unknown or not advertised (`555`).
  public var parameterUnsupported: SMTPServerReply
  /// `HELO`/`EHLO` without an argument (`501`).
  public var helloArgumentMissing: SMTPServerReply
  /// A command before `HELO`/`EHLO` (`503`).
  public var helloFirst: SMTPServerReply
  /// `RCPT` before `MAIL` (`503`).
  public var mailFirst: SMTPServerReply
  /// `DATA`/`BDAT` before an accepted `RCPT` (`503`).
  public var recipientFirst: SMTPServerReply
  /// `MAIL` inside a transaction (`503`).
  public var mailNested: SMTPServerReply
  /// A command out of sequence, such as `AUTH` inside a transaction (`503`).
  public var badSequence: SMTPServerReply
  /// `DATA` after `BDAT` in one transaction (`503`).
  public var dataAfterChunk: SMTPServerReply
  /// The declared `SIZE` or the message is over the limit (`552`).
  public var messageTooBig: SMTPServerReply
  /// One `RCPT` more than `maxRecipients` (`452`).
  public var tooManyRecipients: SMTPServerReply
  /// Too many client errors (`421`); the session closes after it.
  public var tooManyErrors: SMTPServerReply

  /// The default texts, naming `hostname`.
  public init(hostname: String) {
    greeting = SMTPServerReply(220, nil, "\(hostname) ESMTP ready")
    helo = SMTPServerReply(250, nil, hostname)
    startTLSReady = SMTPServerReply(220, "2.0.0", "Ready to start TLS")
    startTLSRepeated = SMTPServerReply(454, "5.5.1", "STARTTLS may not be repeated.")
    authAccepted = SMTPServerReply(235, "2.7.0", "Accepted")
    authNeedsTLS = SMTPServerReply(530, "5.7.0", "Must issue a STARTTLS command first.")
    authRepeated = SMTPServerReply(503, "5.7.0", "No identity changes permitted.")
    authMechanismUnknown = SMTPServerReply(504, "5.7.4", "Unrecognized Authentication Type.")
    authCancelled = SMTPServerReply(501, "5.7.0", "Authentication cancelled.")
    authUndecodable = SMTPServerReply(501, "5.5.2", "Cannot Decode response.")
    authRequired = SMTPServerReply(530, "5.7.0", "Authentication Required.")
    mailAccepted = SMTPServerReply(250, "2.1.0", "OK")
    recipientAccepted = SMTPServerReply(250, "2.1.5", "OK")
    dataReady = SMTPServerReply(354, nil, "End data with <CR><LF>.<CR><LF>")
    messageAccepted = SMTPServerReply(250, "2.0.0", "OK")
    chunkAccepted = SMTPServerReply(250, "2.0.0", "Chunk received")
    reset = SMTPServerReply(250, "2.0.0", "Flushed")
    noop = SMTPServerReply(250, "2.0.0", "OK")
    quit = SMTPServerReply(221, "2.0.0", "closing connection")
    verify = SMTPServerReply(
      252, "2.1.5", "Cannot VRFY user, but will accept message and attempt delivery")
    help = SMTPServerReply(
      214, "2.0.0",
      "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP")
    unknownCommand = SMTPServerReply(500, "5.5.1", "Unrecognized command.")
    notImplemented = SMTPServerReply(502, "5.5.1", "Unimplemented command.")
    lineTooLong = SMTPServerReply(500, "5.5.2", "Line too long.")
    syntaxError = SMTPServerReply(501, "5.5.4", "Syntax error in parameters or arguments.")
    pathSyntaxError = SMTPServerReply(501, "5.1.3", "Bad address syntax.")
    parameterUnsupported = SMTPServerReply(555, "5.5.4", "Unsupported option.")
    helloArgumentMissing = SMTPServerReply(
      501, "5.5.4", "Empty HELO/EHLO argument not allowed.")
    helloFirst = SMTPServerReply(503, "5.5.1", "EHLO/HELO first.")
    mailFirst = SMTPServerReply(503, "5.5.1", "MAIL first.")
    recipientFirst = SMTPServerReply(503, "5.5.1", "RCPT first.")
    mailNested = SMTPServerReply(503, "5.5.1", "Sender already specified.")
    badSequence = SMTPServerReply(503, "5.5.1", "Bad sequence of commands.")
    dataAfterChunk = SMTPServerReply(503, "5.5.1", "No DATA after BDAT.")
    messageTooBig = SMTPServerReply(552, "5.3.4", "Message size exceeds fixed limit.")
    tooManyRecipients = SMTPServerReply(452, "4.5.3", "Too many recipients.")
    tooManyErrors = SMTPServerReply(421, "4.7.0", "Too many errors, closing connection.")
  }
}
