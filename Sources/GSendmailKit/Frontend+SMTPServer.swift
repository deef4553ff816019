// SPDX-License-Identifier: MIT
// `-bs`: SMTP on standard input and output (gsendmail(8), SMTP SERVER MODE), for devices that cannot do
// OAuth, behind a socket unit. Each message goes through the same path as -bm;
// the reply to the end of data is 250 once it is sent (or queued), else the
// mapped 4xx/5xx. An idle client gets 421 and the session ends.

import GSendmailCore
import MessageCore
import SMTPServerCore

#if canImport(Glibc)
import Glibc
#endif

extension Frontend {
  /// How long `-bs` waits for the client before ending with 421 (RFC 5321 §4.5.3.2.7).
  static let idleTimeoutSeconds: Int32 = 300

  func serveSMTP(_ invocation: Invocation) throws -> SysExit {
    guard stdinFD >= 0 else { throw InputError("standard input is closed: there is no SMTP client") }
    let submission: Submission
    do {
      submission = try self.submission(for: invocation)
    } catch {
      // The device on the other end gets a reply it understands, and keeps its message.
      FileDescriptorSink(fd: 1).write("421 4.3.5 \(environment.hostName) \(String(errorText(error).prefix(300)))\r\n")
      throw error
    }
    let policy = SubmissionPolicy(frontend: self, submission: submission, invocation: invocation)
    var configuration = SMTPServerConfiguration(hostname: environment.hostName, maxMessageSize: submission.config.maxMessageSize)
    configuration.capabilities = [.pipelining, .eightBitMIME, .size, .enhancedStatusCodes]
    // Local names go the same way as on the command line: `MAIL FROM:<root>` as `-f root`,
    // `RCPT TO:<root>` through the aliases.
    configuration.acceptsLocalNames = true
    var session = SMTPServerSession(configuration: configuration, policy: policy)
    let out = FileDescriptorSink(fd: 1)
    var open = perform(session.start(), out)
    var buffer = [UInt8](repeating: 0, count: 16384)
    while open {
      var pfd = pollfd(fd: stdinFD, events: Int16(POLLIN), revents: 0)
      let ready = poll(&pfd, 1, Self.idleTimeoutSeconds * 1000)
      if ready < 0 {
        if errno == EINTR { continue }
        break
      }
      if ready == 0 {
        out.write("421 4.4.2 \(environment.hostName) Idle timeout, closing connection\r\n")
        break
      }
      let n = buffer.withUnsafeMutableBytes { read(stdinFD, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { break }
      open = perform(session.received(buffer[0..<n]), out)
    }
    return .ok
  }

  /// Writes the session's output; false once it closed.
  private func perform(_ actions: [SMTPServerAction], _ out: FileDescriptorSink) -> Bool {
    for action in actions {
      switch action {
      case .send(let bytes): out.write(bytes)
      case .close: return false
      case .startTLS: return false  // never offered
      }
    }
    return true
  }
}

/// Hands each message received over `-bs` to the delivery path.
final class SubmissionPolicy: SMTPServerPolicy {
  let frontend: Frontend
  let submission: Submission
  let invocation: Invocation

  init(frontend: Frontend, submission: Submission, invocation: Invocation) {
    self.frontend = frontend
    self.submission = submission
    self.invocation = invocation
  }

  /// Each recipient is resolved as it comes (aliases, `local_recipient`, the account's own
  /// address), so that one that cannot be is refused alone, not the whole message at the
  /// end of data.
  func recipient(_ recipient: SMTPRecipient, envelope: SMTPEnvelope, session: SMTPSessionInfo) -> SMTPServerDecision {
    do {
      _ = try submission.resolvedRecipients(
        Submission.mailboxes(given: [recipient.address]),
        accountAddress: submission.accountAddress(envelopeSender: envelope.mailFrom.address, fields: []))
      return .accept
    } catch {
      return .reply(Self.reply(for: error))
    }
  }

  func messageReceived(_ message: SMTPReceivedMessage, session: SMTPSessionInfo) -> SMTPServerDecision {
    do {
      let outcome = try frontend.spoolAndDeliver(
        SubmissionRequest(
          submission: submission, envelopeSender: message.envelope.mailFrom.address,
          recipients: message.envelope.recipients.map(\.address), recipientsFromHeader: false, keepUnsendable: false
        ) { [submission] in try submission.scan(message.data, into: $0) })
      switch outcome {
      case .sent: return .reply(SMTPServerReply(250, "2.0.0", "OK: sent"))
      case .queued(let id, _): return .reply(SMTPServerReply(250, "2.0.0", "OK: queued as \(id)"))
      case nil: return .reply(SMTPServerReply(250, "2.0.0", "OK: queued"))
      }
    } catch {
      return .reply(Self.reply(for: error))
    }
  }

  /// Whether the message was refused for its size (here or by the server).
  static func isTooBig(_ error: any Error) -> Bool {
    if let kept = error as? KeptInFailed { return isTooBig(kept.underlying) }
    if case .messageTooLarge = error as? MessageError { return true }
    if (error as? DeliveryFailure)?.kind == .messageRejected(tooBig: true) { return true }
    return false
  }

  /// The permanent RFC 3463 status of the server's reply that refused the recipients or
  /// the message, when the server gave one.
  static func serverStatus(_ error: any Error) -> String? {
    if let kept = error as? KeptInFailed { return serverStatus(kept.underlying) }
    return (error as? DeliveryFailure)?.refusalStatus
  }

  /// The SMTP reply for a failed submission, after gsendmail(8)'s exit codes, with the
  /// status the server gave when it refused the recipients or the message.
  static func reply(for error: any Error) -> SMTPServerReply {
    let text = String(errorText(error).prefix(400))
    // A sender the policy refuses stays refused: the client must not retry it.
    if error is SenderRefused { return SMTPServerReply(550, "5.7.1", text) }
    switch ExitStatus.code(for: error) {
    case .noUser: return SMTPServerReply(550, serverStatus(error) ?? "5.1.1", text)
    case .unavailable: return SMTPServerReply(554, serverStatus(error) ?? "5.0.0", text)
    case .dataError:
      return isTooBig(error) ? SMTPServerReply(552, "5.3.4", text) : SMTPServerReply(554, "5.6.0", text)
    case .noPermission: return SMTPServerReply(451, "4.7.0", text)
    case .protocolError: return SMTPServerReply(451, "4.5.0", text)
    case .configuration: return SMTPServerReply(451, "4.3.5", text)
    default: return SMTPServerReply(451, "4.3.0", text)
    }
  }
}
