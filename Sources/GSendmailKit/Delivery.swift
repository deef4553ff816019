// SPDX-License-Identifier: MIT
// Sends prepared messages through an account's server: chooses the
// authentication, connects, decides the transfer encoding from the server's
// EHLO, streams header and body, and returns the server's reply or throws a
// DeliveryFailure.

import GSendmailCore
import MessageCore
import SMTPCore

/// Sends messages for one account.
package struct Delivery {
  package var environment: Environment
  package var config: Configuration
  package var transcript: ((String) -> Void)?

  package init(environment: Environment, config: Configuration, transcript: ((String) -> Void)?) {
    self.environment = environment
    self.config = config
    self.transcript = transcript
  }

  /// Opens a session for an account.
  /// - Parameter relay: Set to `host[ip]:port` once connected, even when TLS, EHLO or AUTH
  ///   then fails (left as it was when the connection failed).
  package func openSession(_ account: Account, sender: String, relay: inout String) throws -> SMTPSession {
    let user = account.loginUser(sender: sender)
    let authentication: SMTPClient.Authentication
    switch account.auth {
    case .none: authentication = .none
    case .password: authentication = .password(user: user, mechanism: .automatic)
    case .oauth, .serviceAccount:
      authentication = account.mechanism == .xoauth2
        ? .xoauth2(user: user) : .oauthBearer(user: user, host: account.host, port: account.port)
    }
    let tls: SMTPClient.TLSMode = account.tls == .implicit ? .implicit : .starttls
    let credentials = Credentials(account: account, sender: sender, config: config, environment: environment)
    return try SMTPSession(
      host: account.host, port: account.port, tls: account.tls, caFile: account.tlsCAFile, timeout: config.timeout,
      configuration: .init(heloName: account.helo ?? environment.hostName, tls: tls, authentication: authentication),
      credentials: credentials.provide, transcript: transcript, connectedRelay: &relay)
  }

  /// Sends one message in a new session.
  /// - Parameter relay: Set to `host[ip]:port` once connected, for the log line (left as it
  ///   was when the connection failed).
  /// - Returns: The server's reply to the end of data.
  /// - Throws: `DeliveryFailure`, `BadMessage`, `ConfigError`.
  package func send(_ message: PreparedMessage, body: ByteSource, relay: inout String) throws -> SMTPReply {
    let session = try openSession(message.account, sender: message.sender, relay: &relay)
    defer { session.quit() }
    return try send(message, body: body, in: session)
  }

  /// Sends one message in an open session.
  package func send(_ message: PreparedMessage, body: ByteSource, in session: SMTPSession) throws -> SMTPReply {
    let decision = message.encoding(serverSupports8BitMIME: session.client.capabilities.supportsEightBitMIME)
    let source = try Self.wireBytes(message, body: body, decision: decision)
    return try session.send(message.envelope(for: decision), timeout: config.timeout, source: source)
  }

  /// The message as it goes out under `decision`: header and body, or the header rewritten
  /// and the body encoded quoted-printable.
  /// - Throws: `BadMessage` when the message cannot be sent as it is (a multipart body
  ///   with lines too long).
  static func wireBytes(_ message: PreparedMessage, body: ByteSource, decision: TransferEncodingDecision) throws
    -> MessageBytes
  {
    switch decision {
    case .refuse(let refusal):
      throw BadMessage(describeRefusal(refusal))
    case .quotedPrintable:
      return MessageBytes(header: try quotedPrintableHeader(message.header), body: body, quotedPrintable: true)
    case .sevenBit, .eightBitMIME:
      return MessageBytes(header: message.header, body: body, quotedPrintable: false)
    }
  }

  /// The prepared header rewritten for a quoted-printable body.
  package static func quotedPrintableHeader(_ header: [UInt8]) throws -> [UInt8] {
    var scanner = MessageScanner()
    try scanner.push(header)
    let fields = try scanner.finish().fields
    do {
      return try HeaderPreparer.reencodedAsQuotedPrintable(fields)
    } catch {
      throw BadMessage("cannot re-encode the message: \(describe(error))")
    }
  }
}

/// Header then body, the body optionally quoted-printable encoded.
struct MessageBytes: ByteSource {
  package var header: [UInt8]
  package var body: ByteSource
  package var quotedPrintable: Bool

  package func stream(_ write: ([UInt8]) throws -> Void) throws {
    try write(header)
    guard quotedPrintable else {
      try body.stream(write)
      return
    }
    var encoder = QuotedPrintableEncoder()
    try body.stream { chunk in try write(encoder.push(chunk)) }
    try write(encoder.finish())
  }
}
