// SPDX-License-Identifier: MIT
// The envelope of one message (RFC 5321 §3.3): sender, recipients and the MAIL/RCPT
// parameters the server may support. A plain value; SMTPClient checks it against the
// server's capabilities and refuses addresses that could smuggle a command.

/// Sender, recipients and ESMTP options of one mail transaction.
public struct SMTPEnvelope: Hashable, Sendable {
  /// The `BODY=` type of the message (RFC 6152).
  public enum BodyType: Hashable, Sendable {
    /// Only 7-bit bytes: no `BODY=` parameter.
    case sevenBit
    /// 8-bit bytes: `BODY=8BITMIME`, which the server must offer.
    case eightBitMIME
  }

  /// DSN `RET=` (RFC 3461 §4.3).
  public enum DSNReturn: String, Hashable, Sendable {
    /// `RET=FULL`: the whole message in a bounce.
    case full = "FULL"
    /// `RET=HDRS`: the headers only.
    case headers = "HDRS"
  }

  /// DSN `NOTIFY=` conditions (RFC 3461 §4.1).
  public enum DSNNotify: String, Hashable, Sendable {
    /// `NEVER` (alone).
    case never = "NEVER"
    /// `SUCCESS`.
    case success = "SUCCESS"
    /// `FAILURE`.
    case failure = "FAILURE"
    /// `DELAY`.
    case delay = "DELAY"
  }

  /// Delivery status notification requests, sent only when the server offers `DSN`.
  public struct DSN: Hashable, Sendable {
    /// `RET=` on `MAIL`.
    public var ret: DSNReturn?
    /// `ENVID=` on `MAIL` (sent xtext-encoded).
    public var envelopeID: String?
    /// `NOTIFY=` on every `RCPT`; nil or empty: no parameter.
    public var notify: [DSNNotify]?

    /// Creates DSN options.
    public init(ret: DSNReturn? = nil, envelopeID: String? = nil, notify: [DSNNotify]? = nil) {
      self.ret = ret
      self.envelopeID = envelopeID
      self.notify = notify
    }
  }

  /// The envelope sender, without angle brackets; `""` is the null sender `<>`.
  public var sender: String
  /// The recipients, without angle brackets, in order (at least one).
  public var recipients: [String]
  /// The size of the prepared message in bytes (CRLF line ends, before dot-stuffing),
  /// sent as `SIZE=` when the server offers SIZE.
  public var size: Int?
  /// The body type.
  public var bodyType: BodyType
  /// DSN options.
  public var dsn: DSN?

  /// Creates an envelope.
  public init(
    sender: String, recipients: [String], size: Int? = nil, bodyType: BodyType = .sevenBit,
    dsn: DSN? = nil
  ) {
    self.sender = sender
    self.recipients = recipients
    self.size = size
    self.bodyType = bodyType
    self.dsn = dsn
  }

  /// True when an address has a non-ASCII byte, so the transaction needs `SMTPUTF8`.
  public var needsSMTPUTF8: Bool {
    ([sender] + recipients).contains { $0.utf8.contains { $0 >= 0x80 } }
  }

  /// The first address that cannot be put between `<` and `>` on one command line.
  var firstUnsafeAddress: String? {
    ([sender] + recipients).first { address in
      address.utf8.contains {
        $0 < 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">")
      }
    }
  }
}
