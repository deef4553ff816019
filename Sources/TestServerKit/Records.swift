// SPDX-License-Identifier: MIT
// What the test server saw: one record per session and per message, kept in memory
// (thread-safe) and, when asked, written to `<state>/records/` as JSON plus the message
// bytes as `.eml`. No password or token is ever stored: only whether it was valid.
// Failure policy: a record file that cannot be written is logged and skipped; the SMTP
// dialogue never fails because of recording.

import Foundation
import Synchronization

/// One AUTH attempt.
public struct AuthRecord: Codable, Equatable, Sendable {
  /// `PLAIN`, `LOGIN`, `XOAUTH2` or `OAUTHBEARER`.
  public var mechanism: String
  /// The user name presented.
  public var user: String
  /// Whether the password or token was accepted. The secret itself is never kept.
  public var credentialValid: Bool

  /// Creates an AUTH record.
  public init(mechanism: String, user: String, credentialValid: Bool) {
    self.mechanism = mechanism
    self.user = user
    self.credentialValid = credentialValid
  }
}

/// One message received (after DATA or the last BDAT), accepted or not.
public struct MessageRecord: Codable, Equatable, Sendable {
  /// The message number, from 1, across all sessions of the server.
  public var number: Int
  /// The session it came in.
  public var session: Int
  /// The reverse path (empty for `<>`).
  public var mailFrom: String
  /// The MAIL parameters as sent, e.g. `SIZE=1234`.
  public var mailParameters: [String]
  /// The accepted recipients, in order.
  public var recipients: [String]
  /// The EHLO/HELO name of the session.
  public var helloName: String?
  /// Whether TLS was active.
  public var tls: Bool
  /// The AUTH mechanism and user that sent it, if any.
  public var authMechanism: String?
  /// The AUTH user.
  public var authUser: String?
  /// The size of the data, in bytes.
  public var size: Int
  /// The reply code given to it (250, or 550 for the daily-limit scenario).
  public var replyCode: Int
  /// The `.eml` file written for it, when recording to disk.
  public var file: String?
  /// `api` for a message uploaded to the Gmail API (then `session` is 0, `authUser` the
  /// user of the upload path, and the data the upload, Bcc included); nil for SMTP.
  public var route: String? = nil
  /// The id the API answered with.
  public var apiMessageID: String? = nil
}

/// One SMTP session, updated as it goes.
public struct SessionRecord: Codable, Equatable, Sendable {
  /// The session number, from 1.
  public var number: Int
  /// `starttls` or `implicit-tls`: the listener that accepted it.
  public var listener: String
  /// The session id used in its replies.
  public var sid: String
  /// Every EHLO/HELO name, in order (an EHLO after STARTTLS adds a second one).
  public var helloNames: [String] = []
  /// Whether TLS was active at some point (STARTTLS done, or implicit TLS).
  public var tls: Bool
  /// Whether the TLS handshake resumed an earlier session (nil before the handshake).
  public var tlsResumed: Bool?
  /// Every AUTH attempt.
  public var authentications: [AuthRecord] = []
  /// The recipients refused by a scenario.
  public var rejectedRecipients: [String] = []
  /// The numbers of the messages received in this session.
  public var messages: [Int] = []
  /// Whether the session has ended.
  public var ended = false
  /// How it ended: `quit`, `closed` (by the peer), `dropped` (drop-mid-data),
  /// `closed-by-server` (421), `tls-failed`, `timeout`, `server-stopped`.
  public var end: String?
}

/// A received message with its bytes.
public struct ReceivedMessage: Equatable, Sendable {
  /// Its record.
  public var record: MessageRecord
  /// The data exactly as received, after un-dot-stuffing.
  public var data: [UInt8]
}

/// The thread-safe store of records.
final class RecordStore: Sendable {
  private struct State {
    var sessions: [SessionRecord] = []
    var messages: [ReceivedMessage] = []
    var messageNumbers = 0
  }

  private let state = Mutex(State())
  private let directory: String?
  private let log: (@Sendable (String) -> Void)?

  init(directory: String?, log: (@Sendable (String) -> Void)?) {
    self.directory = directory
    self.log = log
    if let directory {
      try? FileManager.default.createDirectory(
        atPath: directory, withIntermediateDirectories: true)
    }
  }

  var sessions: [SessionRecord] { state.withLock { $0.sessions } }
  var messages: [ReceivedMessage] { state.withLock { $0.messages } }

  /// Opens a session record and returns its number.
  func openSession(listener: String, sid: String, tls: Bool) -> Int {
    state.withLock { state in
      let record = SessionRecord(
        number: state.sessions.count + 1, listener: listener, sid: sid, tls: tls)
      state.sessions.append(record)
      write(record)
      return record.number
    }
  }

  /// Changes a session record. The file is written under the lock, so that a reader
  /// who sees the change in memory finds it on disk too.
  func updateSession(_ number: Int, _ change: (inout SessionRecord) -> Void) {
    state.withLock { state in
      guard state.sessions.indices.contains(number - 1) else { return }
      change(&state.sessions[number - 1])
      write(state.sessions[number - 1])
    }
  }

  /// Adds a message; returns its number. The files are written before the reply is sent.
  func addMessage(_ make: (Int) -> MessageRecord, data: [UInt8]) -> MessageRecord {
    var record = state.withLock { state in
      state.messageNumbers += 1
      return make(state.messageNumbers)
    }
    if let directory {
      let path = "\(directory)/\(record.number).eml"
      if FileManager.default.createFile(atPath: path, contents: Data(data)) {
        record.file = path
      } else {
        log?("records: cannot write \(path)")
      }
      writeJSON(record, to: "\(directory)/\(record.number).json")
    }
    state.withLock { state in
      state.messages.append(ReceivedMessage(record: record, data: data))
      guard state.sessions.indices.contains(record.session - 1) else { return }
      state.sessions[record.session - 1].messages.append(record.number)
      write(state.sessions[record.session - 1])
    }
    return record
  }

  private func write(_ session: SessionRecord) {
    guard let directory else { return }
    writeJSON(session, to: "\(directory)/session-\(session.number).json")
  }

  private func writeJSON(_ value: some Encodable, to path: String) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    do {
      let data = try encoder.encode(value)
      try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      log?("records: cannot write \(path): \(error)")
    }
  }
}
