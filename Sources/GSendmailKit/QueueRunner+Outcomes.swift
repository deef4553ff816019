// SPDX-License-Identifier: MIT
// How a queue run records each outcome: sent (removed), deferred (with the retry
// schedule, or a sending limit's window), failed (failed/, a notice to the sender),
// and the housekeeping of failed/ entries past `failed_lifetime`. Every outcome is
// one log line.

import GSendmailCore
import MailQueue
import MessageCore
import SMTPCore

extension QueueRunner {
  /// A message the server accepted: out of the queue, and counted against the account's
  /// local limits.
  func delivered(_ entry: QueueEntry, lock: QueueLock, message: PreparedMessage, detail: String, relay: String) {
    sent(entry, lock: lock, detail: detail, relay: relay)
    recordSend(message)
  }

  /// - Parameter detail: What the server said: the SMTP reply, or the Gmail API's message id.
  func sent(_ entry: QueueEntry, lock: QueueLock, detail: String, relay: String) {
    logAttempt(entry, status: .sent, relay: relay, detail: detail)
    summary.sent += 1
    do {
      try store.remove(holding: lock)
    } catch {
      // The server has it; the entry must not be sent again: park it in failed/.
      var sentEntry = entry
      sentEntry.lastError = "sent (\(detail)), but could not be removed from the queue: \(errorText(error))"
      try? store.moveToFailed(sentEntry, holding: lock)
      logAttempt(entry, status: .sent, relay: relay, detail: sentEntry.lastError)
    }
  }

  /// Records a failed attempt: deferred (temporary; a sending limit with its long
  /// backoff) or failed/ (permanent, or expired).
  func settle(
    _ entry: QueueEntry, lock: QueueLock, error: any Error, interactive: Bool, relay: String = "none"
  ) throws -> FirstAttempt {
    let reason = errorText(error)
    // A configuration problem met on the first attempt is the caller's to fix now (exit 78,
    // message in failed/); met in a queue run, the entry waits for the file to be fixed.
    if isTemporary(error) && !(interactive && error is ConfigError) {
      let now = environment.now().seconds
      let limit = (error as? DeliveryFailure)?.sendingLimit
      let decision =
        limit.map { policy.afterLimit($0, attempts: entry.attempts + 1, arrival: entry.arrival, now: now) }
        ?? policy.afterTemporaryFailure(attempts: entry.attempts + 1, arrival: entry.arrival, now: now)
      switch decision {
      case .retry(let at) where limit != nil:
        hold(entry, lock: lock, reason: reason, until: at, attempted: true, relay: relay)
        return .queued(entry.id, reason + "; next try at " + localTime(at))
      case .retry(let at):
        var updated = entry
        // Only an OAuth account waits for `gsendmailctl login`; a password or service-account
        // account is retried on the normal schedule once its credentials are fixed.
        let waitsForLogin = isAuthentication(error) && entry.envelope.account.flatMap(config.account(named:))?.auth == .oauth
        updated.recordTemporaryFailure(reason: reason, nextAttempt: at, forAuthentication: waitsForLogin)
        try? store.update(updated, holding: lock)
        logAttempt(entry, status: .deferred, relay: relay, detail: reason)
        summary.deferred(until: at)
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
    summary.failed += 1
    // The caller of gsendmail is told by the exit code; a queue run tells the sender.
    if interactive { throw error }
    queueNotice(for: failed, lock: lock, failures: Self.noticeRecipients(failed.envelope.recipients, error: error))
    return .queued(entry.id, reason)
  }

  /// Moves an entry that outlived `queue_lifetime` to failed/ and notifies its sender.
  func expire(_ entry: QueueEntry, lock: QueueLock, reason: String) {
    var failed = entry
    failed.lastError = reason
    try? store.moveToFailed(failed, holding: lock)
    logAttempt(entry, status: .bounced, relay: "none", detail: reason)
    summary.failed += 1
    // RFC 3463 4.4.7: delivery time expired.
    queueNotice(
      for: failed, lock: lock,
      failures: failed.envelope.recipients.map {
        .init(address: $0, status: "4.4.7", diagnosticType: "x-gsendmail", diagnostic: reason)
      })
  }

  /// Each recipient of a failed message with its own status and diagnostic (RFC 3464): the
  /// server's reply to that recipient when it refused it; the reply that refused the whole
  /// message; else the status of the outcome's exit code (gsendmail(8), "EXIT STATUS").
  static func noticeRecipients(_ recipients: [String], error: any Error) -> [FailureNotice.FailedRecipient] {
    typealias Failed = FailureNotice.FailedRecipient
    let failure = error as? DeliveryFailure
    if failure?.kind == .recipientsRejected, let replies = failure?.recipientReplies, !replies.isEmpty {
      return recipients.map { address in
        guard let refused = replies.first(where: { $0.address == address }) else {
          // Accepted, but not sent: a refused recipient stopped the transaction.
          return Failed(
            address: address, status: "5.0.0", diagnosticType: "x-gsendmail",
            diagnostic: "not sent: the server refused another recipient of the message")
        }
        return Failed(address: address, status: refused.reply.status, diagnostic: refused.reply.description)
      }
    }
    if let reply = failure?.serverReply {
      return recipients.map { Failed(address: $0, status: reply.status, diagnostic: reply.description) }
    }
    let status = ExitStatus.code(for: error).status
    return recipients.map {
      Failed(address: $0, status: status, diagnosticType: "x-gsendmail", diagnostic: errorText(error))
    }
  }

  /// Queues a failure notice (RFC 3464) to the sender of a failed entry, from the null
  /// sender through the same account. None for the null sender.
  func queueNotice(for entry: QueueEntry, lock: QueueLock, failures: [FailureNotice.FailedRecipient]) {
    let now = environment.now()
    var generator = SystemRandomNumberGenerator()
    guard let account = entry.envelope.account.flatMap(config.account(named:)),
      let notice = FailureNotice.make(
        for: entry,
        failures: failures,
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
      // The notice belongs to whoever submitted the original, who may see and run it.
      let envelope = QueueEnvelope(
        sender: "", account: entry.envelope.account, recipients: [notice.recipient], submitter: entry.envelope.submitter)
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

  func logAttempt(_ entry: QueueEntry, status: DeliveryRecord.Status, relay: String, detail: String) {
    let now = environment.now()
    log.log(
      DeliveryRecord(
        id: entry.id.rawValue, from: entry.envelope.sender, to: entry.envelope.recipients, size: entry.size,
        relay: relay, delay: max(0, now.seconds - entry.arrival), status: status, detail: detail),
      now: now)
  }

  /// Holds an entry back for a sending limit until `until`: Google refused it for one
  /// (`attempted`: an attempt, logged as deferred), or a local `max_…` key or an earlier
  /// refusal in this run holds it before any attempt (logged too, so that every entry
  /// that did not go has a line saying why).
  func hold(_ entry: QueueEntry, lock: QueueLock, reason: String, until: Int, attempted: Bool, relay: String = "none") {
    var updated = entry
    updated.recordLimit(reason: reason, until: until, attempted: attempted)
    try? store.update(updated, holding: lock)
    logAttempt(entry, status: .deferred, relay: relay, detail: reason + "; next try at " + localTime(until))
    summary.deferred(until: until)
  }

  /// The time as mailq prints it, in the local zone.
  func localTime(_ time: Int) -> String {
    DateStamp(time, zone: environment.zoneOffsetMinutes).mailq
  }

  // MARK: Local sending limits

  /// When the account's local limits hold a message back: the reason and until when.
  func localLimitWait(_ message: PreparedMessage) -> (reason: String, until: Int)? {
    guard let limits = message.account.sendingLimits else { return nil }
    let now = environment.now().seconds
    var wait: SendRecord.Wait?
    let usable = store.withSendRecord(account: message.account.name) { record in
      wait = record.wait(recipients: message.recipients.count, limits: limits, now: now)
    }
    // A record that cannot be used (another process holds it too long) never stops mail.
    guard usable, let wait else { return nil }
    return ("held by the local limit \(wait.key) = \(wait.limit) of account \(message.account.name)", wait.until)
  }

  /// Counts a message the server accepted against the account's local limits.
  func recordSend(_ message: PreparedMessage) {
    guard let limits = message.account.sendingLimits else { return }
    let send = SendRecord.Send(time: environment.now().seconds, recipients: message.recipients.count)
    _ = store.withSendRecord(account: message.account.name) { $0.add(send, limits: limits) }
  }

  // MARK: failed/ retention

  /// Removes failed/ entries older than `failed_lifetime`, one log line each.
  func purgeFailed(now: Int) {
    guard let removed = try? store.purgeFailed(now: now, maximumAge: config.failedLifetime, admits: access.admits)
    else { return }
    for entry in removed {
      log.note(
        "id=\(entry.id) from=<\(entry.envelope.sender)> removed from failed/ after failed_lifetime "
          + "(\(config.failedLifetime / 86_400) days)", now: environment.now())
    }
  }
}

extension Account {
  /// The account's local sending limits; nil when it sets none.
  var sendingLimits: SendingLimits? {
    guard maxMessagesPerDay != nil || maxRecipientsPerDay != nil || maxMessagesPerMinute != nil else { return nil }
    return SendingLimits(
      messagesPerDay: maxMessagesPerDay, recipientsPerDay: maxRecipientsPerDay, messagesPerMinute: maxMessagesPerMinute)
  }
}
