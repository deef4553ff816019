// SPDX-License-Identifier: MIT
// Delivery from the queue (gsendmail(8), QUEUE): the first attempt of a new message,
// and queue runs (`gsendmail -q` and `gsendmailctl queue flush`, which attempt every
// entry; `queue flush --due`, the timer's run; after `login`). Each
// attempt ends in exactly one of: removed (sent), deferred with its reason and
// next-attempt time, or moved to failed/ (permanent, or expired — with a failure
// notice to the sender). Queue runs reuse one SMTP session per account and login
// user; per-entry locks let runners overlap without sending a message twice.
// Failures to update the queue itself are logged nowhere else and never lose a
// message: an entry that cannot be updated stays as it was and is tried again.

import Codecs
import GSendmailCore
import MailQueue
import MessageCore
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
  /// Whose entries this runner handles (worked out when a run first needs it: a first
  /// attempt does not).
  package lazy var access: QueueAccess = givenAccess ?? QueueAccess.runner(config, environment)
  private let givenAccess: QueueAccess?
  /// Failure notices queued during this run, delivered before it ends.
  var notices: [QueueEntry] = []
  /// How many IDs a queue run lists at once (24 bytes each).
  var idPageSize = 4096
  /// What this run did, for the summary line.
  var summary = Summary()

  /// The aliases file, read once per run when a message needs it (the submission's own
  /// table for a first attempt).
  private var aliases: AliasTable?

  package init(
    environment: Environment, config: Configuration, store: any QueueStore, transcript: ((String) -> Void)?,
    log: DeliveryLog, access: QueueAccess? = nil, aliases: AliasTable? = nil
  ) {
    self.environment = environment
    self.config = config
    self.store = store
    self.transcript = transcript
    self.log = log
    self.givenAccess = access
    self.aliases = aliases
  }

  /// The configuration's aliases, read on first use.
  func loadAliases() throws -> AliasTable {
    if let aliases { return aliases }
    let table = try config.loadAliases()
    aliases = table
    return table
  }

  package var policy: RetryPolicy { RetryPolicy(lifetime: config.queueLifetime) }
  package var delivery: Delivery { Delivery(environment: environment, config: config, transcript: transcript) }
  var apiDelivery: GmailAPIDelivery {
    GmailAPIDelivery(environment: environment, config: config, transcript: transcript) { [unowned self] in
      try self.loadAliases()
    }
  }

  /// What a queue run did.
  package struct Summary: Equatable {
    package var sent = 0
    package var deferred = 0
    package var failed = 0
    /// The earliest next attempt of what was deferred.
    package var nextAttempt: Int?
    /// Entries that could not be read, skipped.
    package var skipped: [QueueError] = []

    package var tried: Int { sent + deferred + failed }

    mutating func deferred(until time: Int) {
      deferred += 1
      nextAttempt = min(nextAttempt ?? time, time)
    }

    /// `sent 2, deferred 1 (next try at Mon Dec  7 10:05:00), failed 0`.
    package func line(zoneOffsetMinutes: (Int) -> Int) -> String {
      var text = "sent \(sent), deferred \(deferred)"
      if deferred > 0, let next = nextAttempt {
        text += " (next try at " + DateStamp(next, zone: zoneOffsetMinutes).mailq + ")"
      }
      text += ", failed \(failed)"
      if !skipped.isEmpty { text += ", \(skipped.count) unreadable skipped" }
      return text
    }
  }

  // MARK: The first attempt

  /// What the caller of gsendmail learns about a new message.
  enum FirstAttempt {
    case sent
    /// Kept in the queue for a later run, for this reason.
    case queued(QueueID, String)
  }

  /// Tries a message just committed to the queue.
  /// - Parameter interactive: Whether the caller waits for the outcome. A detached child
  ///   (`-odb`) is not: its permanent failures are handled as in a queue run (failed/ and
  ///   a failure notice, see `deliverDetached`).
  /// - Throws: A permanent failure (the entry is then in failed/), or, with `queue = false`,
  ///   a temporary one (the entry is removed).
  func deliverNew(
    _ entry: QueueEntry, lock: QueueLock, message: PreparedMessage, interactive: Bool = true
  ) throws -> FirstAttempt {
    var relay = "none"
    do {
      if let wait = localLimitWait(message) {
        if !config.queue { throw DeliveryFailure(.temporary, .localLimit(wait.reason)) }
        hold(entry, lock: lock, reason: wait.reason, until: wait.until, attempted: false)
        return .queued(entry.id, wait.reason)
      }
      let body = EntryBody(store: store, entry: entry, lock: lock)
      if message.account.route == .gmailAPI {
        let result = try apiDelivery.send(message, body: body, relay: &relay)
        delivered(entry, lock: lock, message: message, detail: "id=\(result.id)", relay: result.relay)
      } else {
        let reply = try delivery.send(message, body: body, relay: &relay)
        delivered(entry, lock: lock, message: message, detail: reply.description, relay: relay)
      }
      return .sent
    } catch {
      if isTemporary(error) && !config.queue {
        logAttempt(entry, status: .deferred, relay: relay, detail: errorText(error))
        try? store.remove(holding: lock)
        throw NotQueued(error)
      }
      if let failure = error as? DeliveryFailure, failure.kind == .resource {
        // Not an attempt: the entry stays as committed, due now, for the next run.
        lock.release()
        return .queued(entry.id, failure.description)
      }
      return try settle(entry, lock: lock, error: error, interactive: interactive, relay: relay)
    }
  }

  /// The first attempt made by the detached child of `-odb`: the same attempt as
  /// `deliverNew`, with the outcomes of a queue run of that one entry; a failure notice it
  /// queues is delivered before the child ends.
  func deliverDetached(_ entry: QueueEntry, lock: QueueLock, message: PreparedMessage) {
    _ = try? deliverNew(entry, lock: lock, message: message, interactive: false)
    lock.release()
    let queued = Set(notices.map(\.id))
    notices.removeAll()
    if !queued.isEmpty { _ = try? run(force: true, only: queued) }
  }

  // MARK: Queue runs

  /// A queue run: every entry within reach (`force`: `-q`, `queue flush`, `login`), or only
  /// those due (`queue flush --due`, the timer's run), optionally for one account only, or only the entries `only` names.
  /// - Returns: What the run did.
  /// - Throws: a `DeliveryFailure` of kind `.resource` or a `QueueError` when the run could not go on
  ///   (out of descriptors or memory, the queue unreadable); no entry was changed for it.
  @discardableResult
  package func run(force: Bool = false, account: String? = nil, only: Set<QueueID>? = nil) throws -> Summary {
    summary = Summary()
    // Housekeeping belongs to whole runs, not to one that sends named entries (the
    // failure notices of a detached first attempt).
    if only == nil {
      let start = environment.now().seconds
      try? store.sweep(now: start, minimumAge: 3600)
      purgeFailed(now: start)
    }
    var sessions: [String: SMTPSession] = [:]
    var broken: [String: any Error] = [:]
    var limited: [String: (DeliveryFailure, Int)] = [:]
    defer { for session in sessions.values { session.quit() } }
    // Only IDs are listed, a page at a time (the directory is read again for each page):
    // an entry is read when its turn comes, so the run's memory does not grow with the
    // queue. Entries queued after the first page was taken wait for the next run, but
    // the failure notices this run queues are run after the rest.
    var page = try store.entryIDs(.queued, after: nil, through: nil, limit: idPageSize)
    let last = page.largest
    var index = 0
    var queuedNotices: [QueueID] = []
    while true {
      let id: QueueID
      if index < page.ids.count {
        id = page.ids[index].id
        index += 1
      } else if page.ids.count == idPageSize, let next = page.ids.last, let last, next < last {
        page = try store.entryIDs(.queued, after: next, through: last, limit: idPageSize)
        index = 0
        continue
      } else if !queuedNotices.isEmpty {
        id = queuedNotices.removeFirst()
      } else {
        break
      }
      if let only, !only.contains(id) { continue }
      guard let candidate = try read(id), access.admits(candidate) else { continue }
      // The clock is read per entry: a notice queued during this run is due at once even
      // when the run has crossed into a later second.
      let now = environment.now().seconds
      if let account, candidate.envelope.account != account { continue }
      guard policy.disposition(of: candidate, now: now, force: force) != .notDue, let lock = try lockForRun(id),
        let entry = try reload(id, lock: lock), access.admits(entry)
      else { continue }
      let disposition = policy.disposition(of: entry, now: now, force: force)
      if disposition == .notDue { continue }
      defer {
        queuedNotices += notices.map(\.id)
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
      if let wait = localLimitWait(message) {
        hold(entry, lock: lock, reason: wait.reason, until: wait.until, attempted: false)
        continue
      }
      if let (failure, until) = limited[message.account.name] {
        // Google refused an earlier message of this account for a limit: this one would
        // meet the same answer now. Held without an attempt.
        hold(entry, lock: lock, reason: failure.description, until: until, attempted: false)
        continue
      }
      // One session per account and login user (a pattern account logs in as the sender).
      let key = message.account.name + "\u{0}" + message.account.loginUser(sender: message.sender)
      var relay = "none"
      do {
        let body = EntryBody(store: store, entry: entry, lock: lock)
        if message.account.route == .gmailAPI {
          let result = try apiDelivery.send(message, body: body, relay: &relay)
          delivered(entry, lock: lock, message: message, detail: "id=\(result.id)", relay: result.relay)
          continue
        }
        if let error = broken[key] { throw error }
        if sessions[key] == nil {
          sessions[key] = try delivery.openSession(message.account, sender: message.sender, relay: &relay)
        }
        guard let session = sessions[key] else { continue }
        relay = session.relay
        do {
          let reply = try delivery.send(message, body: body, in: session)
          delivered(entry, lock: lock, message: message, detail: reply.description, relay: session.relay)
        } catch {
          if !(session.connection.isOpen && session.client.isReady) { sessions[key] = nil }
          throw error
        }
      } catch {
        if (error as? DeliveryFailure)?.kind == .resource {
          // This process is out of descriptors or memory: stop before touching any entry.
          lock.release()
          throw error
        }
        // A session that could not be opened or died: the other messages of this account
        // would meet the same fate now, so they are deferred with the same reason.
        if message.account.route != .gmailAPI && sessions[key] == nil && isTemporary(error) { broken[key] = error }
        _ = try? settle(entry, lock: lock, error: error, interactive: false, relay: relay)
        if let failure = error as? DeliveryFailure, failure.sendingLimit != nil, let updated = try? store.load(entry.id) {
          limited[message.account.name] = (failure, updated.nextAttempt)
        }
      }
    }
    return summary
  }

  /// Reads a queued entry when its turn comes: nil when it is gone, or unreadable (then it
  /// is counted as skipped). Running short of descriptors or memory stops the run.
  private func read(_ id: QueueID) throws(QueueError) -> QueueEntry? {
    do throws(QueueError) {
      let entry = try store.load(id)
      return entry.area == .queued ? entry : nil
    } catch .notFound {
      return nil
    } catch {
      if error.isResourceShortage { throw error }
      summary.skipped.append(error)
      return nil
    }
  }

  /// Reads a locked entry again (it may have changed since the listing): nil when it is
  /// gone or unreadable. Running short of descriptors or memory stops the run.
  private func reload(_ id: QueueID, lock: QueueLock) throws -> QueueEntry? {
    do {
      return try store.load(id)
    } catch {
      lock.release()
      if error.isResourceShortage { throw DeliveryFailure(.resource, .queueEntry(.read, error)) }
      return nil
    }
  }

  /// Locks an entry for this run without waiting: nil when another runner has it (or it
  /// is gone). Running short of descriptors stops the run.
  private func lockForRun(_ id: QueueID) throws -> QueueLock? {
    do {
      return try store.tryLock(id)
    } catch {
      if error.isResourceShortage { throw DeliveryFailure(.resource, .queueEntry(.lock, error)) }
      return nil
    }
  }
}

/// A temporary failure with `queue = false`: nothing was kept (exit 75), so the message
/// says that the caller, not gsendmail, has to try again.
struct NotQueued: OutcomeNote, CustomStringConvertible {
  let underlying: any Error
  init(_ underlying: any Error) { self.underlying = underlying }
  var description: String {
    errorText(underlying) + "; the message was not queued (queue = false): send it again later"
  }
}

/// Whether a later attempt may succeed: the temporary outcomes, authentication
/// failures (deferred until `login`), and configuration problems (the file may be fixed).
func isTemporary(_ error: any Error) -> Bool {
  switch error {
  case let failure as DeliveryFailure: return failure.isTemporary
  case is ConfigError: return true
  default: return false
  }
}

func isAuthentication(_ error: any Error) -> Bool {
  (error as? DeliveryFailure)?.kind == .authentication
}
