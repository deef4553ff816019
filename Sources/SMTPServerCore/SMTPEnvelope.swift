// SPDX-License-Identifier: MIT
// What a transaction carries: the reverse path and its parameters, the recipients, and
// the received message. Pure values, filled in by the session from parsed commands.

/// One `KEY[=VALUE]` parameter of `MAIL` or `RCPT` (RFC 5321 §4.1.2 esmtp-param).
public struct SMTPParameter: Equatable, Sendable {
  /// The keyword, upper-cased.
  public var name: String
  /// The value, or `nil` for a bare keyword such as `SMTPUTF8`.
  public var value: String?

  /// Creates a parameter.
  public init(_ name: String, _ value: String? = nil) {
    self.name = name
    self.value = value
  }
}

/// The body type declared with `BODY=` (RFC 6152).
public enum SMTPBodyType: String, Equatable, Sendable {
  /// `BODY=7BIT`.
  case sevenBit = "7BIT"
  /// `BODY=8BITMIME`.
  case eightBitMIME = "8BITMIME"
}

/// The `MAIL FROM` of a transaction.
public struct SMTPMailFrom: Equatable, Sendable {
  /// The reverse path without angle brackets; empty for the null path `<>`.
  public var address: String
  /// The parameters as sent, in order.
  public var parameters: [SMTPParameter]
  /// The declared `SIZE=`, if any.
  public var declaredSize: Int?
  /// The declared `BODY=`, if any.
  public var body: SMTPBodyType?
  /// Whether `SMTPUTF8` was given.
  public var smtpUTF8: Bool

  /// Creates a reverse path.
  public init(
    address: String, parameters: [SMTPParameter] = [], declaredSize: Int? = nil,
    body: SMTPBodyType? = nil, smtpUTF8: Bool = false
  ) {
    self.address = address
    self.parameters = parameters
    self.declaredSize = declaredSize
    self.body = body
    self.smtpUTF8 = smtpUTF8
  }
}

/// One `RCPT TO`.
public struct SMTPRecipient: Equatable, Sendable {
  /// The forward path without angle brackets (a source route is dropped).
  public var address: String
  /// The parameters as sent, in order.
  public var parameters: [SMTPParameter]

  /// Creates a recipient.
  public init(address: String, parameters: [SMTPParameter] = []) {
    self.address = address
    self.parameters = parameters
  }
}

/// A transaction's envelope: the sender and the recipients accepted so far.
public struct SMTPEnvelope: Equatable, Sendable {
  /// The accepted `MAIL FROM`.
  public var mailFrom: SMTPMailFrom
  /// The accepted recipients, in order.
  public var recipients: [SMTPRecipient]

  /// Creates an envelope.
  public init(mailFrom: SMTPMailFrom, recipients: [SMTPRecipient] = []) {
    self.mailFrom = mailFrom
    self.recipients = recipients
  }
}

/// A message received with `DATA` or `BDAT`.
public struct SMTPReceivedMessage: Equatable, Sendable {
  /// The envelope it came with.
  public var envelope: SMTPEnvelope
  /// The message bytes: after dot-unstuffing for `DATA` (the final `.` line removed,
  /// line ends as received), exactly the chunks for `BDAT`.
  public var data: [UInt8]

  /// Creates a received message.
  public init(envelope: SMTPEnvelope, data: [UInt8]) {
    self.envelope = envelope
    self.data = data
  }
}
