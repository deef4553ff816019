// SPDX-License-Identifier: MIT
// The SMTP submission client as a state machine with no I/O (RFC 5321, 3207, 4954, 2920).
// Failure policy: whatever the server sends, an input returns an Action (a remote error
// is a `.fail` or `.messageFailed` carrying an SMTPFailure); only a caller that breaks the
// call protocol below (our own bug) stops on a precondition.
//
// Theory of operation
// -------------------
// The transport owns the socket; this struct owns the protocol. Every input is a mutating
// function returning the next Action, and every transition is in this file (h11's rule,
// and the reason the file is over 400 lines: split, no one place would show them all):
//
//   start()               connection open (TCP, or TLS already up for `.implicit`)
//   received(reply)       one complete reply from SMTPReplyParser
//   tlsEstablished()      the handshake asked for by `.startTLS` succeeded
//   credentialAvailable() / credentialUnavailable()   answer to `.requestCredential`
//   beginTransaction(env) / quit()                    answer to `.readyForTransaction`,
//                                                      `.messageAccepted`, `.messageFailed`
//   bodyFinished()        the body and its terminator, asked for by `.streamBody`, are written
//   connectionClosed()    the server closed the connection (or reading failed)
//
// States are named after what was last sent: greetingAwaited → ehloSent (→ heloSent when
// the server refuses EHLO with 500/502) → startTLSSent → tlsHandshakeRequested → ehloSent
// again with the capabilities forgotten → credentialRequested → authSent → sessionReady →
// transactionSent → bodyRequested → bodySent → sessionReady … → quitSent → finished.
//
// Policy:
// - TLS is always required. `.starttls`: STARTTLS must be offered, else the session fails
//   with `missingCapability(.startTLS)`; `.implicit`: the transport did TLS before the
//   greeting. AUTH is reached only through `authenticateOrReady()`, which requires TLS.
// - AUTH uses the configured mechanism, which must be offered. XOAUTH2 and OAUTHBEARER
//   send an initial response; an error challenge (`334` + base64 JSON) is answered with an
//   empty line (XOAUTH2) or `AQ==` (RFC 7628 §3.2.3) and decoded into the failure. A `535`
//   to an OAuth mechanism asks once for a forced token refresh and re-sends AUTH in the same
//   session; a second rejection is final.
// - A transaction is all or nothing (gsendmail(8), "QUEUE" and "EXIT STATUS"). With PIPELINING, MAIL and every RCPT go in
//   one write, and DATA joins them only for a single recipient (then a refused recipient
//   leaves no one to deliver to, and RFC 2920 makes the server refuse DATA). With several
//   recipients DATA waits for all RCPT replies, so a partly refused list ends with RSET and
//   nothing is sent. Without PIPELINING every RCPT is still sent, one at a time, so that
//   the failure lists every recipient's reply. Replies are matched to a queue of expected
//   replies, oldest first.
// - `421` ends the session at any point. Other refusals of a message leave the session
//   usable (after RSET when a transaction was open) so a queue run can send the next one.
// - Every command comes as an OutgoingCommand: bytes for the wire, and a transcript line
//   with secrets replaced by `<redacted>`.
// - One file over 400 lines on purpose: the whole state machine, read top to bottom as the
//   session runs.

/// A sans-IO SMTP client session.
public struct SMTPClient: Sendable {
  /// How TLS is set up.
  public enum TLSMode: Hashable, Sendable {
    /// Plain TCP, then `STARTTLS` (RFC 3207), which the server must offer (port 587).
    case starttls
    /// TLS from the first byte (RFC 8314; port 465).
    case implicit
  }

  /// Which password mechanism to use.
  public enum PasswordMechanism: Hashable, Sendable {
    /// `PLAIN` when offered, else `LOGIN`.
    case automatic
    /// `PLAIN` only.
    case plain
    /// `LOGIN` only.
    case login
  }

  /// How to authenticate, if at all.
  public enum Authentication: Hashable, Sendable {
    /// No `AUTH` (e.g. an IP-allow-listed relay).
    case none
    /// XOAUTH2 with an OAuth access token for this mailbox address.
    case xoauth2(user: String)
    /// RFC 7628 OAUTHBEARER; `host` and `port` are the server's, as RFC 7628 §3.1 asks.
    case oauthBearer(user: String, host: String, port: Int)
    /// A password (an app password for Gmail) with PLAIN or LOGIN.
    case password(user: String, mechanism: PasswordMechanism)
  }

  /// The session's fixed settings.
  public struct Configuration: Hashable, Sendable {
    /// The name sent with `EHLO`/`HELO`: the machine's FQDN.
    public var heloName: String
    /// How TLS is set up.
    public var tls: TLSMode
    /// How to authenticate.
    public var authentication: Authentication

    /// Creates a configuration.
    public init(heloName: String, tls: TLSMode, authentication: Authentication) {
      self.heloName = heloName
      self.tls = tls
      self.authentication = authentication
    }
  }

  /// What the transport must do next.
  public enum Action: Hashable, Sendable {
    /// Write these commands in one write (several when pipelining), then read replies.
    case send([OutgoingCommand])
    /// Read the next reply: more replies are due for commands already sent.
    case wait
    /// Perform the TLS handshake now, then call ``SMTPClient/tlsEstablished()``. Check
    /// ``SMTPReplyParser/expectNothingBeforeTLS()`` first.
    case startTLS
    /// Get the access token or password, then call ``SMTPClient/credentialAvailable(_:)``
    /// (or ``SMTPClient/credentialUnavailable()``). `forceRefresh`: the server refused the
    /// previous token; get a new one from the token endpoint, not the cache.
    case requestCredential(forceRefresh: Bool)
    /// The session is set up (TLS, AUTH). Call ``SMTPClient/beginTransaction(_:)`` or
    /// ``SMTPClient/quit()``. ``SMTPClient/capabilities`` is final now.
    case readyForTransaction
    /// Write the prepared message through a ``DotStuffingEncoder`` and its `finish()`
    /// terminator, then call ``SMTPClient/bodyFinished()``.
    case streamBody
    /// The server took the message with this reply to the end of data. Call
    /// ``SMTPClient/beginTransaction(_:)`` or ``SMTPClient/quit()``.
    case messageAccepted(SMTPReply)
    /// This message failed and nothing of it was delivered; the session goes on. Call
    /// ``SMTPClient/beginTransaction(_:)`` or ``SMTPClient/quit()``.
    case messageFailed(SMTPFailure)
    /// `QUIT` was answered (or the connection closed after it): close the connection.
    case close
    /// The session failed. Write `quit` if given (without waiting for its reply), then close
    /// the connection. A message in progress was not delivered.
    case fail(SMTPFailure, quit: OutgoingCommand?)
  }

  private enum State: Sendable {
    case initialized
    case greetingAwaited
    case ehloSent
    case heloSent
    case startTLSSent
    case tlsHandshakeRequested
    case credentialRequested(CredentialRequest)
    case authSent(AuthExchange)
    case sessionReady
    case transactionSent(Transaction)
    case bodyRequested
    case bodySent
    case dataAbortSent(SMTPFailure)
    case rsetSent(SMTPFailure)
    case quitSent
    case finished(SMTPFailure?)
  }

  private struct CredentialRequest: Sendable {
    var mechanism: SASLMechanism
    var forceRefresh: Bool
    /// The rejection that made us ask for a fresh token.
    var rejection: AuthenticationFailure?
  }

  private struct AuthExchange: Sendable {
    var mechanism: SASLMechanism
    var credential: Credential
    var challengesAnswered = 0
    var challenge: OAuthChallenge?
    var afterFreshCredential: Bool
  }

  private enum ExpectedReply: Sendable {
    case mail, rcpt, data
  }

  private struct Transaction: Sendable {
    var envelope: SMTPEnvelope
    var awaiting: [ExpectedReply]
    var mailReply: SMTPReply?
    var recipientReplies: [SMTPReply] = []
    var dataReply: SMTPReply?
  }

  /// The session's settings.
  public let configuration: Configuration
  /// What the server offered in its last EHLO reply; empty after `HELO`, and forgotten
  /// when TLS starts (RFC 3207 §4.2).
  public private(set) var capabilities = SMTPCapabilities()
  private var tlsActive: Bool
  private var state = State.initialized

  /// Creates a session that has not started.
  public init(configuration: Configuration) {
    self.configuration = configuration
    self.tlsActive = configuration.tls == .implicit
  }

  // MARK: - Inputs

  /// The connection is open; wait for the greeting.
  public mutating func start() -> Action {
    guard case .initialized = state else { preconditionFailure("start() called twice") }
    state = .greetingAwaited
    return .wait
  }

  /// Handles one complete reply from the server.
  public mutating func received(_ reply: SMTPReply) -> Action {
    if reply.code == 421 {
      switch state {
      case .quitSent, .finished: break
      case .rsetSent(let failure), .dataAbortSent(let failure): return fail(failure, quit: false)
      default: return fail(.rejected(reply, during: phase), quit: false)
      }
    }
    switch state {
    case .greetingAwaited:
      guard reply.code == 220 else { return refuse(reply) }
      return sendHello(.ehloSent)
    case .ehloSent:
      if reply.code == 500 || reply.code == 502 { return sendHello(.heloSent) }
      guard reply.isPositiveCompletion else { return refuse(reply) }
      capabilities = SMTPCapabilities(ehloReply: reply)
      return afterHello()
    case .heloSent:
      guard reply.isPositiveCompletion else { return refuse(reply) }
      capabilities = SMTPCapabilities()
      return afterHello()
    case .startTLSSent:
      guard reply.code == 220 else { return refuse(reply) }
      state = .tlsHandshakeRequested
      return .startTLS
    case .authSent(let exchange):
      return authReply(reply, exchange)
    case .transactionSent(let transaction):
      return transactionReply(reply, transaction)
    case .bodySent:
      guard reply.isPositiveCompletion else { return refuse(reply) }
      state = .sessionReady
      return .messageAccepted(reply)
    case .dataAbortSent(let failure):
      state = .sessionReady
      return .messageFailed(failure)
    case .rsetSent(let failure):
      guard reply.isPositiveCompletion else { return fail(failure, quit: true) }
      state = .sessionReady
      return .messageFailed(failure)
    case .quitSent:
      state = .finished(nil)
      return .close
    case .finished(let failure):
      return terminal(failure)
    case .initialized, .tlsHandshakeRequested, .credentialRequested, .sessionReady, .bodyRequested:
      return fail(.protocolViolation(.unsolicitedReply(code: reply.code)), quit: false)
    }
  }

  /// The TLS handshake asked for by ``Action/startTLS`` completed: say EHLO again.
  public mutating func tlsEstablished() -> Action {
    guard case .tlsHandshakeRequested = state else {
      preconditionFailure("tlsEstablished() without .startTLS")
    }
    tlsActive = true
    capabilities = SMTPCapabilities()
    return sendHello(.ehloSent)
  }

  /// The credential asked for by ``Action/requestCredential(forceRefresh:)``.
  public mutating func credentialAvailable(_ credential: Credential) -> Action {
    guard case .credentialRequested(let request) = state else {
      preconditionFailure("credentialAvailable(_:) without .requestCredential")
    }
    let user = configuration.authentication.user
    let command: OutgoingCommand
    switch request.mechanism {
    case .xoauth2:
      command = Self.secretAuth("XOAUTH2", SASL.xoauth2(user: user, token: credential))
    case .oauthBearer:
      guard case .oauthBearer(_, let host, let port) = configuration.authentication else {
        preconditionFailure("OAUTHBEARER chosen without its configuration")
      }
      command = Self.secretAuth(
        "OAUTHBEARER", SASL.oauthBearer(user: user, host: host, port: port, token: credential))
    case .plain:
      command = Self.secretAuth("PLAIN", SASL.plain(user: user, password: credential))
    case .login:
      command = OutgoingCommand("AUTH LOGIN")
    }
    state = .authSent(
      AuthExchange(
        mechanism: request.mechanism, credential: credential,
        afterFreshCredential: request.forceRefresh))
    return .send([command])
  }

  /// The caller could not get the credential asked for: end the session with the rejection
  /// that prompted a refresh, or ``SMTPFailure/credentialUnavailable``.
  public mutating func credentialUnavailable() -> Action {
    guard case .credentialRequested(let request) = state else {
      preconditionFailure("credentialUnavailable() without .requestCredential")
    }
    return fail(
      request.rejection.map { .authenticationFailed($0) } ?? .credentialUnavailable, quit: true)
  }

  /// Starts sending one message. Allowed after ``Action/readyForTransaction``,
  /// ``Action/messageAccepted(_:)`` and ``Action/messageFailed(_:)``.
  /// - Parameter envelope: Sender and at least one recipient.
  /// - Returns: The first commands, or ``Action/messageFailed(_:)`` at once when the
  ///   envelope cannot be sent to this server (an unsafe address, or `SMTPUTF8`/`8BITMIME`
  ///   needed but not offered: re-encode and try again, or give up).
  public mutating func beginTransaction(_ envelope: SMTPEnvelope) -> Action {
    guard case .sessionReady = state else { preconditionFailure("beginTransaction(_:) while busy") }
    precondition(!envelope.recipients.isEmpty, "an envelope needs a recipient")
    if let address = envelope.firstUnsafeAddress {
      return .messageFailed(.invalidAddress(address))
    }
    if envelope.needsSMTPUTF8 && !capabilities.supportsSMTPUTF8 {
      return .messageFailed(.missingCapability(.smtpUTF8))
    }
    if envelope.bodyType == .eightBitMIME && !capabilities.supportsEightBitMIME {
      return .messageFailed(.missingCapability(.eightBitMIME))
    }
    var transaction = Transaction(envelope: envelope, awaiting: [.mail])
    var commands = [mailCommand(envelope)]
    if capabilities.supportsPipelining {
      commands += envelope.recipients.indices.map { rcptCommand(envelope, $0) }
      transaction.awaiting += Array(repeating: .rcpt, count: envelope.recipients.count)
      if envelope.recipients.count == 1 {
        commands.append(OutgoingCommand("DATA"))
        transaction.awaiting.append(.data)
      }
    }
    state = .transactionSent(transaction)
    return .send(commands)
  }

  /// The body and its terminator, asked for by ``Action/streamBody``, are written.
  public mutating func bodyFinished() -> Action {
    guard case .bodyRequested = state else {
      preconditionFailure("bodyFinished() without .streamBody")
    }
    state = .bodySent
    return .wait
  }

  /// Whether the session can take a transaction or a QUIT (after `.readyForTransaction`,
  /// `.messageAccepted` or `.messageFailed`).
  public var isReady: Bool {
    if case .sessionReady = state { return true }
    return false
  }

  /// Ends the session politely. Allowed where ``beginTransaction(_:)`` is.
  public mutating func quit() -> Action {
    guard case .sessionReady = state else { preconditionFailure("quit() while busy") }
    state = .quitSent
    return .send([OutgoingCommand("QUIT")])
  }

  /// The connection closed (end of stream or a read error).
  public mutating func connectionClosed() -> Action {
    switch state {
    case .quitSent:
      state = .finished(nil)
      return .close
    case .finished(let failure):
      return terminal(failure)
    case .rsetSent(let failure), .dataAbortSent(let failure):
      return fail(failure, quit: false)
    default:
      return fail(.connectionClosed(during: phase), quit: false)
    }
  }

  // MARK: - Session set-up

  private mutating func sendHello(_ next: State) -> Action {
    state = next
    let verb = if case .heloSent = next { "HELO" } else { "EHLO" }
    return .send([OutgoingCommand("\(verb) \(configuration.heloName)")])
  }

  private mutating func afterHello() -> Action {
    guard tlsActive else {
      guard capabilities.supportsStartTLS else {
        return fail(.missingCapability(.startTLS), quit: true)
      }
      state = .startTLSSent
      return .send([OutgoingCommand("STARTTLS")])
    }
    return authenticateOrReady()
  }

  /// The only way to AUTH: reached after EHLO, and only once TLS is up.
  private mutating func authenticateOrReady() -> Action {
    precondition(tlsActive, "AUTH must never be sent before TLS")
    let mechanism: SASLMechanism
    switch configuration.authentication {
    case .none:
      state = .sessionReady
      return .readyForTransaction
    case .xoauth2: mechanism = .xoauth2
    case .oauthBearer: mechanism = .oauthBearer
    case .password(_, .plain): mechanism = .plain
    case .password(_, .login): mechanism = .login
    case .password(_, .automatic):
      mechanism = capabilities.offers(.login) && !capabilities.offers(.plain) ? .login : .plain
    }
    guard capabilities.offers(mechanism) else {
      return fail(.missingCapability(.auth(mechanism)), quit: true)
    }
    state = .credentialRequested(
      CredentialRequest(mechanism: mechanism, forceRefresh: false, rejection: nil))
    return .requestCredential(forceRefresh: false)
  }

  private mutating func authReply(_ reply: SMTPReply, _ exchange: AuthExchange) -> Action {
    var exchange = exchange
    if reply.isPositiveCompletion {
      state = .sessionReady
      return .readyForTransaction
    }
    if reply.code == 334 {
      let answer: OutgoingCommand
      switch (exchange.mechanism, exchange.challengesAnswered) {
      case (.xoauth2, 0):
        exchange.challenge = OAuthChallenge(base64Text: reply.lines[0])
        answer = OutgoingCommand("")
      case (.oauthBearer, 0):
        exchange.challenge = OAuthChallenge(base64Text: reply.lines[0])
        answer = OutgoingCommand(SASL.oauthBearerErrorAcknowledgement)
      case (.login, 0):
        answer = OutgoingCommand(
          secretLine: SASL.login(configuration.authentication.user), transcript: "<redacted>")
      case (.login, 1):
        answer = OutgoingCommand(
          secretLine: SASL.login(exchange.credential.secret), transcript: "<redacted>")
      default:
        return fail(.protocolViolation(.unexpectedReply(code: 334, during: .auth)), quit: false)
      }
      exchange.challengesAnswered += 1
      state = .authSent(exchange)
      return .send([answer])
    }
    guard reply.isPermanentNegative else { return refuse(reply) }
    let failure = AuthenticationFailure(
      mechanism: exchange.mechanism, reply: reply, challenge: exchange.challenge,
      afterFreshCredential: exchange.afterFreshCredential)
    let isToken = exchange.mechanism == .xoauth2 || exchange.mechanism == .oauthBearer
    if isToken && reply.code == 535 && !exchange.afterFreshCredential {
      state = .credentialRequested(
        CredentialRequest(mechanism: exchange.mechanism, forceRefresh: true, rejection: failure))
      return .requestCredential(forceRefresh: true)
    }
    return fail(.authenticationFailed(failure), quit: true)
  }

  // MARK: - Mail transaction

  private mutating func transactionReply(_ reply: SMTPReply, _ transaction: Transaction) -> Action {
    var transaction = transaction
    let expected = transaction.awaiting.removeFirst()
    let positive = expected == .data ? reply.code == 354 : reply.isPositiveCompletion
    guard positive || reply.isTransientNegative || reply.isPermanentNegative else {
      return fail(
        .protocolViolation(.unexpectedReply(code: reply.code, during: phase)), quit: false)
    }
    switch expected {
    case .mail: transaction.mailReply = reply
    case .rcpt: transaction.recipientReplies.append(reply)
    case .data: transaction.dataReply = reply
    }
    guard transaction.awaiting.isEmpty else {
      state = .transactionSent(transaction)
      return .wait
    }
    return advance(transaction)
  }

  /// All replies sent for so far are in: decide the next step of the transaction.
  private mutating func advance(_ transaction: Transaction) -> Action {
    var transaction = transaction
    let envelope = transaction.envelope
    let dataOpened = transaction.dataReply?.code == 354
    if let mail = transaction.mailReply, !mail.isPositiveCompletion {
      // No transaction was opened: nothing to reset.
      let failure = SMTPFailure.rejected(mail, during: .mailFrom)
      if dataOpened { return abortData(failure) }
      state = .sessionReady
      return .messageFailed(failure)
    }
    let sent = transaction.recipientReplies.count
    if sent < envelope.recipients.count {
      transaction.awaiting = [.rcpt]
      state = .transactionSent(transaction)
      return .send([rcptCommand(envelope, sent)])
    }
    let results = zip(envelope.recipients, transaction.recipientReplies).map(RecipientResult.init)
    if results.contains(where: { !$0.isAccepted }) {
      if dataOpened { return abortData(.recipientsRejected(results)) }
      return reset(.recipientsRejected(results))
    }
    guard let data = transaction.dataReply else {
      transaction.awaiting = [.data]
      state = .transactionSent(transaction)
      return .send([OutgoingCommand("DATA")])
    }
    guard dataOpened else { return reset(.rejected(data, during: .data)) }
    state = .bodyRequested
    return .streamBody
  }

  /// `354` came although no recipient can take the message: end the empty data at once.
  /// Nobody receives it, and the end-of-data reply also ends the transaction.
  private mutating func abortData(_ failure: SMTPFailure) -> Action {
    state = .dataAbortSent(failure)
    return .send([OutgoingCommand(".")])
  }

  private mutating func reset(_ failure: SMTPFailure) -> Action {
    state = .rsetSent(failure)
    return .send([OutgoingCommand("RSET")])
  }

  private func mailCommand(_ envelope: SMTPEnvelope) -> OutgoingCommand {
    Self.mailCommand(envelope, capabilities: capabilities)
  }

  private func rcptCommand(_ envelope: SMTPEnvelope, _ index: Int) -> OutgoingCommand {
    Self.rcptCommand(envelope, index, capabilities: capabilities)
  }

  /// The `MAIL FROM` command for an envelope, with the parameters a server with these
  /// capabilities gets (also used by `gsendmail --dry-run`).
  public static func mailCommand(_ envelope: SMTPEnvelope, capabilities: SMTPCapabilities) -> OutgoingCommand {
    var line = "MAIL FROM:<\(envelope.sender)>"
    if capabilities.supportsSize, let size = envelope.size { line += " SIZE=\(size)" }
    if envelope.bodyType == .eightBitMIME { line += " BODY=8BITMIME" }
    if envelope.needsSMTPUTF8 { line += " SMTPUTF8" }
    if capabilities.supportsDSN, let dsn = envelope.dsn {
      if let ret = dsn.ret { line += " RET=\(ret.rawValue)" }
      if let id = dsn.envelopeID { line += " ENVID=\(Self.xtext(id))" }
    }
    return OutgoingCommand(line)
  }

  /// The `RCPT TO` command for the recipient at `index`.
  public static func rcptCommand(
    _ envelope: SMTPEnvelope, _ index: Int, capabilities: SMTPCapabilities
  ) -> OutgoingCommand {
    var line = "RCPT TO:<\(envelope.recipients[index])>"
    if capabilities.supportsDSN, let notify = envelope.dsn?.notify, !notify.isEmpty {
      line += " NOTIFY=" + notify.map(\.rawValue).joined(separator: ",")
    }
    return OutgoingCommand(line)
  }

  // MARK: - Helpers

  /// The command whose reply is awaited, for failures.
  private var phase: SMTPPhase {
    switch state {
    case .initialized, .greetingAwaited: .greeting
    case .ehloSent: .ehlo
    case .heloSent: .helo
    case .startTLSSent, .tlsHandshakeRequested: .startTLS
    case .credentialRequested, .authSent: .auth
    case .sessionReady: .idle
    case .transactionSent(let transaction):
      switch transaction.awaiting.first {
      case .mail: .mailFrom
      case .rcpt: .rcptTo
      case .data, nil: .data
      }
    case .bodyRequested: .data
    case .bodySent, .dataAbortSent: .endOfData
    case .rsetSent: .rset
    case .quitSent, .finished: .quit
    }
  }

  /// A 4xx/5xx (or nonsense) reply to a session command or to the end of data.
  private mutating func refuse(_ reply: SMTPReply) -> Action {
    let phase = self.phase
    guard reply.isTransientNegative || reply.isPermanentNegative else {
      return fail(
        .protocolViolation(.unexpectedReply(code: reply.code, during: phase)), quit: false)
    }
    if phase == .endOfData {
      state = .sessionReady
      return .messageFailed(.rejected(reply, during: .endOfData))
    }
    return fail(.rejected(reply, during: phase), quit: true)
  }

  private mutating func fail(_ failure: SMTPFailure, quit: Bool) -> Action {
    state = .finished(failure)
    return .fail(failure, quit: quit ? OutgoingCommand("QUIT") : nil)
  }

  private func terminal(_ failure: SMTPFailure?) -> Action {
    failure.map { .fail($0, quit: nil) } ?? .close
  }

  private static func secretAuth(_ mechanism: String, _ payload: String) -> OutgoingCommand {
    OutgoingCommand(
      secretLine: "AUTH \(mechanism) \(payload)", transcript: "AUTH \(mechanism) <redacted>")
  }

  /// RFC 3461 §4 xtext: `+XX` for `+`, `=`, and bytes outside `!`...`~`.
  private static func xtext(_ text: String) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    for byte in text.utf8 {
      if (33...126).contains(byte) && byte != UInt8(ascii: "+") && byte != UInt8(ascii: "=") {
        out.append(byte)
      } else {
        out += [UInt8(ascii: "+"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}

extension SMTPClient.Authentication {
  /// The login name (empty for `.none`).
  fileprivate var user: String {
    switch self {
    case .none: ""
    case .xoauth2(let user), .oauthBearer(let user, _, _), .password(let user, _): user
    }
  }
}
