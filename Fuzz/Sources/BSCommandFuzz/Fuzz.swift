// SPDX-License-Identifier: MIT
// libFuzzer entry point for the server side of SMTP, as `gsendmail -bs` and the test
// server run it: every line of the input goes to SMTPCommand.parse, and the whole input
// is a client's side of a session fed to SMTPServerSession three ways.
//
// Input: byte 0 chooses the server configuration (gsendmail's `-bs` profile, a Gmail-like
// profile with STARTTLS, AUTH and CHUNKING, or tight limits) and the chunk sizes; the
// rest is what the client sends. Invariants checked:
// - command parsing: the verb is case-insensitive, trailing spaces change nothing,
//   accepting bare local names only widens what is accepted, and an accepted path holds
//   no control character;
// - the session never traps; fed whole or in pseudo-random chunks it sends the same bytes
//   and the same actions (up to STARTTLS, after which input is discarded, RFC 3207 §4.2);
// - everything it sends is a sequence of well-formed replies (RFC 5321 §4.2), complete
//   at the end of each `send`, even where the policy echoes client text;
// - after `close` it sends nothing more.
import FuzzSupport
import SMTPCore
import SMTPServerCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard size > 0 else { return 0 }
  let selector = data[0]
  let stream = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))

  for line in stream.split(separator: 0x0A, omittingEmptySubsequences: false) {
    checkCommand(Array(line.last == 0x0D ? line.dropLast() : line))
  }

  let whole = run(selector, chunks: [stream[...]], establishTLS: false)
  let split = run(selector, chunks: Array(Chunker(stream, seed: selector)), establishTLS: false)
  if whole != split { trap("chunking changed the session's output") }
  // Line by line, completing STARTTLS handshakes, to reach what follows them.
  _ = run(selector, chunks: byLine(stream), establishTLS: true)
  return 0
}

/// The input cut after each LF.
private func byLine(_ stream: [UInt8]) -> [ArraySlice<UInt8>] {
  var chunks: [ArraySlice<UInt8>] = []
  var start = 0
  for (index, byte) in stream.enumerated() where byte == 0x0A {
    chunks.append(stream[start...index])
    start = index + 1
  }
  if start < stream.count { chunks.append(stream[start...]) }
  return chunks
}

// MARK: - Command parsing

private func checkCommand(_ line: [UInt8]) {
  let strict = parse(line, localNames: false)
  let local = parse(line, localNames: true)
  if case .success(let command) = strict, local != .success(command) {
    trap("accepting local names refused or changed a command")
  }
  if case .success(let command) = local {
    switch command {
    case .mail(let address, _), .rcpt(let address, _):
      if address.unicodeScalars.contains(where: { $0.value < 0x20 }) {
        trap("a path holds a control character")
      }
    default: break
    }
  }
  guard line.allSatisfy({ $0 < 0x80 }) else { return }
  if parse(line + [0x20, 0x20], localNames: true) != local {
    trap("trailing spaces changed a command")
  }
  var lowered = line
  for i in lowered.indices {
    if lowered[i] == 0x20 { break }
    if (0x41...0x5A).contains(lowered[i]) { lowered[i] += 0x20 }
  }
  if parse(lowered, localNames: true) != local { trap("the verb's case changed a command") }
}

private func parse(_ line: [UInt8], localNames: Bool) -> Result<SMTPCommand, SMTPCommand.ParseError> {
  Result { () throws(SMTPCommand.ParseError) in try SMTPCommand.parse(line, localNames: localNames) }
}

// MARK: - Sessions

/// What a session did: the bytes it sent and the other actions, in order.
private struct Trace: Equatable {
  var sent: [UInt8] = []
  var actions: [SMTPServerAction] = []
}

/// Feeds `chunks` to a new session and checks every reply it sends.
private func run(_ selector: UInt8, chunks: [ArraySlice<UInt8>], establishTLS: Bool) -> Trace {
  var session = SMTPServerSession(
    configuration: configuration(selector), policy: FuzzPolicy(), tlsActive: selector & 0x04 != 0)
  var trace = Trace()
  var replies = SMTPReplyParser(maximumLineLength: 1 << 20, maximumLineCount: 1 << 10)
  var closed = false

  func perform(_ actions: [SMTPServerAction]) -> Bool {
    var handshake = false
    for action in actions {
      if closed { trap("the session acted after closing") }
      switch action {
      case .send(let bytes):
        trace.sent += bytes
        replies.append(bytes)
        do {
          while let reply = try replies.nextReply() { _ = reply }
        } catch {
          trap("the session sent a malformed reply")
        }
        if replies.hasBufferedBytes { trap("a send ended inside a reply") }
        continue
      case .startTLS: handshake = true
      case .close: closed = true
      }
      trace.actions.append(action)
    }
    return handshake
  }

  if perform(session.start()) { trap("STARTTLS before any command") }
  for chunk in chunks {
    if perform(session.received(chunk)) {
      guard establishTLS else { break }
      session.tlsEstablished()
    }
    if closed {
      if !session.received(chunk).isEmpty { trap("the session answered after closing") }
      break
    }
  }
  return trace
}

/// Bits 0–1: the profile; bit 2 (read by `run`): implicit TLS.
private func configuration(_ selector: UInt8) -> SMTPServerConfiguration {
  let everything: [SMTPServerCapability] = [
    .size, .eightBitMIME, .startTLS, .auth(["PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER", "CRAM-MD5"]),
    .enhancedStatusCodes, .pipelining, .chunking, .smtpUTF8, .other("X-FUZZ 1"),
  ]
  switch selector & 3 {
  case 0:
    // What `gsendmail -bs` offers a local client.
    var configuration = SMTPServerConfiguration(hostname: "host.example.org")
    configuration.capabilities = [.pipelining, .eightBitMIME, .size, .enhancedStatusCodes]
    configuration.acceptsLocalNames = true
    return configuration
  case 1:
    return SMTPServerConfiguration(
      hostname: "smtp.gmail.com", capabilities: everything, requiresAuthentication: true,
      authRequiresTLS: true)
  case 2:
    return SMTPServerConfiguration(hostname: "smtp-relay.gmail.com", capabilities: everything)
  default:
    var configuration = SMTPServerConfiguration(
      hostname: "tight.example", capabilities: everything, maxMessageSize: 100, maxRecipients: 2,
      maxLineLength: 64, maxErrors: 3)
    configuration.acceptsLocalNames = true
    return configuration
  }
}

/// A stateless policy whose decisions depend on the client's text, so that the fuzzer can
/// reach every kind of decision; refusals echo client text to test reply encoding.
private struct FuzzPolicy: SMTPServerPolicy {
  func hello(_ name: String, extended: Bool, session: SMTPSessionInfo) -> SMTPServerDecision {
    name.hasPrefix("drop") ? .drop : name.hasPrefix("stall") ? .stall : .accept
  }

  func authenticate(_ credentials: SMTPCredentials, session: SMTPSessionInfo) -> SMTPAuthDecision {
    switch credentials.secret {
    case "good": return .accept
    case "challenge":
      return .rejectAfterChallenge(
        challenge: #"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#,
        reply: SMTPServerReply(535, "5.7.8", ["Username and Password not accepted.", credentials.user]))
    case "drop": return .drop
    case "stall": return .stall
    default: return .reject(SMTPServerReply(535, "5.7.8", "refused \(credentials.user)"))
    }
  }

  func mailFrom(_ mailFrom: SMTPMailFrom, session: SMTPSessionInfo) -> SMTPServerDecision {
    decision(for: mailFrom.address)
  }

  func recipient(_ recipient: SMTPRecipient, envelope: SMTPServerCore.SMTPEnvelope, session: SMTPSessionInfo)
    -> SMTPServerDecision
  {
    decision(for: recipient.address)
  }

  func messageReceived(_ message: SMTPReceivedMessage, session: SMTPSessionInfo) -> SMTPServerDecision {
    message.data.starts(with: Array("Subject: reject".utf8))
      ? .reply(SMTPServerReply(554, "5.6.0", ["Message refused", String(decoding: message.data.prefix(80), as: UTF8.self)]))
      : .accept
  }

  private func decision(for address: String) -> SMTPServerDecision {
    if address.hasPrefix("reject") { return .reply(SMTPServerReply(550, "5.1.1", "no such user \(address)")) }
    if address.hasPrefix("defer") { return .reply(SMTPServerReply(450, "4.2.1", ["busy", address])) }
    if address.hasPrefix("close") { return .replyAndClose(SMTPServerReply(421, "4.7.0", "closing \(address)")) }
    if address.hasPrefix("drop") { return .drop }
    if address.hasPrefix("stall") { return .stall }
    return .accept
  }
}
