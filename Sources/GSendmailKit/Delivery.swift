// SPDX-License-Identifier: MIT
// Sends prepared messages through an account's server: chooses the
// authentication, connects, decides the transfer encoding from the server's
// EHLO, streams header and body, and returns the server's reply or throws a
// DeliveryFailure.

import GSendmailCore
import MessageCore
import SMTPCore
import TokenStore

/// Sends messages for one account.
package struct Delivery {
  package var environment: Environment
  package var config: Configuration
  package var transcript: ((String) -> Void)?
  /// Sees each step of the sessions it opens (doctor).
  package var observer: ((SessionEvent) -> Void)?
  /// Whether a saved TLS session is offered for resumption (docs/design.md, "Token
  /// cache"); the doctor turns it off to verify the certificate the server presents now.
  package var resumesTLSSessions = true

  package init(
    environment: Environment, config: Configuration, transcript: ((String) -> Void)?,
    observer: ((SessionEvent) -> Void)? = nil
  ) {
    self.environment = environment
    self.config = config
    self.transcript = transcript
    self.observer = observer
  }

  /// Opens a session for an account.
  /// - Parameter relay: Set to `host[ip]:port` once connected, even when TLS, EHLO or AUTH
  ///   then fails (left as it was when the connection failed).
  package func openSession(_ account: Account, sender: String, relay: inout String) throws -> SMTPSession {
    let credentials = Credentials(account: account, sender: sender, config: config, environment: environment)
    try credentials.checkSecretFiles()
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
    // The last authentication failure is kept for `gsendmailctl status` until a session
    // authenticates again.
    let tokens = ConfigLocator.tokenDirectory(for: config, environment: environment)
    do {
      let session = try SMTPSession(
        host: account.host, port: account.port, tls: account.tls, caFile: account.tlsCAFile, timeout: config.timeout,
        configuration: .init(heloName: account.helo ?? environment.hostName, tls: tls, authentication: authentication),
        credentials: credentials.provide, transcript: transcript, observer: observer,
        tlsSession: tlsSessionFile(account), connectedRelay: &relay)
      if account.auth != .none { AuthFailureRecord.clear(directory: tokens, account: account.name) }
      return session
    } catch var failure as DeliveryFailure {
      guard failure.kind == .authentication else { throw failure }
      failure.scopeShortfall = GmailAPIDelivery.scopeShortfall(account, config: config, environment: environment)
      AuthFailureRecord(time: environment.now().seconds, reason: failure.description).write(
        directory: tokens, account: account.name, create: !config.isSystem)
      throw failure
    }
  }

  private func tlsSessionFile(_ account: Account) -> TLSSessionFile {
    var file = config.tlsSessionFile(account, environment: environment)
    file.offersSession = resumesTLSSessions
    return file
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
  /// - Throws: `a `DeliveryFailure` of kind `.messageRejected(tooBig: true)`` before `MAIL` when the
  ///   message as it would be sent is over `max_message_size` or the server's SIZE.
  package func send(_ message: PreparedMessage, body: ByteSource, in session: SMTPSession) throws -> SMTPReply {
    let capabilities = session.client.capabilities
    let decision = message.encoding(serverSupports8BitMIME: capabilities.supportsEightBitMIME)
    let (source, envelope) = try Self.wire(
      message, body: body, decision: decision, limit: config.maxMessageSize,
      serverLimit: capabilities.maximumMessageSize)
    return try session.send(envelope, timeout: config.timeout, source: source)
  }

  /// The message as it goes out under `decision`, and its envelope with the size of
  /// exactly those bytes (SIZE, RFC 1870: CRLF line ends, header included, counted before
  /// dot-stuffing). A body re-encoded as quoted-printable is encoded once to count it.
  /// - Parameters:
  ///   - limit: `max_message_size`.
  ///   - serverLimit: The server's SIZE, when it gave one.
  /// - Throws: `a `DeliveryFailure` of kind `.messageRejected(tooBig: true)`` when the message grew past
  ///   a limit in preparation; `BadMessage` when it cannot be sent as it is.
  static func wire(
    _ message: PreparedMessage, body: ByteSource, decision: TransferEncodingDecision, limit: Int, serverLimit: Int?
  ) throws -> (MessageBytes, SMTPEnvelope) {
    let source = try wireBytes(message, body: body, decision: decision)
    var size = source.header.count + message.body.normalizedByteCount
    if source.quotedPrintable {
      size = 0
      try source.stream { size += $0.count }
    }
    func over(_ limit: Int, isServerLimit: Bool) -> DeliveryFailure {
      DeliveryFailure(
        .messageRejected(tooBig: true),
        .overSize(.init(size: size, quotedPrintable: source.quotedPrintable, limit: limit, isServerLimit: isServerLimit)))
    }
    if size > limit { throw over(limit, isServerLimit: false) }
    if let serverLimit, size > serverLimit { throw over(serverLimit, isServerLimit: true) }
    var envelope = message.envelope(for: decision)
    envelope.size = size
    return (source, envelope)
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
      return MessageBytes(
        header: HeaderPreparer.serialised(try quotedPrintableFields(message.fields)), body: body, quotedPrintable: true)
    case .sevenBit, .eightBitMIME:
      return MessageBytes(header: message.header, body: body, quotedPrintable: false)
    }
  }

  /// The prepared header's fields rewritten for a quoted-printable body.
  static func quotedPrintableFields(_ fields: [HeaderField]) throws -> [HeaderField] {
    do {
      return try HeaderPreparer.reencodedFieldsAsQuotedPrintable(fields)
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
