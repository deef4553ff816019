// SPDX-License-Identifier: MIT
// The transport loop: the only code that moves bytes between a Connection and
// the sans-IO SMTPClient. Read bytes, feed the reply parser, hand each reply to
// the machine, perform the action it returns. Everything it decides is decided
// by SMTPClient; this file only performs and translates failures.

import GSendmailCore
import SMTPCore
import TokenStore
import Transport

/// Supplies the secret for AUTH: an access token or a password.
/// `forceRefresh` is true once, after the server rejected a token.
package typealias CredentialProvider = (_ forceRefresh: Bool) throws -> Credential?

/// Bytes produced in bounded chunks, so memory does not grow with the message: a body
/// on disk or in memory, or a whole message (CRLF line ends, not yet dot-stuffed).
package protocol ByteSource {
  /// Calls `write` with successive chunks.
  func stream(_ write: ([UInt8]) throws -> Void) throws
}

/// A step of a session, as it happens: `-v` prints each as transcript lines; doctor
/// reads the steps themselves to tell where a session stopped.
package enum SessionEvent {
  case connected(relay: String)
  case tls(String)
  /// A command sent: its verb (`EHLO`, `AUTH`, …) and its transcript line (secrets redacted).
  case command(verb: String, line: String)
  case reply(SMTPReply)
  /// The message body and the end-of-data dot, with the size sent.
  case body(size: Int)

  /// The transcript lines of the event.
  package var lines: [String] {
    switch self {
    case .connected(let relay): return ["connected to \(relay)"]
    case .tls(let summary): return ["TLS \(summary)"]
    case .command(_, let line): return ["C: \(line)"]
    case .reply(let reply): return reply.wireLines.map { "S: \($0)" }
    case .body(let size): return ["C: <message, \(size) bytes>", "C: ."]
    }
  }
}

/// One SMTP session with a server.
package final class SMTPSession {
  package let connection: Connection
  package var client: SMTPClient
  package var parser = SMTPReplyParser()
  package let serverName: String
  package let caFile: String?
  package let credentials: CredentialProvider
  package let transcript: ((String) -> Void)?
  /// Sees each step of the session.
  package let observer: ((SessionEvent) -> Void)?
  /// `host[ip]:port` for logs.
  package let relay: String
  /// Where the server's TLS session is kept for the next process to resume (its `now` is
  /// the time a session's expiry is checked against), and the session offered.
  private let tlsSession: TLSSessionFile?
  private var offered: TLSSessionFile.Saved?

  private enum Stop {
    case ready
    case accepted(SMTPReply)
    case failed(SMTPFailure)
    case closed
  }

  /// Connects, does TLS and AUTH as configured, and returns when the server is ready for a
  /// transaction.
  /// - Parameter connectedRelay: Set to `host[ip]:port` as soon as the TCP connection is
  ///   made, so that a failure of TLS, EHLO or AUTH is logged with the server it reached.
  /// - Throws: `DeliveryFailure`.
  package init(
    host: String, port: Int, tls: TLSMode, caFile: String?, timeout: Int, configuration: SMTPClient.Configuration,
    credentials: @escaping CredentialProvider, transcript: ((String) -> Void)?,
    observer: ((SessionEvent) -> Void)? = nil, tlsSession: TLSSessionFile? = nil,
    connectedRelay: inout String
  ) throws {
    self.tlsSession = tlsSession
    self.serverName = host
    self.caFile = caFile
    self.credentials = credentials
    self.transcript = transcript
    self.observer = observer
    self.client = SMTPClient(configuration: configuration)
    do {
      connection = try TCPConnection.connect(host: host, port: UInt16(clamping: port), timeout: .seconds(timeout))
      relay = "\(host)[\(connection.peerAddress ?? "?")]:\(port)"
      connectedRelay = relay
      emit(.connected(relay: relay))
      if tls == .implicit {
        offered = tlsSession?.load()
        try connection.startTLS(
          serverName: host, caFile: caFile, session: offered?.session, now: Int64(tlsSession?.now ?? 0))
        emit(.tls(connection.tlsSummary.map(\.description) ?? ""))
      }
    } catch {
      throw DeliveryFailure.from(error)
    }
    switch try drive(client.start()) {
    case .ready: return
    case .accepted, .failed, .closed:
      connection.close()
      throw DeliveryFailure(.temporary, .sessionEnded(beforeReady: true))
    }
  }

  /// Sends one message in the open session.
  /// - Returns: The server's reply to the end of data.
  /// - Throws: `DeliveryFailure` (the session stays usable after a rejected message).
  package func send(_ envelope: SMTPEnvelope, timeout: Int, source: ByteSource) throws -> SMTPReply {
    self.source = source
    self.dataTimeout = timeout * 10
    defer { self.source = nil }
    switch try drive(client.beginTransaction(envelope)) {
    case .accepted(let reply): return reply
    case .failed(let failure): throw DeliveryFailure.from(failure)
    case .ready, .closed: throw DeliveryFailure(.temporary, .sessionEnded(beforeReady: false))
    }
  }

  /// Ends the session: politely when it is idle, else by closing the connection.
  package func quit() {
    // Before QUIT, which closes the connection and with it the session the server gave.
    // A resumed handshake's new session descends from the offered one's verification.
    let resumed = connection.tlsSummary?.resumed ?? false
    if let session = connection.takeTLSSession() {
      if !resumed {
        tlsSession?.save(session)
      } else if let offered {
        tlsSession?.save(session, verified: offered.verified)
      }
    }
    if connection.isOpen && client.isReady { _ = try? drive(client.quit()) }
    connection.close()
  }

  private func emit(_ event: SessionEvent) {
    observer?(event)
    if let transcript { for line in event.lines { transcript(line) } }
  }

  /// The verb of a command, upper-cased.
  private static func verb(_ command: OutgoingCommand) -> String {
    command.transcript.prefix { $0 != " " }.uppercased()
  }

  private var source: ByteSource?
  private var dataTimeout = 600

  private func drive(_ first: SMTPClient.Action) throws -> Stop {
    var action = first
    while true {
      switch action {
      case .send(let commands):
        var bytes: [UInt8] = []
        for command in commands {
          emit(.command(verb: Self.verb(command), line: command.transcript))
          bytes += command.bytes
        }
        try io { try connection.write(bytes) }
        action = try nextReply()
      case .wait:
        action = try nextReply()
      case .startTLS:
        do {
          try parser.expectNothingBeforeTLS()
        } catch {
          action = .fail(error, quit: nil)
          continue
        }
        try io {
          offered = tlsSession?.load()
          try connection.startTLS(
            serverName: serverName, caFile: caFile, session: offered?.session, now: Int64(tlsSession?.now ?? 0))
        }
        emit(.tls(connection.tlsSummary.map(\.description) ?? ""))
        action = client.tlsEstablished()
      case .requestCredential(let forceRefresh):
        if let credential = try credentials(forceRefresh) {
          action = client.credentialAvailable(credential)
        } else {
          action = client.credentialUnavailable()
        }
      case .readyForTransaction:
        return .ready
      case .streamBody:
        guard let source else { preconditionFailure("body requested outside a transaction") }
        var encoder = DotStuffingEncoder()
        var size = 0
        let saved = connection.timeout
        try io {
          try source.stream { chunk in
            size += chunk.count
            try connection.write(encoder.encode(chunk))
          }
          try connection.write(encoder.finish())
        }
        emit(.body(size: size))
        // RFC 5321 §4.5.3.2.6: the wait for the reply to the end of data is the long one
        // (gsendmail.conf(5): ten times the timeout); the usual timeout is back once it arrived.
        guard case .wait = client.bodyFinished() else { preconditionFailure("bodyFinished() must wait for the reply") }
        connection.timeout = .seconds(dataTimeout)
        defer { connection.timeout = saved }
        action = try nextReply()
      case .messageAccepted(let reply):
        return .accepted(reply)
      case .messageFailed(let failure):
        return .failed(failure)
      case .close:
        connection.close()
        return .closed
      case .fail(let failure, let quit):
        if let quit {
          emit(.command(verb: Self.verb(quit), line: quit.transcript))
          try? connection.write(quit.bytes)
        }
        connection.close()
        throw DeliveryFailure.from(failure)
      }
    }
  }

  /// Reads until the parser has a reply, and gives it to the machine.
  private func nextReply() throws -> SMTPClient.Action {
    var buffer: [UInt8] = []
    while true {
      do {
        if let reply = try parser.nextReply() {
          emit(.reply(reply))
          return client.received(reply)
        }
      } catch {
        return .fail(error, quit: nil)
      }
      buffer.removeAll(keepingCapacity: true)
      let n = try io { try connection.read(into: &buffer) }
      if n == 0 { return client.connectionClosed() }
      parser.append(buffer)
    }
  }

  private func io<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as TransportError {
      connection.close()
      throw DeliveryFailure.from(error)
    }
  }
}
