// SPDX-License-Identifier: MIT
// A sans-IO SMTP server session (RFC 5321 server side, with RFC 3207 STARTTLS,
// RFC 4954 AUTH, RFC 2920 pipelining, RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 3030
// CHUNKING, RFC 6531 SMTPUTF8 parameters). Pure: bytes in, actions out.
//
// Theory of operation. The driver calls `start()` once, then `received(_:)` with every
// chunk read from the peer, and performs the returned actions in order: `send` bytes,
// `startTLS` (handshake, then `tlsEstablished()`), `close`. All transitions live in
// this file. The session processes every complete command in its buffer, in order, so
// pipelined groups get their replies in one `send`. After `STARTTLS` the bytes already
// buffered are discarded (RFC 3207 §4.2: no command injection across the handshake).
// Syntax, sequence and limit checks are the session's; acceptance is asked of the
// `SMTPServerPolicy`. Failure policy: bad input from the peer is answered with a
// 5xx reply and counted; past `maxErrors` the session sends 421 and closes. Nothing
// the peer sends can trap; misuse by the driver (calling `start()` twice, or
// `tlsEstablished()` without a pending STARTTLS) is a precondition failure.
// One file over 400 lines on purpose: the state machine and its transitions read as
// one, as in the client.

import Codecs

/// What the driver must do next.
public enum SMTPServerAction: Equatable, Sendable {
  /// Write these bytes to the peer.
  case send([UInt8])
  /// Run the TLS server handshake on the connection, then call `tlsEstablished()`.
  case startTLS
  /// Close the connection.
  case close
}

/// One server-side SMTP session, without I/O.
public struct SMTPServerSession {
  /// Where the session is, as the driver sees it.
  public enum Phase: Equatable, Sendable {
    /// `start()` was not called yet.
    case notStarted
    /// Reading commands.
    case commands
    /// In an AUTH exchange, waiting for a client response line.
    case authenticating
    /// Reading message data after `354` or a `BDAT` chunk.
    case receivingMessage
    /// `220` to STARTTLS was sent: the driver must run the handshake.
    case awaitingTLS
    /// The policy chose never to answer.
    case stalled
    /// The session is over.
    case closed
  }

  private enum State: Equatable {
    case notStarted
    case commands
    case authenticating(AuthStep)
    case data
    case chunk(remaining: Int, last: Bool, error: SMTPServerReply?)
    case awaitingTLS
    case stalled
    case closed
  }

  private enum AuthStep: Equatable {
    case plainResponse
    case loginUser
    case loginPassword(user: String)
    case xoauth2Response
    case oauthBearerResponse
    case challengeAcknowledged(reply: SMTPServerReply, oauthBearer: Bool)
  }

  private struct Transaction {
    var envelope: SMTPEnvelope
    var usedChunks = false
    var chunkData: [UInt8] = []
    var chunksOversized = false
  }

  /// The static configuration.
  public let configuration: SMTPServerConfiguration
  /// What the session knows about the client.
  public private(set) var info: SMTPSessionInfo

  private let policy: any SMTPServerPolicy
  private var state: State = .notStarted
  private var transaction: Transaction?
  private var dataReader: MessageDataReader?
  private var buffer: [UInt8] = []
  private var readIndex = 0
  private var discardingLongLine = false
  private var errors = 0
  private var output: [UInt8] = []
  private var actions: [SMTPServerAction] = []

  /// Creates a session.
  /// - Parameters:
  ///   - configuration: What to advertise and enforce.
  ///   - policy: Who decides.
  ///   - tlsActive: `true` for implicit TLS (port 465 style): the handshake is done
  ///     before `start()`.
  public init(
    configuration: SMTPServerConfiguration, policy: any SMTPServerPolicy, tlsActive: Bool = false
  ) {
    self.configuration = configuration
    self.policy = policy
    self.info = SMTPSessionInfo(tlsActive: tlsActive)
  }

  /// Where the session is.
  public var phase: Phase {
    switch state {
    case .notStarted: .notStarted
    case .commands: .commands
    case .authenticating: .authenticating
    case .data, .chunk: .receivingMessage
    case .awaitingTLS: .awaitingTLS
    case .stalled: .stalled
    case .closed: .closed
    }
  }

  /// The envelope of the transaction in progress, if any.
  public var envelope: SMTPEnvelope? { transaction?.envelope }

  /// Opens the session: the greeting (or what the policy chose instead).
  /// - Returns: The actions to perform.
  public mutating func start() -> [SMTPServerAction] {
    precondition(phase == .notStarted, "SMTPServerSession.start() called twice")
    state = .commands
    decide(policy.connectionOpened(session: info), success: configuration.replies.greeting)
    process()
    return flush()
  }

  /// Processes bytes received from the peer.
  /// - Parameter bytes: Any number of bytes, split anywhere.
  /// - Returns: The actions to perform, in order.
  public mutating func received(_ bytes: some Collection<UInt8>) -> [SMTPServerAction] {
    switch state {
    case .awaitingTLS, .stalled, .closed:
      return []
    default:
      buffer.append(contentsOf: bytes)
    }
    if state == .notStarted { return [] }
    process()
    if readIndex == buffer.count {
      buffer.removeAll(keepingCapacity: true)
      readIndex = 0
    } else if readIndex > 65_536 {
      buffer.removeFirst(readIndex)
      readIndex = 0
    }
    return flush()
  }

  /// Tells the session the TLS handshake requested by `.startTLS` succeeded. The
  /// session forgets the HELO name, the authentication and the transaction
  /// (RFC 3207 §4.2) and waits for a new `EHLO`.
  public mutating func tlsEstablished() {
    precondition(phase == .awaitingTLS, "tlsEstablished() without a pending STARTTLS")
    info = SMTPSessionInfo(tlsActive: true)
    transaction = nil
    buffer.removeAll()
    readIndex = 0
    state = .commands
  }

  // MARK: - Input loop

  private mutating func process() {
    while true {
      switch state {
      case .commands:
        guard let line = nextLine() else { return }
        if let line { handleCommand(line) } else { clientError(configuration.replies.lineTooLong) }
      case .authenticating(let step):
        guard let line = nextLine() else { return }
        if let line {
          handleAuthResponse(line, step: step)
        } else {
          state = .commands
          clientError(configuration.replies.lineTooLong)
        }
      case .data:
        guard var reader = dataReader.take() else { return }
        switch reader.feed(buffer[readIndex...]) {
        case .needMore:
          readIndex = buffer.count
          dataReader = reader
          return
        case .complete(let consumed):
          readIndex += consumed
          state = .commands
          finishMessage(data: reader.data, oversized: reader.isOversized)
        }
      case .chunk(let remaining, let last, let error):
        let take = min(remaining, buffer.count - readIndex)
        appendChunk(buffer[readIndex..<readIndex + take], discard: error != nil)
        readIndex += take
        if take < remaining {
          state = .chunk(remaining: remaining - take, last: last, error: error)
          return
        }
        state = .commands
        finishChunk(last: last, error: error)
      case .notStarted, .awaitingTLS, .stalled, .closed:
        readIndex = buffer.count
        return
      }
    }
  }

  /// The next CRLF- (or LF-) terminated line: `nil` when none is complete yet,
  /// `.some(nil)` for a line over the limit (its bytes are discarded).
  private mutating func nextLine() -> [UInt8]?? {
    let available = buffer[readIndex...]
    guard let newline = available.firstIndex(of: 10) else {
      if discardingLongLine || available.count > configuration.maxLineLength {
        discardingLongLine = true
        readIndex = buffer.count
      }
      return nil
    }
    let start = readIndex
    readIndex = newline + 1
    if discardingLongLine || newline + 1 - start > configuration.maxLineLength {
      discardingLongLine = false
      return .some(nil)
    }
    var end = newline
    if end > start && buffer[end - 1] == 13 { end -= 1 }
    return Array(buffer[start..<end])
  }

  // MARK: - Commands

  private mutating func handleCommand(_ line: [UInt8]) {
    let replies = configuration.replies
    let command: SMTPCommand
    do {
      command = try SMTPCommand.parse(line, localNames: configuration.acceptsLocalNames)
    } catch {
      switch error {
      case .unknownVerb: clientError(replies.unknownCommand)
      case .badArguments, .badParameter: clientError(replies.syntaxError)
      case .missingHelloArgument: clientError(replies.helloArgumentMissing)
      case .badPath: clientError(replies.pathSyntaxError)
      }
      return
    }
    switch command {
    case .ehlo(let name): hello(name, extended: true)
    case .helo(let name): hello(name, extended: false)
    case .startTLS: startTLS()
    case .auth(let mechanism, let initialResponse): auth(mechanism, initialResponse)
    case .mail(let address, let parameters): mail(address, parameters)
    case .rcpt(let address, let parameters): rcpt(address, parameters)
    case .data: data()
    case .bdat(let size, let last): bdat(size: size, last: last)
    case .rset:
      transaction = nil
      send(replies.reset)
    case .noop: send(replies.noop)
    case .vrfy: send(replies.verify)
    case .help: send(replies.help)
    case .quit:
      send(replies.quit)
      close()
    }
  }

  private mutating func hello(_ name: String, extended: Bool) {
    let success = extended ? ehloReply() : configuration.replies.helo
    guard decide(policy.hello(name, extended: extended, session: info), success: success) else {
      return
    }
    info.helloName = name
    info.extendedHello = extended
    transaction = nil
  }

  private func ehloReply() -> SMTPServerReply {
    var lines = [configuration.ehloGreeting]
    for capability in configuration.capabilities {
      switch capability {
      case .size: lines.append("SIZE \(configuration.maxMessageSize)")
      case .eightBitMIME: lines.append("8BITMIME")
      case .startTLS where !info.tlsActive: lines.append("STARTTLS")
      case .startTLS: break
      case .auth(let mechanisms) where info.tlsActive || !configuration.authRequiresTLS:
        lines.append((["AUTH"] + mechanisms).joined(separator: " "))
      case .auth: break
      case .enhancedStatusCodes: lines.append("ENHANCEDSTATUSCODES")
      case .pipelining: lines.append("PIPELINING")
      case .chunking: lines.append("CHUNKING")
      case .smtpUTF8: lines.append("SMTPUTF8")
      case .other(let keyword): lines.append(keyword)
      }
    }
    return SMTPServerReply(250, nil, lines)
  }

  private mutating func startTLS() {
    let replies = configuration.replies
    guard configuration.offers(.startTLS) else { return clientError(replies.notImplemented) }
    guard !info.tlsActive else { return clientError(replies.startTLSRepeated) }
    guard info.helloName != nil else { return clientError(replies.helloFirst) }
    send(replies.startTLSReady)
    emit(.startTLS)
    state = .awaitingTLS
    readIndex = buffer.count
  }

  private mutating func mail(_ address: String, _ parameters: [SMTPParameter]) {
    let replies = configuration.replies
    guard info.helloName != nil else { return clientError(replies.helloFirst) }
    if configuration.requiresAuthentication && info.authentication == nil {
      return clientError(replies.authRequired)
    }
    guard transaction == nil else { return clientError(replies.mailNested) }
    var mailFrom = SMTPMailFrom(address: address, parameters: parameters)
    for parameter in parameters {
      guard info.extendedHello else { return clientError(replies.parameterUnsupported) }
      switch (parameter.name, parameter.value) {
      case ("SIZE", let value?) where configuration.offers(.size):
        guard value.utf8.count <= 18, value.allSatisfy({ $0.isASCII && $0.isNumber }),
          let size = Int(value)
        else { return clientError(replies.syntaxError) }
        mailFrom.declaredSize = size
      case ("BODY", let value?) where configuration.offers(.eightBitMIME):
        guard let body = SMTPBodyType(rawValue: value.uppercased()) else {
          return clientError(replies.parameterUnsupported)
        }
        mailFrom.body = body
      case ("SMTPUTF8", nil) where configuration.offers(.smtpUTF8):
        mailFrom.smtpUTF8 = true
      case ("AUTH", .some) where configuration.authMechanisms != nil:
        break
      default:
        return clientError(replies.parameterUnsupported)
      }
    }
    if !mailFrom.smtpUTF8 && !address.allSatisfy(\.isASCII) {
      return clientError(replies.pathSyntaxError)
    }
    if let size = mailFrom.declaredSize, size > configuration.maxMessageSize {
      return send(replies.messageTooBig)
    }
    if decide(policy.mailFrom(mailFrom, session: info), success: replies.mailAccepted) {
      transaction = Transaction(envelope: SMTPEnvelope(mailFrom: mailFrom))
    }
  }

  private mutating func rcpt(_ address: String, _ parameters: [SMTPParameter]) {
    let replies = configuration.replies
    guard info.helloName != nil else { return clientError(replies.helloFirst) }
    guard let envelope = transaction?.envelope else { return clientError(replies.mailFirst) }
    guard !address.isEmpty else { return clientError(replies.pathSyntaxError) }
    guard parameters.isEmpty else { return clientError(replies.parameterUnsupported) }
    if !envelope.mailFrom.smtpUTF8 && !address.allSatisfy(\.isASCII) {
      return clientError(replies.pathSyntaxError)
    }
    guard envelope.recipients.count < configuration.maxRecipients else {
      return send(replies.tooManyRecipients)
    }
    let recipient = SMTPRecipient(address: address, parameters: parameters)
    let decision = policy.recipient(recipient, envelope: envelope, session: info)
    if decide(decision, success: replies.recipientAccepted) {
      transaction?.envelope.recipients.append(recipient)
    }
  }

  private mutating func data() {
    let replies = configuration.replies
    guard info.helloName != nil else { return clientError(replies.helloFirst) }
    guard let current = transaction else { return clientError(replies.mailFirst) }
    guard !current.usedChunks else { return clientError(replies.dataAfterChunk) }
    guard !current.envelope.recipients.isEmpty else {
      return clientError(replies.recipientFirst)
    }
    let decision = policy.dataStarting(envelope: current.envelope, session: info)
    if decide(decision, success: replies.dataReady) {
      dataReader = MessageDataReader(limit: configuration.maxMessageSize)
      state = .data
    }
  }

  private mutating func bdat(size: Int, last: Bool) {
    let replies = configuration.replies
    guard configuration.offers(.chunking) else { return clientError(replies.notImplemented) }
    // The chunk is read (and dropped) even when the command is refused: its bytes
    // are not commands (RFC 3030 §2).
    var error: SMTPServerReply?
    if info.helloName == nil {
      error = replies.helloFirst
    } else if transaction == nil {
      error = replies.mailFirst
    } else if transaction?.envelope.recipients.isEmpty ?? true {
      error = replies.recipientFirst
    }
    if error == nil { transaction?.usedChunks = true }
    state = .chunk(remaining: size, last: last, error: error)
  }

  private mutating func appendChunk(_ bytes: ArraySlice<UInt8>, discard: Bool) {
    guard !discard, var current = transaction.take() else { return }
    if !current.chunksOversized {
      if current.chunkData.count + bytes.count > configuration.maxMessageSize {
        current.chunksOversized = true
        current.chunkData = []
      } else {
        current.chunkData += bytes
      }
    }
    transaction = current
  }

  private mutating func finishChunk(last: Bool, error: SMTPServerReply?) {
    if let error { return clientError(error) }
    guard last, let current = transaction else { return send(configuration.replies.chunkAccepted) }
    finishMessage(data: current.chunkData, oversized: current.chunksOversized)
  }

  private mutating func finishMessage(data: [UInt8], oversized: Bool) {
    guard let current = transaction else { return }
    transaction = nil
    if oversized { return send(configuration.replies.messageTooBig) }
    let message = SMTPReceivedMessage(envelope: current.envelope, data: data)
    decide(
      policy.messageReceived(message, session: info),
      success: configuration.replies.messageAccepted)
  }

  // MARK: - AUTH

  private static let implementedMechanisms: Set = ["PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"]

  private mutating func auth(_ mechanism: String, _ initialResponse: String?) {
    let replies = configuration.replies
    guard let mechanisms = configuration.authMechanisms else {
      return clientError(replies.notImplemented)
    }
    guard info.helloName != nil else { return clientError(replies.helloFirst) }
    if configuration.authRequiresTLS && !info.tlsActive { return clientError(replies.authNeedsTLS) }
    guard info.authentication == nil else { return clientError(replies.authRepeated) }
    guard transaction == nil else { return clientError(replies.badSequence) }
    guard mechanisms.contains(mechanism), Self.implementedMechanisms.contains(mechanism) else {
      return clientError(replies.authMechanismUnknown)
    }
    let step: AuthStep =
      switch mechanism {
      case "PLAIN": .plainResponse
      case "LOGIN": .loginUser
      case "XOAUTH2": .xoauth2Response
      default: .oauthBearerResponse
      }
    if let initialResponse {
      handleAuthResponse(Array(initialResponse.utf8), step: step)
    } else {
      challenge(step)
    }
  }

  /// Sends the server challenge for `step` and waits for the response line.
  private mutating func challenge(_ step: AuthStep) {
    switch step {
    case .loginUser: send(SMTPServerReply(334, nil, "VXNlcm5hbWU6"))
    case .loginPassword: send(SMTPServerReply(334, nil, "UGFzc3dvcmQ6"))
    default: send(SMTPServerReply(334, nil, ""))
    }
    state = .authenticating(step)
  }

  private mutating func handleAuthResponse(_ line: [UInt8], step: AuthStep) {
    let replies = configuration.replies
    state = .commands
    let text = String(decoding: line, as: UTF8.self)
    if text == "*" { return clientError(replies.authCancelled) }
    if case .challengeAcknowledged(let reply, let oauthBearer) = step {
      // Gmail wants an empty line after its 334 error challenge; RFC 7628 §3.2.3
      // has the client send ^A (base64 "AQ=="), accepted too for OAUTHBEARER.
      guard text.isEmpty || (oauthBearer && text == "AQ==") else {
        return clientError(replies.authUndecodable)
      }
      return clientError(reply)
    }
    guard let bytes = SASLDecoder.base64(text) else { return clientError(replies.authUndecodable) }
    let credentials: SMTPCredentials?
    switch step {
    case .plainResponse: credentials = SASLDecoder.plain(bytes)
    case .xoauth2Response: credentials = SASLDecoder.xoauth2(bytes)
    case .oauthBearerResponse: credentials = SASLDecoder.oauthBearer(bytes)
    case .loginUser:
      return challenge(.loginPassword(user: String(decoding: bytes, as: UTF8.self)))
    case .loginPassword(let user):
      credentials = .login(user: user, password: String(decoding: bytes, as: UTF8.self))
    case .challengeAcknowledged:
      credentials = nil
    }
    guard let credentials else { return clientError(replies.authUndecodable) }
    switch policy.authenticate(credentials, session: info) {
    case .accept:
      info.authentication = SMTPAuthIdentity(
        mechanism: credentials.mechanism, user: credentials.user)
      send(replies.authAccepted)
    case .reject(let reply):
      clientError(reply)
    case .rejectAfterChallenge(let json, let reply):
      switch credentials {
      case .xoauth2, .oauthBearer:
        send(SMTPServerReply(334, nil, Base64.encode(Array(json.utf8))))
        let oauthBearer = credentials.mechanism == "OAUTHBEARER"
        state = .authenticating(.challengeAcknowledged(reply: reply, oauthBearer: oauthBearer))
      case .plain, .login:
        clientError(reply)
      }
    case .drop:
      close()
    case .stall:
      state = .stalled
    }
  }

  // MARK: - Output

  /// Applies a policy decision; returns whether the command was accepted.
  @discardableResult
  private mutating func decide(_ decision: SMTPServerDecision, success: SMTPServerReply) -> Bool {
    switch decision {
    case .accept:
      send(success)
      return true
    case .reply(let reply):
      send(reply)
      return reply.isPositive
    case .replyAndClose(let reply):
      send(reply)
      close()
      return false
    case .drop:
      close()
      return false
    case .stall:
      state = .stalled
      return false
    }
  }

  /// Answers a client error, or ends the session once there were too many.
  private mutating func clientError(_ reply: SMTPServerReply) {
    errors += 1
    if errors > configuration.maxErrors {
      send(configuration.replies.tooManyErrors)
      close()
    } else {
      send(reply)
    }
  }

  /// Queues a reply. A 421 always ends the session (RFC 5321 §3.8: "Service not
  /// available, closing transmission channel"), whatever sent it.
  private mutating func send(_ reply: SMTPServerReply) {
    output += reply.encoded
    if reply.code == 421 { close() }
  }

  private mutating func emit(_ action: SMTPServerAction) {
    if !output.isEmpty {
      actions.append(.send(output))
      output = []
    }
    actions.append(action)
  }

  private mutating func close() {
    guard state != .closed else { return }
    emit(.close)
    state = .closed
    transaction = nil
    dataReader = nil
  }

  private mutating func flush() -> [SMTPServerAction] {
    if !output.isEmpty {
      actions.append(.send(output))
      output = []
    }
    defer { actions = [] }
    return actions
  }
}
