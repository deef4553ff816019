// SPDX-License-Identifier: MIT
// A message ready to send: its envelope, account, prepared header (fields and their
// bytes) and body statistics, and the SMTP envelope for a transfer encoding.

import GSendmailCore
import MessageCore
import SMTPCore

/// A message read from input and prepared for sending.
package struct PreparedMessage {
  /// The envelope sender; empty for the null sender.
  package var sender: String
  /// Recipients as addr-specs, duplicates removed.
  var recipients: [String]
  var account: Account
  /// The prepared header's fields as they go on the wire (for the encoding decision, the
  /// re-encoding for a quoted-printable body, and the Gmail API's recipients).
  var fields: [HeaderField]
  /// The prepared header section, CRLF, ending with the empty line: `fields` serialised.
  var header: [UInt8]
  /// Statistics of the body as read.
  var body: BodyStatistics
  /// DSN parameters from `-N`, `-R`, `-V`.
  var dsn: SMTPEnvelope.DSN?

  /// How the body goes to a server that does or does not offer 8BITMIME.
  func encoding(serverSupports8BitMIME: Bool) -> TransferEncodingDecision {
    TransferEncodingDecision.decide(fields: fields, body: body, serverSupports8BitMIME: serverSupports8BitMIME)
  }

  /// The SMTP envelope for a body sent as `decision` says, without its size
  /// (`Delivery.wire` counts the bytes that go out).
  func envelope(for decision: TransferEncodingDecision) -> SMTPEnvelope {
    let eightBit: Bool
    switch decision {
    case .eightBitMIME: eightBit = true
    case .quotedPrintable(let declare): eightBit = declare
    case .sevenBit, .refuse: eightBit = false
    }
    return SMTPEnvelope(
      sender: sender, recipients: recipients, bodyType: eightBit ? .eightBitMIME : .sevenBit, dsn: dsn)
  }
}
