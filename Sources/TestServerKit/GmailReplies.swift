// SPDX-License-Identifier: MIT
// Gmail's wire texts (docs/design.md, "Gmail on the wire"): the greeting, the EHLO lists,
// the success replies with their two-space quirks, and the failure replies, each ending
// in ` <sid> - gsmtp` where Gmail puts it. Pure values built per session.

import SMTPServerCore

/// Gmail's replies for one session.
struct GmailReplies {
  /// The session id in ` <sid> - gsmtp`.
  let sid: String
  /// Submission or relay.
  let mode: GmailTestServerConfiguration.Mode

  /// `smtp.gmail.com` or `smtp-relay.gmail.com`.
  var hostname: String { mode == .relay ? "smtp-relay.gmail.com" : "smtp.gmail.com" }
  /// ` <sid> - gsmtp`.
  var suffix: String { " \(sid) - gsmtp" }

  /// The session configuration: EHLO lists of docs/design.md, "Gmail on the wire" and every text of §1.3.
  func configuration(maxMessageSize: Int, clientAddress: String) -> SMTPServerConfiguration {
    var configuration = SMTPServerConfiguration(
      hostname: hostname,
      capabilities: [
        .size, .eightBitMIME, .startTLS,
        .auth(["LOGIN", "PLAIN", "XOAUTH2", "PLAIN-CLIENTTOKEN", "OAUTHBEARER", "XOAUTH"]),
        .enhancedStatusCodes, .pipelining, .chunking, .smtpUTF8,
      ],
      maxMessageSize: maxMessageSize, maxRecipients: 100, maxErrors: 20,
      requiresAuthentication: mode == .submission, authRequiresTLS: true)
    configuration.ehloGreeting = "\(hostname) at your service, [\(clientAddress)]"
    var replies = SMTPServerReplies(hostname: hostname)
    replies.greeting = SMTPServerReply(220, nil, "\(hostname) ESMTP\(suffix)")
    replies.helo = SMTPServerReply(250, nil, "\(hostname) at your service")
    replies.startTLSReady = SMTPServerReply(220, "2.0.0", "Ready to start TLS")
    replies.startTLSRepeated = line(454, "5.5.1", "STARTTLS may not be repeated.")
    replies.authAccepted = SMTPServerReply(235, "2.7.0", "Accepted")
    replies.authNeedsTLS = line(530, "5.7.0", "Must issue a STARTTLS command first.")
    replies.authRepeated = line(503, "5.7.0", "No identity changes permitted.")
    replies.authMechanismUnknown = line(504, "5.7.4", "Unrecognized Authentication Type.")
    replies.authCancelled = line(501, "5.7.0", "Authentication aborted.")
    replies.authUndecodable = line(501, "5.5.2", "Cannot Decode response.")
    replies.authRequired = help(
      530, "5.7.0", ["Authentication Required. For more information, go to"],
      "https://support.google.com/mail/?p=WantAuthError")
    replies.mailAccepted = line(250, "2.1.0", "OK")
    replies.recipientAccepted = line(250, "2.1.5", "OK")
    replies.dataReady = SMTPServerReply(354, nil, "Go ahead\(suffix)")
    replies.chunkAccepted = line(250, "2.0.0", "OK")
    replies.reset = line(250, "2.1.5", "Flushed")
    replies.noop = line(250, "2.0.0", "OK")
    replies.quit = line(221, "2.0.0", "closing connection")
    replies.verify = line(252, "2.1.5", "Send some mail, I'll try my best")
    replies.help = line(214, "2.0.0", "https://www.google.com/search?btnI&q=RFC+5321")
    replies.unknownCommand = line(502, "5.5.1", "Unrecognized command.")
    replies.notImplemented = line(502, "5.5.1", "Unimplemented command.")
    replies.lineTooLong = line(500, "5.5.2", "Line too long.")
    replies.syntaxError = syntax
    replies.pathSyntaxError = syntax
    replies.parameterUnsupported = line(555, "5.5.4", "Unsupported option.")
    replies.helloArgumentMissing =
      mode == .relay ? ehloRejected : line(501, "5.5.4", "Empty HELO/EHLO argument not allowed.")
    replies.helloFirst = line(503, "5.5.1", "EHLO/HELO first.")
    replies.mailFirst = line(503, "5.5.1", "MAIL first.")
    replies.recipientFirst = line(503, "5.5.1", "RCPT first.")
    replies.mailNested = line(503, "5.5.1", "Nested MAIL command.")
    replies.badSequence = line(503, "5.5.1", "Bad sequence of commands.")
    replies.dataAfterChunk = line(503, "5.5.1", "No DATA after BDAT.")
    replies.messageTooBig = help(
      552, "5.3.4",
      ["Your message exceeded Google's message size limits. For more information, go to"],
      "https://support.google.com/mail/?p=MaxSizeError")
    replies.tooManyRecipients = help(
      452, "4.5.3",
      [
        "Your message has too many recipients. For more information regarding Google's sending limits, go to"
      ],
      "https://support.google.com/mail/?p=TooManyRecipientsError")
    replies.tooManyErrors = line(421, "4.7.0", "Too many errors, closing connection.")
    configuration.replies = replies
    return configuration
  }

  /// `250 2.0.0 OK  <epoch> <sid> - gsmtp` (two spaces after OK).
  func messageAccepted(epoch: Int) -> SMTPServerReply {
    SMTPServerReply(250, "2.0.0", "OK  \(epoch)\(suffix)")
  }

  /// `421 4.7.0 Try again later, closing connection.` (greeting scenario).
  var greetingRejected: SMTPServerReply {
    line(421, "4.7.0", "Try again later, closing connection.")
  }

  /// `421 4.7.0 Try again later, closing connection. (EHLO) <sid> - gsmtp`.
  var ehloRejected: SMTPServerReply {
    line(421, "4.7.0", "Try again later, closing connection. (EHLO)")
  }

  /// `535-5.7.8 Username and Password not accepted. …BadCredentials` (2024 wording).
  var badCredentials: SMTPServerReply {
    help(
      535, "5.7.8", ["Username and Password not accepted. For more information, go to"],
      "https://support.google.com/mail/?p=BadCredentials")
  }

  /// The JSON of Gmail's XOAUTH2 error challenge (docs/design.md, "Gmail on the wire").
  static let tokenErrorJSON =
    #"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#

  /// `450 4.2.1` for a recipient that receives mail too quickly.
  var recipientTemporaryFailure: SMTPServerReply {
    help(
      450, "4.2.1",
      [
        "The user you are trying to contact is receiving mail too quickly. Please resend",
        "your message at a later time. For more information, go to",
      ],
      "https://support.google.com/mail/answer/22839")
  }

  /// `550 5.1.1` for a recipient that does not exist.
  var recipientPermanentFailure: SMTPServerReply {
    help(
      550, "5.1.1",
      [
        "The email account that you tried to reach does not exist. Please try",
        "double-checking the recipient's email address for typos or",
        "unnecessary spaces. For more information, go to",
      ],
      "https://support.google.com/mail/?p=NoSuchUser")
  }

  /// `550 5.4.5` daily limit (submission) or the relay's per-user limit.
  var dailyLimitExceeded: SMTPServerReply {
    if mode == .relay { return line(550, "5.4.5", "Daily SMTP relay limit exceeded for user.") }
    return help(
      550, "5.4.5", ["Daily user sending limit exceeded. For more information, go to"],
      "https://support.google.com/mail/?p=DailyLimitExceeded")
  }

  /// `555 5.5.2 Syntax error, cannot decode response. …` (docs/design.md, "Gmail on the wire").
  private var syntax: SMTPServerReply {
    SMTPServerReply(
      555, "5.5.2",
      [
        "Syntax error, cannot decode response. For more information, go to",
        " https://support.google.com/a/answer/3221692 and review RFC 5321",
        "specifications.\(suffix)",
      ])
  }

  private func line(_ code: Int, _ enhanced: String, _ text: String) -> SMTPServerReply {
    SMTPServerReply(code, enhanced, text + suffix)
  }

  /// A multi-line reply whose last line is `  URL <sid> - gsmtp` (two spaces).
  private func help(_ code: Int, _ enhanced: String, _ lines: [String], _ url: String)
    -> SMTPServerReply
  {
    SMTPServerReply(code, enhanced, lines + [" \(url)\(suffix)"])
  }
}
