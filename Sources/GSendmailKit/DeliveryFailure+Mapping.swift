// SPDX-License-Identifier: MIT
// How transport and SMTP failures become delivery outcomes, with a message that
// says what happened and what to do, quoting the server's reply.

import GSendmailCore
import MailQueue
import SMTPCore
import Transport

extension DeliveryFailure {
  /// Classifies any error met while talking to a server.
  static func from(_ error: any Error) -> any Error {
    switch error {
    case let e as TransportError: return from(e)
    case let e as SMTPFailure: return from(e)
    default: return error
    }
  }

  static func from(_ error: TransportError) -> DeliveryFailure {
    switch error {
    case .tlsLibraryUnavailable:
      return .resource("\(error)")
    case .connect(_, _, let code) where QueueError.isResourceErrno(code):
      return .resource("\(error)")
    case .io(let code) where QueueError.isResourceErrno(code):
      return .resource("\(error)")
    case .certificate(let detail):
      return .temporary("server certificate rejected (\(detail)); no credentials were sent")
    default:
      return .temporary("\(error)")
    }
  }

  static func from(_ failure: SMTPFailure) -> DeliveryFailure {
    func quote(_ reply: SMTPReply) -> String { reply.lines.map { "\(reply.code) \($0)" }.joined(separator: " / ") }
    if let limit = failure.sendingLimit {
      return .limited(limit, "\(limit.label): \(failure.reply.map(quote) ?? "\(failure)")")
    }
    switch failure {
    case .connectionClosed(let phase):
      return .temporary("the server closed the connection during \(phase)")
    case .protocolViolation(let violation):
      return .protocolViolation("the server broke the SMTP protocol: \(violation)")
    case .missingCapability(let capability):
      switch capability {
      case .startTLS:
        return .temporary("the server does not offer STARTTLS, and gsendmail never sends mail without TLS")
      case .auth(let mechanism):
        return .temporary("the server does not offer AUTH \(mechanism)")
      case .eightBitMIME:
        return .messageRejected("the message needs 8BITMIME, which the server does not offer", tooBig: false)
      case .smtpUTF8:
        return .messageRejected("an address needs SMTPUTF8, which the server does not offer", tooBig: false)
      }
    case .rejected(let reply, let phase):
      if failure.isHELONameRejected {
        return .temporary("the server rejected the EHLO name (\(quote(reply))); set 'helo' to this machine's public FQDN")
      }
      if reply.code / 100 == 4 { return .temporary("\(phase): \(quote(reply))") }
      switch phase {
      case .auth:
        return .authentication("authentication refused: \(quote(reply))")
      case .greeting, .ehlo, .helo, .startTLS, .idle, .rset, .quit:
        return .messageRejected(
          "the server refused the session at \(phase): \(quote(reply))", tooBig: false, reply: ServerReply(reply))
      case .mailFrom, .rcptTo, .data, .endOfData:
        let tooBig = reply.code == 552 || ["5.3.4", "5.2.3"].contains(reply.enhancedStatus.map { "\($0)" } ?? "")
        return .messageRejected(
          "the server refused the message: \(quote(reply))", tooBig: tooBig, reply: ServerReply(reply))
      }
    case .authenticationFailed(let auth):
      var text = "authentication failed: \(quote(auth.reply))"
      if let challenge = auth.challenge {
        text += " (token rejected: status \(challenge.status ?? "?"), scope \(challenge.scope ?? "?"))"
      }
      if auth.reply.code / 100 == 4 { return .temporary(text) }
      switch auth.mechanism {
      case .plain, .login:
        // A password: Google takes only app passwords (or the Workspace user's password
        // where the administrator allows it); there is nothing to log in to.
        return .authentication(text + "; check user and password_file, or \(SetupGuide.appPasswordAdvice)")
      case .xoauth2, .oauthBearer:
        return .authentication(text + "; check the account, or run gsendmailctl login")
      }
    case .recipientsRejected(let results):
      let refused = results.filter { !$0.isAccepted }
      let text = refused.map { "\($0.recipient): \(quote($0.reply))" }.joined(separator: "; ")
      if refused.contains(where: { $0.reply.code / 100 == 5 }) {
        return .recipientsRejected(
          "recipient refused, nothing was sent: \(text)",
          replies: refused.map { RecipientReply(address: $0.recipient, reply: ServerReply($0.reply)) })
      }
      return .temporary("recipient deferred: \(text)")
    case .invalidAddress(let address):
      return .messageRejected("invalid address \(address)", tooBig: false)
    case .credentialUnavailable:
      return .authentication("no credential available for this account")
    }
  }
}

extension ServerReply {
  /// The reply of the SMTP client, its lines joined.
  init(_ reply: SMTPReply) {
    self.init(
      code: reply.code, enhancedStatus: reply.enhancedStatus.map { "\($0)" },
      text: reply.lines.joined(separator: " / "))
  }
}
