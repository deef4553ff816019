// Runs a `.smtp` transcript against SMTPClient, playing the transport: it feeds the
// server lines to an SMTPReplyParser in a chosen chunking, checks each command the client
// writes, answers the client's requests, and checks the outcomes. Format (one event a line):
//
//   # comment                      ! tls starttls|implicit      ! helo NAME
//   ! auth none | xoauth2 USER | oauthbearer USER HOST PORT | password USER automatic|plain|login
//   ! message from=ADDR to=ADDR[,ADDR] [size=N] [body=8bit] [ret=full|hdrs] [envid=X] [notify=A,B]
//   S: server line                 S~ server bytes with no line end (a line split in two)
//   C: exact client line           ! tls-established   ! body   ! close
//   ! credential SECRET            ! credential-refresh SECRET  ! credential-unavailable
//   = accepted CODE [X.Y.Z]        = message-failed CLASS FAILURE
//   = failed CLASS FAILURE         = closed
//
// `! message` lines set up the messages sent, in order, whenever the session is ready.
// CLASS is temporary, permanent or neither (SMTPFailure.isTemporary / isPermanent).

import Foundation
import SMTPCore
import Testing

/// How server bytes are handed to the parser.
enum Chunking: String, CaseIterable, Sendable {
  /// Each block of consecutive server lines in one append.
  case whole
  /// Each transcript line in its own append.
  case lineByLine
  /// One byte per append.
  case byteByByte
}

struct Transcript: Sendable, CustomTestStringConvertible {
  enum Event: Equatable, Sendable {
    case server([UInt8])
    case client(String)
    case directive(String)
    case outcome(String)
  }

  let name: String
  var configuration = SMTPClient.Configuration(
    heloName: "client.example.org", tls: .implicit, authentication: .none)
  var messages: [SMTPEnvelope] = []
  var events: [Event] = []
  /// Every `! credential` value: none may appear in any display string.
  var secrets: [String] = []

  var testDescription: String { name }

  static let directory: URL =
    Bundle.module.url(forResource: "Transcripts", withExtension: nil)
    ?? URL(fileURLWithPath: "Transcripts")

  static func all() -> [Transcript] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.filter { $0.hasSuffix(".smtp") }.sorted().map { name in
      let text =
        (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
      return Transcript(name: String(name.dropLast(5)), text: text)
    }
  }

  init(name: String, text: String) {
    self.name = name
    for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
      let line = String(rawLine)
      if line.hasPrefix("S: ") || line == "S:" {
        events.append(.server(Array(line.dropFirst(3).utf8) + [13, 10]))
      } else if line.hasPrefix("S~ ") {
        events.append(.server(Array(line.dropFirst(3).utf8)))
      } else if line.hasPrefix("C: ") || line == "C:" {
        events.append(.client(String(line.dropFirst(3))))
      } else if line.hasPrefix("= ") {
        events.append(.outcome(String(line.dropFirst(2))))
      } else if line.hasPrefix("! ") {
        let words = line.dropFirst(2).split(separator: " ").map(String.init)
        switch words.first {
        case "tls": configuration.tls = words[1] == "starttls" ? .starttls : .implicit
        case "helo": configuration.heloName = words[1]
        case "auth": configuration.authentication = Self.authentication(Array(words.dropFirst()))
        case "message": messages.append(Self.envelope(Array(words.dropFirst())))
        case "credential", "credential-refresh":
          secrets.append(words[1])
          events.append(.directive(String(line.dropFirst(2))))
        default: events.append(.directive(String(line.dropFirst(2))))
        }
      }
    }
  }

  private static func authentication(_ words: [String]) -> SMTPClient.Authentication {
    switch words[0] {
    case "xoauth2": .xoauth2(user: words[1])
    case "oauthbearer": .oauthBearer(user: words[1], host: words[2], port: Int(words[3]) ?? 0)
    case "password":
      .password(
        user: words[1],
        mechanism: ["plain": .plain, "login": .login][words[safe: 2] ?? ""] ?? .automatic)
    default: .none
    }
  }

  private static func envelope(_ words: [String]) -> SMTPEnvelope {
    var envelope = SMTPEnvelope(sender: "", recipients: [])
    var dsn = SMTPEnvelope.DSN()
    for word in words {
      let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      let value = parts.count > 1 ? String(parts[1]) : ""
      switch parts[0] {
      case "from": envelope.sender = value
      case "to": envelope.recipients = value.split(separator: ",").map(String.init)
      case "size": envelope.size = Int(value)
      case "body": envelope.bodyType = value == "8bit" ? .eightBitMIME : .sevenBit
      case "ret": dsn.ret = value == "full" ? .full : .headers
      case "envid": dsn.envelopeID = value
      case "notify":
        dsn.notify = value.split(separator: ",").compactMap {
          SMTPEnvelope.DSNNotify(rawValue: $0.uppercased())
        }
      default: break
      }
    }
    if dsn != SMTPEnvelope.DSN() { envelope.dsn = dsn }
    return envelope
  }
}

extension Array {
  subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

/// The result of one run: the first mismatch (if any) and everything shown to a user.
struct TranscriptRun {
  var mismatch: String?
  /// The `transcript` of every command written.
  var displayed: [String] = []
  /// Every command written: (wire line without CRLF, transcript).
  var written: [(wire: String, display: String)] = []
  /// `String(describing:)` and `String(reflecting:)` of every action.
  var actionTexts: [String] = []
}

struct TranscriptRunner {
  private let transcript: Transcript
  private let chunking: Chunking
  private var client: SMTPClient
  private var parser = SMTPReplyParser()
  private var position = 0
  private var pendingChunks: [[UInt8]] = []
  private var messages: [SMTPEnvelope]
  private var run = TranscriptRun()
  /// Set when the session ended on a protocol violation: unread server bytes are expected.
  private var brokenByServer = false

  init(_ transcript: Transcript, chunking: Chunking) {
    self.transcript = transcript
    self.chunking = chunking
    self.client = SMTPClient(configuration: transcript.configuration)
    self.messages = transcript.messages
  }

  private struct Mismatch: Error {
    let text: String
  }

  mutating func execute() -> TranscriptRun {
    do {
      try loop()
      if position < transcript.events.count {
        throw Mismatch(text: "events left over from #\(position): \(transcript.events[position])")
      }
      if !brokenByServer && (!pendingChunks.isEmpty || parser.hasBufferedBytes) {
        throw Mismatch(text: "server bytes left over")
      }
    } catch let mismatch as Mismatch {
      run.mismatch = "[\(chunking)] \(mismatch.text)"
    } catch {
      run.mismatch = "[\(chunking)] \(error)"
    }
    return run
  }

  private mutating func loop() throws {
    var action = client.start()
    while true {
      run.actionTexts += [String(describing: action), String(reflecting: action)]
      switch action {
      case .send(let commands):
        for command in commands { try expectWrite(command) }
        action = try nextReplyAction()
      case .wait:
        action = try nextReplyAction()
      case .startTLS:
        do {
          parser.append(pendingChunks.joined())
          pendingChunks = []
          try parser.expectNothingBeforeTLS()
        } catch {
          try finish(failure: error, quit: nil)
          return
        }
        try expect(.directive("tls-established"))
        action = client.tlsEstablished()
      case .requestCredential(let forceRefresh):
        let event = try take()
        guard case .directive(let text) = event else { throw unexpected(event, "a credential") }
        let words = text.split(separator: " ").map(String.init)
        switch (words[0], forceRefresh) {
        case ("credential", false), ("credential-refresh", true):
          action = client.credentialAvailable(Credential(words[1]))
        case ("credential-unavailable", _):
          action = client.credentialUnavailable()
        default:
          throw Mismatch(
            text:
              "client asked for a credential (forceRefresh: \(forceRefresh)), transcript has \(text)"
          )
        }
      case .readyForTransaction:
        action = nextMessageOrQuit()
      case .streamBody:
        try expect(.directive("body"))
        action = client.bodyFinished()
      case .messageAccepted(let reply):
        try expect(
          .outcome(
            ["accepted", String(reply.code), reply.enhancedStatus?.description]
              .compactMap { $0 }.joined(separator: " ")))
        action = nextMessageOrQuit()
      case .messageFailed(let failure):
        try expect(.outcome("message-failed " + FailureText.render(failure)))
        action = nextMessageOrQuit()
      case .close:
        try expect(.outcome("closed"))
        return
      case .fail(let failure, let quit):
        try finish(failure: failure, quit: quit)
        return
      }
    }
  }

  private mutating func nextMessageOrQuit() -> SMTPClient.Action {
    messages.isEmpty ? client.quit() : client.beginTransaction(messages.removeFirst())
  }

  private mutating func finish(failure: SMTPFailure, quit: OutgoingCommand?) throws {
    if case .protocolViolation = failure { brokenByServer = true }
    if let quit { try expectWrite(quit) }
    try expect(.outcome("failed " + FailureText.render(failure)))
  }

  /// The transport's read loop: parse a reply, appending server bytes as needed.
  private mutating func nextReplyAction() throws -> SMTPClient.Action {
    while true {
      let reply: SMTPReply?
      do {
        reply = try parser.nextReply()
      } catch {
        return .fail(error, quit: nil)
      }
      if let reply { return client.received(reply) }
      if !pendingChunks.isEmpty {
        parser.append(pendingChunks.removeFirst())
        continue
      }
      guard position < transcript.events.count else {
        throw Mismatch(text: "client waits for a reply; transcript ended")
      }
      switch transcript.events[position] {
      case .server:
        var block: [[UInt8]] = []
        while position < transcript.events.count,
          case .server(let bytes) = transcript.events[position]
        {
          block.append(bytes)
          position += 1
        }
        switch chunking {
        case .whole: pendingChunks = [block.flatMap { $0 }]
        case .lineByLine: pendingChunks = block
        case .byteByByte: pendingChunks = block.flatMap { $0 }.map { [$0] }
        }
      case .directive("close"):
        position += 1
        return client.connectionClosed()
      case let event:
        throw unexpected(event, "a server reply")
      }
    }
  }

  private mutating func expectWrite(_ command: OutgoingCommand) throws {
    run.displayed.append(command.transcript)
    let event = try take()
    guard case .client(let line) = event else {
      throw unexpected(event, "client line \"\(command.transcript)\"")
    }
    guard command.bytes == Array(line.utf8) + [13, 10] else {
      throw Mismatch(text: "client wrote \"\(command.transcript)\", transcript expects \"\(line)\"")
    }
    run.written.append((wire: line, display: command.transcript))
  }

  private mutating func expect(_ expected: Transcript.Event) throws {
    let event = try take()
    guard event == expected else { throw unexpected(event, "\(expected)") }
  }

  private mutating func take() throws -> Transcript.Event {
    guard position < transcript.events.count else {
      throw Mismatch(text: "transcript ended early")
    }
    position += 1
    return transcript.events[position - 1]
  }

  private func unexpected(_ event: Transcript.Event, _ wanted: String) -> Mismatch {
    Mismatch(text: "at event #\(position): wanted \(wanted), transcript has \(event)")
  }
}

/// A stable one-line rendering of failures for transcripts and tables.
enum FailureText {
  static func render(_ failure: SMTPFailure) -> String {
    let kind =
      failure.isTemporary ? "temporary" : failure.isPermanent ? "permanent" : "neither"
    return kind + " " + detail(failure) + (failure.isHELONameRejected ? " (helo-name)" : "")
  }

  static func reply(_ reply: SMTPReply) -> String {
    [String(reply.code), reply.enhancedStatus?.description].compactMap { $0 }.joined(separator: " ")
  }

  private static func detail(_ failure: SMTPFailure) -> String {
    switch failure {
    case .connectionClosed(let phase): "connection-closed \(phase.rawValue)"
    case .protocolViolation(let violation): "protocol-violation " + render(violation)
    case .missingCapability(let capability): "missing-capability \(capability)"
    case .rejected(let r, let phase): "rejected \(reply(r)) \(phase.rawValue)"
    case .authenticationFailed(let auth):
      [
        "auth-failed", auth.mechanism.rawValue, reply(auth.reply),
        auth.challenge.map {
          "challenge=\($0.status ?? "-")/\($0.schemes ?? "-")/\($0.scope ?? "-")"
        },
        auth.afterFreshCredential ? "fresh" : nil,
      ].compactMap { $0 }.joined(separator: " ")
    case .recipientsRejected(let results):
      "recipients-rejected "
        + results.map { "\($0.recipient)=\($0.reply.code)" }.joined(separator: " ")
    case .invalidAddress(let address): "invalid-address \(address)"
    case .credentialUnavailable: "credential-unavailable"
    }
  }

  private static func render(_ violation: SMTPProtocolViolation) -> String {
    switch violation {
    case .lineTooLong: "line-too-long"
    case .tooManyLines: "too-many-lines"
    case .malformedLine: "malformed-line"
    case .mismatchedCodes(let first, let then): "mismatched-codes \(first) \(then)"
    case .unexpectedReply(let code, let phase): "unexpected-reply \(code) \(phase.rawValue)"
    case .unsolicitedReply(let code): "unsolicited-reply \(code)"
    case .dataAfterSTARTTLS: "data-after-starttls"
    }
  }
}
