// SPDX-License-Identifier: MIT
// Delivery from the queue (SPEC §7): the first attempt of a new message, and
// queue runs (`gsendmail -q`, `gsendmailctl queue flush`, after `login`). Each
// attempt ends in exactly one of: removed (sent), deferred with its reason and
// next-attempt time, or moved to failed/ (permanent, or expired — with a failure
// notice to the sender). Queue runs reuse one SMTP session per account and login
// user; per-entry locks let runners overlap without sending a message twice.
// Failures to update the queue itself are logged nowhere else and never lose a
// message: an entry that cannot be updated stays as it was and is tried again.

import GSendmailCore
import MailQueue
import SMTPCore
import Transport

#if canImport(Glibc)
import Glibc
#endif

package final class QueueRunner {
  package let environment: Environment
  package let config: Configuration
  package let store: any QueueStore
  package let transcript: ((String) -> Void)?
  package let log: DeliveryLog
  /// Failure notices queued during this run, delivered before it ends.
  private var notices: [QueueEntry] = []

  package init(environment: Environment, config: Configuration, store: any QueueStore, transcript: ((String) -> Void)?, log: DeliveryLog) {
    self.environment = environment
    self.config = config
    self.store = store
    self.transcript = transcript
    self.log = log
  }

  package var policy: RetryPolicy { RetryPolicy(lifetime: config.queueLifetime) }
  package var delivery: Delivery { Delivery(environment: environment, config: config, transcript: transcript) }

  // MARK: The first attempt

  /// What the caller of gsendmail learns about a new message.
  enum FirstAttempt {
    case sent
    /// Kept in the queue for a later run, for this reason.
    case queued(QueueID, String)
  }

  /// Tries a message just committed to the queue.
  /// - Throws: A permanent failure (the entry is then in failed/), or, with `queue = false`,
  ///   a temporary one (the entry is removed).
  func deliverNew(_ entry: QueueEntry, lock: QueueLock, message: PreparedMessage) throws -> FirstAttempt {
    var relay = "none"
    do {
      let reply = try delivery.send(message, body: EntryBody(store: store, entry: entry, lock: lock), relay: &relay)
      sent(entry, lock: lock, reply: reply, relay: relay)
      return .sent
    } catch {
      if isTemporary(error) && !config.queue {
        logAttempt(entry, status: .deferred, relay: relay, detail: errorText(error))
        try? store.remove(holding: lock)
        throw error
      }
      return try settle(entry, lock: lock, error: error, interactive: true, relay: relay)
    }
  }

  // MARK: Queue runs

  /// Delivers what is due (everything with `force`), optionally for one account only.
  /// - Returns: The number of entries tried.
  @discardableResult
  package func run(force: Bool = false, account: String? = nil) throws -> Int {
    try? store.sweep(now: environment.now().seconds, minimumAge: 3600)
    var sessions: [String: SMTPSession] = [:]
    var broken: [String: any Error] = [:]
    defer { for session in sessions.values { session.quit() } }
    var work = try store.list()
    var tried = 0
    var index = 0
    while index < work.count {
      let listed = work[index]
      index += 1
      // The clock is read per entry: a notice queued during this run is due at once even
      // when the run has crossed into a later second.
      let now = environment.now().seconds
      if let account, listed.envelope.account != account { continue }
      guard policy.disposition(of: listed, now: now, force: force) != .notDue,
        let lock = try? store.tryLock(listed.id), let entry = try? store.load(listed.id)
      else { continue }
      let disposition = policy.disposition(of: entry, now: now, force: force)
      if disposition == .notDue { continue }
      tried += 1
      defer {
        work += notices
        notices.removeAll()
      }
      if disposition == .expired {
        expire(entry, lock: lock, reason: "not delivered within queue_lifetime: \(entry.lastError)")
        continue
      }
      let message: PreparedMessage
      do {
        message = try MessageQueue.message(of: entry, config: config, environment: environment)
      } catch {
        _ = try? settle(entry, lock: lock, error: error, interactive: false)
        continue
      }
      // One session per account and login user (a pattern account logs in as the sender).
      let key = message.account.name + "\u{0}" + message.account.loginUser(sender: message.sender)
      if let error = broken[key] {
        _ = try? settle(entry, lock: lock, error: error, interactive: false)
        continue
      }
      var relay = "none"
      do {
        if sessions[key] == nil {
          sessions[key] = try delivery.openSession(message.account, sender: message.sender, relay: &relay)
        }
        guard let session = sessions[key] else { continue }
        relay = session.relay
        do {
          let reply = try delivery.send(message, body: EntryBody(store: store, entry: entry, lock: lock), in: session)
          sent(entry, lock: lock, reply: reply, relay: session.relay)
        } catch {
          if !(session.connection.isOpen && session.client.isReady) { sessions[key] = nil }
          throw error
        }
      } catch {
        // A session that could not be opened or died: the other messages of this account
        // would meet the same fate now, so they are deferred with the same reason.
        if sessions[key] == nil && isTemporary(error) { broken[key] = error }
        _ = try? settle(entry, lock: lock, error: error, interactive: false, relay: relay)
      }
    }
    return tried
  }

  // MARK: Outcomes

  private func sent(_ entry: QueueEntry, lock: QueueLock, reply: SMTPReply, relay: String) {
    logAttempt(entry, status: .sent, relay: relay, detail: reply.description)
    do {
      try store.remove(holding: lock)
    } catch {
      // The server has it; the entry must not be sent again: park it in failed/.
      var sentEntry = entry
      sentEntry.lastError = "sent (\(reply.description)), but could not be removed from the queue: \(errorText(error))"
      try? store.moveToFailed(sentEntry, holding: lock)
      logAttempt(entry, status: .sent, relay: relay, detail: sentEntry.lastError)
    }
  }

  /// Records a failed attempt: deferred (temporary) or failed/ (permanent, or expired).
  private func settle(
    _ entry: QueueEntry, lock: QueueLock, error: any Error, interactive: Bool, relay: String = "none"
  ) throws -> FirstAttempt {
    let reason = errorText(error)
    // A configuration problem met on the first attempt is the caller's to fix now (exit 78,
    // message in failed/); met in a queue run, the entry waits for the file to be fixed.
    if isTemporary(error) && !(interactive && error is ConfigError) {
      let now = environment.now().seconds
      switch policy.afterTemporaryFailure(attempts: entry.attempts + 1, arrival: entry.arrival, now: now) {
      case .retry(let at):
        var updated = entry
        // Only an OAuth account waits for `gsendmailctl login`; a password or service-account
        // account is retried on the normal schedule once its credentials are fixed.
        let waitsForLogin = isAuthentication(error) && config.account(named: entry.envelope.account)?.auth == .oauth
        updated.recordTemporaryFailure(reason: reason, nextAttempt: at, forAuthentication: waitsForLogin)
        try? store.update(updated, holding: lock)
        logAttempt(entry, status: .deferred, relay: relay, detail: reason)
        return .queued(entry.id, reason)
      case .expire:
        expire(entry, lock: lock, reason: "not delivered within queue_lifetime: \(reason)")
        if interactive { throw error }
        return .queued(entry.id, reason)
      }
    }
    var failed = entry
    failed.lastError = reason
    try? store.moveToFailed(failed, holding: lock)
    logAttempt(entry, status: .bounced, relay: relay, detail: reason)
    // The caller of gsendmail is told by the exit code; a queue run tells the sender.
    if interactive { throw error }
    queueNotice(for: failed, lock: lock, reason: reason)
    return .queued(entry.id, reason)
  }

  /// Moves an entry that outlived `queue_lifetime` to failed/ and notifies its sender.
  private func expire(_ entry: QueueEntry, lock: QueueLock, reason: String) {
    var failed = entry
    failed.lastError = reason
    try? store.moveToFailed(failed, holding: lock)
    logAttempt(entry, status: .bounced, relay: "none", detail: reason)
    queueNotice(for: failed, lock: lock, reason: reason)
  }

  /// Queues a failure notice (RFC 3464) to the sender of a failed entry, from the null
  /// sender through the same account. None for the null sender.
  private func queueNotice(for entry: QueueEntry, lock: QueueLock, reason: String) {
    let now = environment.now()
    var generator = SystemRandomNumberGenerator()
    guard let account = config.account(named: entry.envelope.account),
      let notice = FailureNotice.make(
        for: entry,
        failures: entry.envelope.recipients.map { .init(address: $0, status: "5.0.0", diagnostic: reason) },
        reportingHost: environment.hostName, fromAddress: account.defaultSender(headerFrom: nil, userName: "mailer-daemon"),
        now: now.seconds, zoneOffsetMinutes: environment.zoneOffsetMinutes, using: &generator)
    else { return }
    do {
      let draft = try store.create()
      var header: [UInt8] = []
      for segment in notice.segments {
        switch segment {
        case .bytes(let bytes) where header.isEmpty:
          // The first segment is the notice's header and the start of its body.
          let split = Self.endOfHeader(bytes)
          header = Array(bytes[..<split])
          try draft.append(bytes[split...])
        case .bytes(let bytes):
          try draft.append(bytes)
        case .originalBody:
          try EntryBody(store: store, entry: entry, lock: lock).stream { try draft.append($0) }
        }
      }
      let envelope = QueueEnvelope(sender: "", account: entry.envelope.account, recipients: [notice.recipient])
      let (queued, noticeLock) = try store.commit(draft, envelope: envelope, header: header, arrival: now.seconds)
      noticeLock.release()
      notices.append(queued)
    } catch {
      logAttempt(entry, status: .bounced, relay: "none", detail: "the failure notice could not be queued: \(errorText(error))")
    }
  }

  /// The offset just after the first empty line (CRLF CRLF), or the end.
  package static func endOfHeader(_ bytes: [UInt8]) -> Int {
    var i = 0
    while i + 3 < bytes.count {
      if bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { return i + 4 }
      i += 1
    }
    return bytes.count
  }

  private func logAttempt(_ entry: QueueEntry, status: DeliveryRecord.Status, relay: String, detail: String) {
    let now = environment.now()
    log.log(
      DeliveryRecord(
        id: entry.id.rawValue, from: entry.envelope.sender, to: entry.envelope.recipients, size: entry.size,
        relay: relay, delay: max(0, now.seconds - entry.arrival), status: status, detail: detail),
      now: now)
  }
}

/// Whether a later attempt may succeed: SPEC §7's temporary outcomes, authentication
/// failures (deferred until `login`), and configuration problems (the file may be fixed).
func isTemporary(_ error: any Error) -> Bool {
  switch error {
  case let failure as DeliveryFailure: return failure.isTemporary
  case is ConfigError: return true
  default: return false
  }
}

func isAuthentication(_ error: any Error) -> Bool {
  if case .authentication = error as? DeliveryFailure { return true }
  return false
}
