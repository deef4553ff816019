// SPDX-License-Identifier: MIT
// The one place where a delivery failure becomes text: the line after `gsendmail: `,
// the log's detail, mailq's last error, the `-bs` reply and the failure notice's
// diagnostic. Made from the failure's cause: the server's reply quoted, the transport or
// token error's own text, and what to do. The outcome for the message (queued, not
// queued, kept in failed/) is added by the caller, which knows it.

import GSendmailCore
import HTTPClient
import OAuth2
import SMTPCore
import Transport

extension DeliveryFailure: CustomStringConvertible {
  public var description: String {
    var text = Self.text(of: cause)
    if let shortfall = scopeShortfall {
      text +=
        " (the token was granted \(shortfall.granted) only; SMTP needs \(GoogleOAuth.gmailScope): "
        + "run gsendmailctl login \(shortfall.account), or set route = \"gmail-api\")"
    }
    return text
  }

  static func text(of cause: Cause) -> String {
    switch cause {
    case .smtp(let failure): return text(of: failure)
    case .transport(.certificate(let detail)):
      return "server certificate rejected (\(detail)); no credentials were sent"
    case .transport(let error): return "\(error)"
    case .token(let error): return "\(error)"
    case .gmailAPI(let refusal): return "\(refusal)"
    case .http(let error):
      if case .bodyUnreadable = error { return "\(error)" }
      return "the Gmail API: \(error)"
    case .uploadSessionWithoutLocation: return "the Gmail API opened an upload session without a usable Location"
    case .passwordCommand(let failure): return text(of: failure)
    case .overSize(let over):
      return "the message is \(over.size) bytes as it would be sent"
        + (over.quotedPrintable
          ? " (re-encoded as quoted-printable for a server without 8BITMIME or for a line over 998 octets)" : "")
        + (over.isServerLimit
          ? ", over the server's SIZE limit (\(over.limit) bytes)" : ", over max_message_size (\(over.limit) bytes)")
        + "; it was not sent"
    case .sessionEnded(let beforeReady):
      return beforeReady ? "the server ended the session before it was ready" : "the server ended the session"
    case .noAccessToken(let account):
      return "no access token for account \(account); run gsendmailctl login \(account)"
    case .localLimit(let reason): return reason
    case .queueEntry(let step, let error): return "cannot \(step.rawValue) a queue entry: \(error)"
    }
  }

  /// The server's reply quoted, each line with its code.
  static func quote(_ reply: SMTPReply) -> String {
    reply.lines.map { "\(reply.code) \($0)" }.joined(separator: " / ")
  }

  static func text(of failure: SMTPFailure) -> String {
    if let limit = failure.sendingLimit {
      return "\(limit.label): \(failure.reply.map(quote) ?? "\(failure)")"
    }
    switch failure {
    case .connectionClosed(let phase):
      return "the server closed the connection during \(phase)"
    case .protocolViolation(let violation):
      return "the server broke the SMTP protocol: \(violation)"
    case .missingCapability(let capability):
      switch capability {
      case .startTLS: return "the server does not offer STARTTLS, and gsendmail never sends mail without TLS"
      case .auth(let mechanism): return "the server does not offer AUTH \(mechanism)"
      case .eightBitMIME: return "the message needs 8BITMIME, which the server does not offer"
      case .smtpUTF8: return "an address needs SMTPUTF8, which the server does not offer"
      }
    case .rejected(let reply, let phase):
      if failure.isHELONameRejected {
        return "the server rejected the EHLO name (\(quote(reply))); set 'helo' to this machine's public FQDN"
      }
      if reply.code / 100 == 4 { return "\(phase): \(quote(reply))" }
      switch phase {
      case .auth: return "authentication refused: \(quote(reply))"
      case .greeting, .ehlo, .helo, .startTLS, .idle, .rset, .quit:
        return "the server refused the session at \(phase): \(quote(reply))"
      case .mailFrom, .rcptTo, .data, .endOfData: return "the server refused the message: \(quote(reply))"
      }
    case .authenticationFailed(let auth):
      var text = "authentication failed: \(quote(auth.reply))"
      if let challenge = auth.challenge {
        text += " (token rejected: status \(challenge.status ?? "?"), scope \(challenge.scope ?? "?"))"
      }
      if auth.reply.code / 100 == 4 { return text }
      switch auth.mechanism {
      case .plain, .login:
        // A password: Google takes only app passwords (or the Workspace user's password
        // where the administrator allows it); there is nothing to log in to.
        return text + "; check user and password_file, or \(SetupGuide.appPasswordAdvice)"
      case .xoauth2, .oauthBearer:
        return text + "; check the account, or run gsendmailctl login"
      }
    case .recipientsRejected(let results):
      let refused = results.filter { !$0.isAccepted }
      let text = refused.map { "\($0.recipient): \(quote($0.reply))" }.joined(separator: "; ")
      let permanent = refused.contains { $0.reply.code / 100 == 5 }
      return (permanent ? "recipient refused, nothing was sent: " : "recipient deferred: ") + text
    case .invalidAddress(let address):
      return "invalid address \(address)"
    case .credentialUnavailable:
      return "no credential available for this account"
    }
  }

  static func text(of failure: PasswordCommandFailure) -> String {
    switch failure {
    case .exited(let account, let status, let detail, let inLog):
      let failed = "password_command of account \(account) failed (exit \(status))"
      if inLog { return failed + "; its error output is in the log" }
      return failed + (detail.map { ": \($0)" } ?? "")
    case .printedNothing: return "password_command printed nothing"
    case .noPipe: return "password_command: cannot create a pipe"
    case .cannotStart: return "password_command: cannot start /bin/sh"
    case .timedOut(let seconds): return "password_command did not finish within \(seconds)s"
    }
  }
}

extension GmailAPIRefusal: CustomStringConvertible {
  /// What Google said: `HTTP 403 reason: message`.
  var said: String {
    var said = "HTTP \(status)"
    if let reason { said += " \(reason)" }
    if !message.isEmpty { said += ": \(message)" }
    return said
  }

  public var description: String {
    let refused = "the Gmail API refused the message (\(said))"
    switch verdict {
    case .noMessageID: return "the Gmail API answered \(status) without a message id"
    case .limit(let limit): return "Gmail's sending \(limit == .daily ? "daily limit" : "rate limit") (\(said))"
    case .tokenRefused: return "the Gmail API refused the access token (\(said)); run gsendmailctl login \(account)"
    case .missingScope(let scope):
      return "the account's token lacks the scope \(scope) (\(said)); run gsendmailctl login \(account)"
    case .domainPolicy: return "\(refused); the domain's administrator does not allow this app to use the Gmail API"
    case .forbidden:
      return "\(refused); check that the Gmail API is enabled in the project, then run gsendmailctl login \(account)"
    case .refused: return refused
    }
  }
}
