// SPDX-License-Identifier: MIT
// What can go wrong in an SMTP session, named after what happened (OpenSMTPD's
// internal/connection/protocol/missing-feature/rejected split). No exit codes here:
// the front end maps these to sysexits in one place. No case carries a secret.

/// The step of the session a failure happened in: the command whose reply was awaited.
public enum SMTPPhase: String, Hashable, Sendable {
  /// Waiting for the server's `220` greeting.
  case greeting
  /// `EHLO` sent.
  case ehlo
  /// `HELO` sent (after the server refused `EHLO`).
  case helo
  /// `STARTTLS` sent, or the TLS handshake after it.
  case startTLS
  /// `AUTH` and its challenges.
  case auth
  /// No command outstanding: between transactions.
  case idle
  /// `MAIL FROM`.
  case mailFrom
  /// `RCPT TO`.
  case rcptTo
  /// `DATA`, and the transfer of the body after `354`.
  case data
  /// The reply to the `.` that ends the message data.
  case endOfData
  /// `RSET`.
  case rset
  /// `QUIT`.
  case quit
}

/// A server capability the session needed but the server did not offer.
public enum SMTPCapability: Hashable, Sendable, CustomStringConvertible {
  /// `STARTTLS` (RFC 3207): TLS is required and the server does not offer it.
  case startTLS
  /// `AUTH` with this mechanism (RFC 4954).
  case auth(SASLMechanism)
  /// `8BITMIME` (RFC 6152): the message has 8-bit content.
  case eightBitMIME
  /// `SMTPUTF8` (RFC 6531): an address is not ASCII.
  case smtpUTF8

  /// The EHLO keyword, e.g. `AUTH XOAUTH2`.
  public var description: String {
    switch self {
    case .startTLS: "STARTTLS"
    case .auth(let mechanism): "AUTH \(mechanism.rawValue)"
    case .eightBitMIME: "8BITMIME"
    case .smtpUTF8: "SMTPUTF8"
    }
  }
}

/// How the server broke RFC 5321 (h11's "remote protocol error").
public enum SMTPProtocolViolation: Error, Hashable, Sendable, CustomStringConvertible {
  /// A reply line longer than the parser's limit (bytes, without CRLF).
  case lineTooLong(limit: Int)
  /// A multi-line reply with more lines than the parser's limit.
  case tooManyLines(limit: Int)
  /// A line that does not start with a reply code 200–599 followed by `-`, space or the end.
  /// The excerpt is at most 40 characters, with control characters shown as `?`.
  case malformedLine(excerpt: String)
  /// The lines of one multi-line reply carry different codes.
  case mismatchedCodes(first: Int, then: Int)
  /// A reply code that makes no sense for the command it answers (e.g. `354` to `MAIL`).
  case unexpectedReply(code: Int, during: SMTPPhase)
  /// A reply arrived while no command was outstanding.
  case unsolicitedReply(code: Int)
  /// Bytes followed the `220` to `STARTTLS` before TLS started (RFC 3207 §6 injection).
  case dataAfterSTARTTLS

  /// A short English explanation.
  public var description: String {
    switch self {
    case .lineTooLong(let limit): "reply line longer than \(limit) bytes"
    case .tooManyLines(let limit): "reply with more than \(limit) lines"
    case .malformedLine(let excerpt): "malformed reply line \"\(excerpt)\""
    case .mismatchedCodes(let first, let then): "reply code \(then) inside a \(first) reply"
    case .unexpectedReply(let code, let phase): "unexpected reply \(code) during \(phase.rawValue)"
    case .unsolicitedReply(let code): "reply \(code) while no command was sent"
    case .dataAfterSTARTTLS: "data after the STARTTLS reply, before TLS"
    }
  }
}

/// The decoded error challenge of XOAUTH2 (Gmail: `334` + base64 JSON) or OAUTHBEARER
/// (RFC 7628 §3.2.2). Only the documented string fields are kept; treat values as opaque.
public struct OAuthChallenge: Hashable, Sendable {
  /// `status`: Gmail sends `"400"` or `"401"`, RFC 7628 servers `"invalid_token"`.
  public let status: String?
  /// `schemes`, e.g. `"Bearer"`.
  public let schemes: String?
  /// `scope` the token needs, e.g. `"https://mail.google.com/"`.
  public let scope: String?

  /// Creates a challenge from its fields.
  public init(status: String?, schemes: String?, scope: String?) {
    self.status = status
    self.schemes = schemes
    self.scope = scope
  }
}

/// A rejected `AUTH` exchange.
public struct AuthenticationFailure: Hashable, Sendable {
  /// The mechanism that was tried.
  public let mechanism: SASLMechanism
  /// The server's final 5xx reply (e.g. `535 5.7.8`, `534 5.7.9`).
  public let reply: SMTPReply
  /// The OAuth error challenge the server sent before `reply`, when it sent one.
  public let challenge: OAuthChallenge?
  /// True when this rejection came after a forced token refresh in the same session:
  /// asking for yet another token will not help (the account needs a new login).
  public let afterFreshCredential: Bool

  /// Creates a failure record.
  public init(
    mechanism: SASLMechanism, reply: SMTPReply, challenge: OAuthChallenge?,
    afterFreshCredential: Bool
  ) {
    self.mechanism = mechanism
    self.reply = reply
    self.challenge = challenge
    self.afterFreshCredential = afterFreshCredential
  }
}

/// The server's answer to one `RCPT TO`.
public struct RecipientResult: Hashable, Sendable {
  /// The address as given in the envelope.
  public let recipient: String
  /// The reply to its `RCPT TO`.
  public let reply: SMTPReply

  /// Creates a result.
  public init(recipient: String, reply: SMTPReply) {
    self.recipient = recipient
    self.reply = reply
  }

  /// True when the server accepted the recipient (2xx).
  public var isAccepted: Bool { reply.isPositiveCompletion }
}

/// Why an SMTP session or one message in it failed.
public enum SMTPFailure: Error, Hashable, Sendable {
  /// The connection ended while a reply was awaited.
  case connectionClosed(during: SMTPPhase)
  /// The server broke the protocol; the session cannot go on.
  case protocolViolation(SMTPProtocolViolation)
  /// The server does not offer something the session or the message needs.
  case missingCapability(SMTPCapability)
  /// The server answered a command with 4xx or 5xx. A `421` (service closing) ends the session.
  case rejected(SMTPReply, during: SMTPPhase)
  /// `AUTH` was refused with a 5xx.
  case authenticationFailed(AuthenticationFailure)
  /// At least one recipient was refused, so nothing was sent (all or nothing, gsendmail(8), "QUEUE" and "EXIT STATUS").
  /// Every recipient of the envelope is listed with its reply, accepted ones included.
  case recipientsRejected([RecipientResult])
  /// An envelope address contains a control character, `<` or `>`; nothing was sent for it.
  case invalidAddress(String)
  /// The caller could not provide the credential the session asked for.
  case credentialUnavailable
}
