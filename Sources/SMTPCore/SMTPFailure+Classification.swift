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
