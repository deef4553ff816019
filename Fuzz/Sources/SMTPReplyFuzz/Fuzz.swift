// SPDX-License-Identifier: MIT
// libFuzzer entry point for the client side of SMTP: arbitrary server bytes go through
// SMTPReplyParser (whole and in pseudo-random chunks), and the replies drive SMTPClient
// to the end of a session.
//
// Input: byte 0 chooses the client's configuration and the chunk sizes; the rest is what
// the server sends. Invariants checked:
// - chunking never changes the replies or the error (RFC 5321 §4.2 replies may arrive
//   split anywhere);
// - a parsed reply written back as wire lines parses to the same reply;
// - the parser stays failed after an error;
// - the client never traps on any reply sequence, and no transcript line (what `-v` and
//   logs show) carries the credential: a command whose bytes differ from its transcript
//   says `<redacted>`.
import FuzzSupport
import SMTPCore

private let secret = "fuzz-secret-~token"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard size > 0 else { return 0 }
  let selector = data[0]
  let stream = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))

  var whole = SMTPReplyParser(maximumLineLength: 512, maximumLineCount: 16)
  whole.append(stream)
  let (replies, failure) = drain(&whole)

  var split = SMTPReplyParser(maximumLineLength: 512, maximumLineCount: 16)
  var splitReplies: [SMTPReply] = []
  var splitFailure: SMTPFailure?
  for chunk in Chunker(stream, seed: selector) where splitFailure == nil {
    split.append(chunk)
    let (some, failed) = drain(&split)
    splitReplies += some
    splitFailure = failed
  }
  if splitFailure == nil, split.hasBufferedBytes != whole.hasBufferedBytes {
    trap("chunking changed what is left in the buffer")
  }
  if replies != splitReplies { trap("chunking changed the replies") }
  if failure != splitFailure { trap("chunking changed the error") }
  if let failure {
    do {
      _ = try whole.nextReply()
      trap("the parser forgot its error")
    } catch {
      if error != failure { trap("the parser changed its error") }
    }
  }

  for reply in replies {
    checkRoundTrip(reply)
    _ = reply.text
    _ = reply.description
    _ = SMTPCapabilities(ehloReply: reply)
  }
  let mentionsSecret = stream.count >= secret.utf8.count && String(decoding: stream, as: UTF8.self).contains(secret)
  drive(replies: replies, selector: selector, checkFailures: !mentionsSecret)
  return 0
}

/// Every reply the parser has, then the error that stopped it, if any.
private func drain(_ parser: inout SMTPReplyParser) -> ([SMTPReply], SMTPFailure?) {
  var replies: [SMTPReply] = []
  do {
    while let reply = try parser.nextReply() { replies.append(reply) }
    return (replies, nil)
  } catch {
    return (replies, error)
  }
}

/// The reply's wire lines parse back to the same reply. The limit is wider than the
/// first parser's because invalid UTF-8 became U+FFFD (three bytes for one).
private func checkRoundTrip(_ reply: SMTPReply) {
  var parser = SMTPReplyParser(maximumLineLength: 3 * 512 + 8, maximumLineCount: 16)
  for line in reply.wireLines { parser.append(Array(line.utf8) + [13, 10]) }
  let (again, failure) = drain(&parser)
  if failure != nil || again != [reply] || parser.hasBufferedBytes {
    trap("a reply does not survive its wire form")
  }
}

/// Runs an SMTPClient on the replies, answering every action as a transport would.
private func drive(replies: [SMTPReply], selector: UInt8, checkFailures: Bool) {
  var pending = replies[...]
  var client = SMTPClient(configuration: configuration(selector))
  var connectionClosed = false
  var transactions = 0
  var action = client.start()

  /// The client's answer to the next reply, or to the end of the stream; nil when done.
  func next() -> SMTPClient.Action? {
    if let reply = pending.popFirst() { return client.received(reply) }
    if connectionClosed { return nil }
    connectionClosed = true
    return client.connectionClosed()
  }

  while true {
    let following: SMTPClient.Action?
    switch action {
    case .send(let commands):
      commands.forEach(checkRedacted)
      following = next()
    case .wait:
      following = next()
    case .startTLS:
      following = client.tlsEstablished()
    case .requestCredential(let forceRefresh):
      following = forceRefresh && selector & 0x80 != 0
        ? client.credentialUnavailable() : client.credentialAvailable(Credential(secret))
    case .readyForTransaction, .messageAccepted, .messageFailed:
      if case .messageFailed(let failure) = action, checkFailures { checkNoSecret(failure) }
      if transactions < 2 {
        transactions += 1
        following = client.beginTransaction(envelope(selector))
      } else {
        following = client.quit()
      }
    case .streamBody:
      following = client.bodyFinished()
    case .close:
      return
    case .fail(let failure, let quit):
      quit.map(checkRedacted)
      if checkFailures { checkNoSecret(failure) }
      return
    }
    guard let following else { return }
    action = following
  }
}

private func checkRedacted(_ command: OutgoingCommand) {
  if command.transcript.contains(secret) { trap("a transcript line shows the credential") }
  if command.bytes != Array(command.transcript.utf8) + [13, 10], !command.transcript.contains("<redacted>") {
    trap("a command with a secret is not redacted in its transcript")
  }
}

private func checkNoSecret(_ failure: SMTPFailure) {
  if String(describing: failure).contains(secret) || String(reflecting: failure).contains(secret) {
    trap("a failure shows the credential")
  }
}

/// Bit 0: TLS mode; bits 1–3: authentication.
private func configuration(_ selector: UInt8) -> SMTPClient.Configuration {
  let authentication: SMTPClient.Authentication
  switch (selector >> 1) % 6 {
  case 0: authentication = .none
  case 1: authentication = .xoauth2(user: "alice@example.com")
  case 2: authentication = .oauthBearer(user: "alice@example.com", host: "smtp.gmail.com", port: 587)
  case 3: authentication = .password(user: "alice@example.com", mechanism: .automatic)
  case 4: authentication = .password(user: "alice@example.com", mechanism: .plain)
  default: authentication = .password(user: "alice@example.com", mechanism: .login)
  }
  return .init(
    heloName: "client.example.org", tls: selector & 1 == 0 ? .starttls : .implicit,
    authentication: authentication)
}

/// Bits 4–6: one recipient or three, an SMTPUTF8 sender, an 8-bit body with DSN options.
private func envelope(_ selector: UInt8) -> SMTPEnvelope {
  let recipients = selector & 0x10 == 0 ? ["bob@example.net"] : ["bob@example.net", "carol@example.net", "dave@example.net"]
  let sender = selector & 0x20 == 0 ? "alice@example.com" : "ålice@exämple.com"
  guard selector & 0x40 != 0 else { return SMTPEnvelope(sender: sender, recipients: recipients, size: 1234) }
  return SMTPEnvelope(
    sender: sender, recipients: recipients, size: 99, bodyType: .eightBitMIME,
    dsn: .init(ret: .headers, envelopeID: "id+2B1", notify: [.failure, .delay]))
}
