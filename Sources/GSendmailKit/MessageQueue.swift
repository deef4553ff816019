// SPDX-License-Identifier: MIT
// The front end's side of the queue (gsendmail(8), QUEUE): where the queue of a
// configuration lives, spooling a message as it is read, and turning a queue
// entry back into a message to send. Every message is committed to the queue
// before the first attempt, so a crash at any point leaves it queued or sent.

import GSendmailCore
import MailQueue
import MessageCore
import SMTPCore

#if canImport(Glibc)
import Glibc
#endif

/// Writes the body into a queue draft as it is read.
final class DraftSink: BodySink {
  package let draft: QueueDraft
  package init(_ draft: QueueDraft) { self.draft = draft }
  package func append(_ bytes: [UInt8]) throws { try draft.append(bytes) }
}

/// Streams a queued body, holding the entry's lock.
package struct EntryBody: ByteSource {
  package var store: any QueueStore
  package var entry: QueueEntry
  package var lock: QueueLock

  package init(store: any QueueStore, entry: QueueEntry, lock: QueueLock) {
    self.store = store
    self.entry = entry
    self.lock = lock
  }

  package func stream(_ write: ([UInt8]) throws -> Void) throws {
    let reader = try store.openBody(of: entry, holding: lock)
    while let chunk = try reader.next() { try write(chunk) }
  }
}

package enum MessageQueue {
  /// The queue store of a configuration, creating its directories when missing.
  package static func store(for config: Configuration, environment: Environment) -> FileQueueStore {
    let directory = ConfigLocator.queueDirectory(for: config, environment: environment)
    if !config.isSystem {
      var base = environment.home
      if let state = environment.nonEmpty("XDG_STATE_HOME") {
        // XDG: a missing state directory is made (0700), with the missing directories
        // between it and the home that exists (~/.local/state in a home without ~/.local),
        // or alone when the directory it is in exists; a missing home stays missing.
        if state.hasPrefix(base + "/") {
          makeDirectories(state, below: base)
        } else if let slash = state.lastIndex(of: "/"), slash != state.startIndex,
          Files.exists(String(state[..<slash]))
        {
          _ = mkdir(state, 0o700)
        }
        base = state
      }
      makeDirectories(directory, below: base)
    }
    let policy: QueueDirectoryPolicy =
      config.isSystem ? .system(group: QueueAccess.groupID) : .perUser
    return FileQueueStore(
      directory: directory, policy: policy,
      quarantinesCorruptEntries: QueueAccess.runner(config, environment).isUnrestricted)
  }

  /// `mkdir -p` with mode 0700 for the per-user state directories, below `base` only:
  /// a home directory that does not exist (a system user's `/nonexistent`) is never
  /// created; the queue then reports that it cannot be written.
  package static func makeDirectories(_ path: String, below base: String) {
    guard Files.exists(base), path.hasPrefix(base + "/") else { return }
    var prefix = base
    for part in path.dropFirst(base.count).split(separator: "/") {
      prefix += "/" + part
      _ = mkdir(prefix, 0o700)
    }
  }

  /// Writes the entries of `area` that `access` admits to `out` as they are read, in
  /// blocks of 64 KB, so that a queue of 100,000 entries is never held: `add` appends an
  /// entry's text to the block, `end` what follows the last.
  /// - Returns: The entries that could not be read.
  package static func streamListing(
    _ store: some QueueStore, _ area: QueueArea, access: QueueAccess, checkingBodies: Bool, to out: OutputSink,
    add: (QueueEntry, inout [UInt8]) -> Void, end: (inout [UInt8]) -> Void
  ) throws(QueueError) -> [QueueError] {
    var block: [UInt8] = []
    let skipped = try store.forEachEntry(area, checkingBodies: checkingBodies) { entry in
      guard access.admits(entry) else { return }
      add(entry, &block)
      if block.count >= 65_536 {
        out.write(block)
        block.removeAll(keepingCapacity: true)
      }
    }
    end(&block)
    out.write(block)
    return skipped
  }

  /// The queue envelope of a prepared message, submitted by the real user `submitter`.
  package static func envelope(of message: PreparedMessage, submitter: UInt32) -> QueueEnvelope {
    QueueEnvelope(
      sender: message.sender, account: message.account.name, recipients: message.recipients,
      notify: message.dsn?.notify.map { $0.map(\.rawValue).joined(separator: ",") },
      ret: message.dsn?.ret?.rawValue, envid: message.dsn?.envelopeID, submitter: submitter)
  }

  /// The message a queue entry holds, ready for Delivery. The stored header is scanned
  /// into fields once: those of the prepared header, or, for an entry kept in failed/
  /// without an account, those it came with, prepared now.
  /// - Throws: `ConfigError.unknownAccount` when the account is no longer configured.
  package static func message(of entry: QueueEntry, config: Configuration, environment: Environment) throws -> PreparedMessage {
    var scanner = MessageScanner()
    try scanner.push(entry.header)
    var fields = try scanner.finish().fields
    var header = entry.header
    var sender = entry.envelope.sender
    let account: Account
    var recipients = entry.envelope.recipients
    if let name = entry.envelope.account {
      guard let named = config.account(named: name) else { throw ConfigError.unknownAccount(name) }
      account = named
    } else {
      // Kept in failed/ because no account matched or the aliases were broken: resolve the
      // recipients and choose the account now, and prepare the header stored as it came.
      let submission = Submission(
        invocation: Invocation(), config: config, aliases: try config.loadAliases(), environment: environment)
      recipients = try submission.resolvedRecipients(
        Submission.mailboxes(given: recipients),
        accountAddress: submission.accountAddress(envelopeSender: sender.isEmpty ? nil : sender, fields: fields))
      let prepared = try submission.prepare(
        fields: fields, body: MessageCore.BodyStatistics(), envelopeSender: sender.isEmpty ? nil : sender,
        recipients: recipients)
      (account, fields, header, sender) = (prepared.account, prepared.fields, prepared.header, prepared.sender)
    }
    let dsn = dsnParameters(notify: entry.envelope.notify, ret: entry.envelope.ret, envelopeID: entry.envelope.envid)
    return PreparedMessage(
      sender: sender, recipients: recipients, account: account,
      fields: fields, header: header,
      body: MessageCore.BodyStatistics(
        normalizedSize: entry.body.size, has8bit: entry.body.has8BitBytes, longestLine: entry.body.longestLine),
      dsn: dsn)
  }
}

/// A private directory (under /tmp or `$TMPDIR`) standing in for the queue when
/// `queue = false` and a per-user queue cannot be used. Removed by `remove()` once the
/// message is sent or refused for now; kept when the message ended in its failed/.
struct PrivateStaging {
  package let path: String
  package let store: FileQueueStore

  /// - Parameters:
  ///   - parent: Where to make it.
  ///   - reason: Why the queue could not be used, thrown if no directory can be made.
  package init(in parent: String, reason: any Error) throws {
    var template = Array((parent + "/gsendmail-staging-XXXXXX").utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { throw reason }
    path = String(cString: made)
    store = FileQueueStore(directory: path + "/queue", policy: .perUser)
  }

  /// Whether a message was refused for good and kept in its failed/.
  package var holdsFailedMessage: Bool { !((try? store.listFailed()) ?? []).isEmpty }

  /// Removes the directory and everything below it (the caller's own files: staging is
  /// only for a per-user configuration, which runs without the set-group-ID group).
  package func remove() {
    Self.removeTree(path)
  }

  private static func removeTree(_ path: String) {
    guard let directory = opendir(path) else {
      _ = unlink(path)
      return
    }
    while let entry = readdir(directory) {
      let name = withUnsafePointer(to: entry.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
      if name == "." || name == ".." { continue }
      let child = path + "/" + name
      if unlink(child) != 0 { removeTree(child) }
    }
    closedir(directory)
    _ = rmdir(path)
  }
}

/// An error that says what became of the message after another error, which decides the
/// exit status.
protocol OutcomeNote: Error {
  var underlying: any Error { get }
}

/// A message refused for good while staged outside the queue: the error, and where the
/// message is kept.
struct KeptElsewhere: OutcomeNote {
  package let underlying: any Error
  package let path: String

  package init(_ underlying: any Error, path: String) {
    self.underlying = underlying
    self.path = path
  }
}

/// A message refused for good after it was read, kept in the queue's failed/: the error,
/// and where the message is.
struct KeptInFailed: OutcomeNote {
  let underlying: any Error
  let id: String
  /// The queue directory.
  let directory: String

  init(_ underlying: any Error, id: String, directory: String) {
    self.underlying = underlying
    self.id = id
    self.directory = directory
  }
}
