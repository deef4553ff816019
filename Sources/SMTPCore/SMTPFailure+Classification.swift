// SPDX-License-Identifier: MIT
// Transient-or-permanent classification of SMTPFailure by the reply class
// (RFC 5321 §4.2.1: 4yz vs 5yz), plus the few special cases the front end needs
// to word its message. Exit codes are chosen by the front end, not here.

import Codecs

extension SMTPFailure {
  /// The server reply the failure is about, if any (the first refused recipient's for
  /// ``recipientsRejected(_:)``).
  public var reply: SMTPReply? {
    switch self {
    case .rejected(let reply, _): reply
    case .authenticationFailed(let failure): failure.reply
    case .recipientsRejected(let results): results.first { !$0.isAccepted }?.reply
    case .connectionClosed, .protocolViolation, .missingCapability, .invalidAddress,
      .credentialUnavailable:
      nil
    }
  }

  /// True when trying again later may succeed: a 4xx reply (for refused recipients: 4xx and
  /// no 5xx), a lost connection, or a missing `STARTTLS`/`AUTH` (Postfix defers those too:
  /// a stripped `STARTTLS` may be an attack on this path, not the server's configuration).
  public var isTemporary: Bool {
    switch self {
    case .connectionClosed: true
    case .missingCapability(let capability):
      switch capability {
      case .startTLS, .auth: true
      case .eightBitMIME, .smtpUTF8: false
      }
    case .rejected(let reply, _): reply.isTransientNegative
    case .authenticationFailed(let failure): failure.reply.isTransientNegative
    case .recipientsRejected(let results):
      !results.contains { $0.reply.isPermanentNegative }
        && results.contains { $0.reply.isTransientNegative }
    case .protocolViolation, .invalidAddress, .credentialUnavailable: false
    }
  }

  /// True when the same attempt will fail again: a 5xx reply (for refused recipients: any
  /// 5xx), an invalid address, or a message that needs `8BITMIME`/`SMTPUTF8` the server
  /// lacks. A protocol violation and an unavailable credential are neither temporary nor
  /// permanent: the front end decides.
  public var isPermanent: Bool {
    switch self {
    case .rejected(let reply, _): reply.isPermanentNegative
    case .authenticationFailed(let failure): failure.reply.isPermanentNegative
    case .recipientsRejected(let results): results.contains { $0.reply.isPermanentNegative }
    case .missingCapability(let capability): capability == .eightBitMIME || capability == .smtpUTF8
    case .invalidAddress: true
    case .connectionClosed, .protocolViolation, .credentialUnavailable: false
    }
  }

  /// True for Google's relay refusing the EHLO name: `421 4.7.0 … (EHLO)` to `EHLO`/`HELO`.
  /// The fix is to set `helo` to the machine's public FQDN.
  public var isHELONameRejected: Bool {
    guard case .rejected(let reply, let phase) = self, reply.code == 421,
      phase == .ehlo || phase == .helo
    else { return false }
    return reply.lines.contains { $0.containsText("(EHLO)") }
  }
}

/// One of Google's sending limits, as a reply names it. A message refused for one is not
/// refused for what it is: it would be accepted once the window has passed, so the
/// queue defers it with a long backoff instead of failing it.
public enum SendingLimit: Equatable, Sendable {
  /// A daily quota: `550 5.4.5 Daily user sending limit exceeded` / `Daily sending quota
  /// exceeded` (smtp.gmail.com), `550 5.4.5 Daily SMTP relay limit exceeded for user`,
  /// `550 5.7.1 Daily SMTP relay limit exceeded for customer` (smtp-relay.gmail.com).
  case daily
  /// A rate limit: `450 4.2.1 Peak SMTP relay limit exceeded`, `454 4.7.0 Too many login
  /// attempts`, `421 4.7.0`/`450 4.2.1` replies about sending too fast or an unusual rate.
  case rate

  /// The limit a reply names, if any.
  public static func named(by reply: SMTPReply) -> SendingLimit? {
    let status = reply.enhancedStatus.map { "\($0)" } ?? ""
    let text = reply.text.lowercased()
    if reply.code / 100 == 5 {
      if status == "5.4.5" || text.containsText("daily smtp relay limit exceeded")
        || text.containsText("daily user sending limit") || text.containsText("daily sending quota")
      {
        return .daily
      }
      return nil
    }
    guard reply.code / 100 == 4 else { return nil }
    if status == "4.5.3" { return nil }  // too many recipients for one transaction: not a window
    for phrase in ["limit exceeded", "too many login attempts", "too quickly", "unusual rate", "rate limit"]
    where text.containsText(phrase) {
      return .rate
    }
    return nil
  }
}

extension SMTPFailure {
  /// The sending limit the server's reply names, if any (see ``SendingLimit``).
  public var sendingLimit: SendingLimit? {
    guard let reply else { return nil }
    return SendingLimit.named(by: reply)
  }
}
