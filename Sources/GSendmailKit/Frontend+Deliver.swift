// SPDX-License-Identifier: MIT
// The modes that handle messages: deliver (-bm, the default, and --dry-run),
// verify (-bv).

import GSendmailCore
import MailQueue
import MessageCore
import SMTPCore

#if canImport(Glibc)
import Glibc
#endif

extension Frontend {
  func runMessageModes(_ invocation: Invocation) throws -> SysExit {
    switch invocation.mode {
    case .deliver: return try deliver(invocation)
    case .verify: return try verify(invocation)
    case .smtpServer: return try serveSMTP(invocation)
    case .runQueue: return try runQueue(invocation)
    case .listQueue: return try listQueue(invocation)
    case .help, .version, .checkAliases:
      throw UsageError("this mode is not available")
    }
  }

  func submission(for invocation: Invocation) throws -> Submission {
    let config = try ConfigLocator.load(configFile: invocation.configFile, environment: environment)
    return Submission(
      invocation: invocation, config: config, aliases: try config.loadAliases(), environment: environment, checksSender: true)
  }

  /// `-bv`: prints `GIVEN -> ADDRESS` for each recipient; sends nothing.
  func verify(_ invocation: Invocation) throws -> SysExit {
    let submission = try submission(for: invocation)
    guard !invocation.recipients.isEmpty else { throw UsageError("-bv needs recipients") }
    for line in try submission.verify(invocation.recipients) {
      stdout.write("\(line.given) -> \(line.address)\n")
    }
    return .ok
  }

  /// `-bm`: reads a message into the queue and sends it (or, with `--dry-run`, prints
  /// what would be sent). Exit 0 only when the server accepted it or it is in the queue.
  func deliver(_ invocation: Invocation) throws -> SysExit {
    let submission = try submission(for: invocation)
    if invocation.dryRun {
      let sink = MemoryBodySink()
      let scanned = try submission.read(from: stdinFD, into: sink)
      let message = try submission.prepare(
        scanned, envelopeSender: invocation.sender, givenRecipients: invocation.recipients,
        recipientsFromHeader: invocation.recipientsFromHeader)
      try printDryRun(message, body: sink.bytes, limit: submission.config.maxMessageSize)
      return .ok
    }
    let outcome = try spoolAndDeliver(
      SubmissionRequest(
        submission: submission, envelopeSender: invocation.sender, recipients: invocation.recipients,
        recipientsFromHeader: invocation.recipientsFromHeader
      ) { try submission.read(from: stdinFD, into: $0) })
    if case .queued(let id, let reason) = outcome, environment.stderrIsTerminal {
      stderr.write("gsendmail: queued as \(id): \(reason)\n")
    }
    return .ok
  }

  /// The path of every new message (-bm and -bs): the body is written into a queue draft
  /// as it is read, the entry is committed (write, fsync, rename, fsync the directory), and
  /// then — unless `-odq` — tried at once, here or (`-odb`) by a detached child.
  /// - Returns: nil when this process made no attempt (`-odq`, `-odb`), else what the first
  ///   attempt did.
  func spoolAndDeliver(_ request: SubmissionRequest) throws -> QueueRunner.FirstAttempt? {
    let submission = request.submission
    let invocation = submission.invocation
    let queue = MessageQueue.store(for: submission.config, environment: environment)
    let (store, draft): (FileQueueStore, QueueDraft)
    let staging: PrivateStaging?
    do {
      (store, draft, staging) = (queue, try queue.create(), nil)
    } catch {
      // With queue = false the queue is only where the body waits for its one attempt
      // (gsendmail.conf(5): no queue file is needed): without a usable queue, a private directory
      // serves. Only for a per-user configuration, whose files are the caller's own (the
      // system one keeps the set-group-ID group, and its spool is made by the package).
      guard !submission.config.queue && !submission.config.isSystem && invocation.deliveryMode != .queueOnly
      else { throw error }
      let made = try PrivateStaging(in: environment.nonEmpty("TMPDIR") ?? "/tmp", reason: error)
      do {
        (store, draft, staging) = (made.store, try made.store.create(), made)
      } catch {
        made.remove()
        throw error
      }
    }
    do {
      let outcome = try deliverDraft(request, store: store, draft: draft)
      staging?.remove()
      return outcome
    } catch {
      // A staged message refused for good is kept, as in failed/, where it is.
      if let staging {
        if staging.holdsFailedMessage {
          throw KeptElsewhere((error as? KeptInFailed)?.underlying ?? error, path: staging.path)
        }
        staging.remove()
      }
      throw error
    }
  }

  /// `spoolAndDeliver` once the draft is open in `store`.
  private func deliverDraft(
    _ request: SubmissionRequest, store: FileQueueStore, draft: QueueDraft
  ) throws -> QueueRunner.FirstAttempt? {
    let (submission, invocation) = (request.submission, request.submission.invocation)
    let (envelopeSender, keepUnsendable) = (request.envelopeSender, request.keepUnsendable)
    let message: PreparedMessage
    let toAccount: [String]
    do {
      let scanned = try request.read(DraftSink(draft))
      let given = try submission.mailboxes(
        scanned, givenRecipients: request.recipients, recipientsFromHeader: request.recipientsFromHeader)
      let resolved: [String]
      do {
        (resolved, toAccount) = try submission.resolve(
          given, accountAddress: submission.accountAddress(envelopeSender: envelopeSender, fields: scanned.fields))
      } catch let error as AliasError where keepUnsendable {
        // The aliases file is broken (a syntax error, a loop), or a local name has nowhere
        // to go: the message was read, so it is kept in failed/ (gsendmail(8)) with its
        // recipients as given, resolved again on retry.
        throw keepFailed(
          draft, in: store, scanned: scanned, sender: envelopeSender, recipients: given.map(\.addrSpec), reason: error)
      }
      guard !resolved.isEmpty else {
        throw BadMessage("no recipients: give addresses on the command line or use -t with To:, Cc: or Bcc:")
      }
      do {
        message = try submission.prepare(scanned, envelopeSender: envelopeSender, recipients: resolved)
      } catch let error as ConfigError where keepUnsendable {
        // No account matches: the message was read, so it is kept in failed/, with the
        // header as it came, for the administrator to look at and retry.
        throw keepFailed(
          draft, in: store, scanned: scanned, sender: envelopeSender, recipients: resolved, reason: error)
      }
    } catch {
      draft.abandon()
      throw error
    }
    let (entry, lock) = try store.commit(
      draft, envelope: MessageQueue.envelope(of: message, submitter: environment.uid), header: message.header,
      arrival: environment.now().seconds)
    let runner = queueRunner(submission.config, store: store, invocation: invocation, aliases: submission.aliases)
    if !toAccount.isEmpty, let own = message.account.ownAddress(sender: message.sender) {
      runner.log.note(
        "id=\(entry.id) local name\(toAccount.count == 1 ? "" : "s") \(toAccount.joined(separator: ", ")) "
          + "without alias or local_recipient: sent to the account's address \(own)",
        now: environment.now())
    }
    switch deliveryMode(invocation, submission.config) {
    case .queueOnly:
      lock.release()
      return nil
    case .background:
      switch Detach.detach(keeping: lock.fd) {
      case .caller:
        // Closes this process's descriptor only: the child's copy keeps the entry locked.
        lock.release()
        return nil
      case .child:
        runner.deliverDetached(entry, lock: lock, message: message)
        return nil
      case nil:
        break  // no child: the caller delivers it
      }
    case .configured, .now:
      break
    }
    do {
      return try runner.deliverNew(entry, lock: lock, message: message)
    } catch {
      // Refused for good after it was read: it is in failed/ now; the error line says where.
      guard (try? store.load(entry.id))?.area == .failed else { throw error }
      throw KeptInFailed(error, id: entry.id.rawValue, directory: store.directory)
    }
  }

  /// How a new message is delivered: `-od…`, else the `delivery` key. In the background only
  /// with a queue (with `queue = false` the caller is owed the outcome as exit code) and
  /// for `-bm` (under `-bs` the reply to DATA carries the outcome).
  func deliveryMode(_ invocation: Invocation, _ config: Configuration) -> DeliveryMode {
    var mode = invocation.deliveryMode
    if mode == .configured { mode = config.deliversInBackground ? .background : .now }
    if mode == .background && (!config.queue || invocation.mode != .deliver) { return .now }
    return mode
  }

  /// Commits a message that cannot be sent with this configuration straight to failed/.
  /// - Returns: The error to throw: `reason`, saying where the message is kept.
  private func keepFailed(
    _ draft: QueueDraft, in store: FileQueueStore, scanned: ScannedMessage, sender: String?, recipients: [String],
    reason: any Error
  ) -> any Error {
    let header = scanned.fields.flatMap(\.wireBytes) + [13, 10]
    let envelope = QueueEnvelope(
      sender: sender ?? "", account: nil, recipients: recipients, submitter: environment.uid)
    guard let (entry, lock) = try? store.commit(draft, envelope: envelope, header: header, arrival: environment.now().seconds)
    else { return reason }
    var failed = entry
    failed.lastError = errorText(reason)
    do {
      try store.moveToFailed(failed, holding: lock)
    } catch {
      return reason
    }
    return KeptInFailed(reason, id: entry.id.rawValue, directory: store.directory)
  }

  func queueRunner(
    _ config: Configuration, store: any QueueStore, invocation: Invocation, aliases: AliasTable? = nil
  ) -> QueueRunner {
    QueueRunner(
      environment: environment, config: config, store: store, transcript: transcriptSink(invocation),
      log: DeliveryLog(target: config.log, ident: invocation.syslogTag ?? "gsendmail", shared: config.isSystem),
      aliases: aliases)
  }

  /// `-q` (and `-qINTERVAL`, which runs once): attempts every queued message within the
  /// caller's reach now, as Postfix's `postqueue -f` does; on a terminal, one summary
  /// line. 75 when the queue cannot be run at all.
  func runQueue(_ invocation: Invocation) throws -> SysExit {
    let config: Configuration
    do {
      config = try ConfigLocator.load(configFile: invocation.configFile, environment: environment)
    } catch {
      stderr.write("gsendmail: cannot run the queue: \(errorText(error))\n")
      return .temporaryFailure
    }
    let store = MessageQueue.store(for: config, environment: environment)
    let summary: QueueRunner.Summary
    do {
      summary = try queueRunner(config, store: store, invocation: invocation).run(force: true)
    } catch {
      stderr.write("gsendmail: cannot run the queue: \(errorText(error))\n")
      return .temporaryFailure
    }
    reportSkipped(summary.skipped)
    if environment.stderrIsTerminal {
      stderr.write("gsendmail: queue run: \(summary.line(zoneOffsetMinutes: environment.zoneOffsetMinutes))\n")
    }
    return .ok
  }

  /// `-bp` / `mailq`: the queue in Postfix's layout — for a caller other than root or a
  /// member of group gsendmail, only the entries it submitted. Entries that cannot be read
  /// are left out with a note on standard error.
  func listQueue(_ invocation: Invocation) throws -> SysExit {
    // Without any configuration nothing can have been queued.
    guard let config = try loadConfigIfAny(invocation) else {
      stdout.write(QueueListing.emptyText)
      return .ok
    }
    // Sizes are the recorded ones: bodies are checked when they are loaded for delivery.
    var listing = QueueListing.Mailq(zoneOffsetMinutes: environment.zoneOffsetMinutes)
    let skipped = try MessageQueue.streamListing(
      MessageQueue.store(for: config, environment: environment), .queued,
      access: QueueAccess.viewer(config, environment), checkingBodies: false, to: stdout,
      add: { listing.add($0, to: &$1) }, end: { listing.end(to: &$0) })
    reportSkipped(skipped)
    return .ok
  }

  /// One stderr line per queue entry that could not be read (at most ten, then a count).
  func reportSkipped(_ skipped: [QueueError]) {
    for error in skipped.prefix(10) { stderr.write("gsendmail: skipped a queue entry: \(error)\n") }
    if skipped.count > 10 { stderr.write("gsendmail: skipped \(skipped.count - 10) more queue entries\n") }
  }

  /// The `-v` dialogue on standard error.
  func transcriptSink(_ invocation: Invocation) -> ((String) -> Void)? {
    guard invocation.verbose > 0 else { return nil }
    let err = stderr
    return { err.write("gsendmail: \($0)\n") }
  }

  /// `--dry-run`: the envelope as `MAIL FROM`/`RCPT TO` lines for a server that offers
  /// SIZE, 8BITMIME, SMTPUTF8 and DSN, an empty line, then the message as it would go
  /// out (CRLF, re-encoded when a line is too long, not dot-stuffed).
  /// - Throws: `BadMessage` for a message that would be refused, `DeliveryFailure` for one
  ///   over `limit` as it would be sent.
  func printDryRun(_ message: PreparedMessage, body: [UInt8], limit: Int) throws {
    var capabilities = SMTPCapabilities()
    capabilities.supportsSize = true
    capabilities.supportsEightBitMIME = true
    capabilities.supportsSMTPUTF8 = true
    capabilities.supportsDSN = true
    let decision = message.encoding(serverSupports8BitMIME: true)
    let (bytes, envelope) = try Delivery.wire(
      message, body: MemoryByteSource(bytes: body), decision: decision, limit: limit, serverLimit: nil)
    var out = Array(SMTPClient.mailCommand(envelope, capabilities: capabilities).transcript.utf8) + [13, 10]
    for index in envelope.recipients.indices {
      out += Array(SMTPClient.rcptCommand(envelope, index, capabilities: capabilities).transcript.utf8) + [13, 10]
    }
    out += [13, 10]
    stdout.write(out)
    try bytes.stream { stdout.write($0) }
  }
}

/// A body held in memory.
package struct MemoryByteSource: ByteSource {
  var bytes: [UInt8]
  package init(bytes: [UInt8]) { self.bytes = bytes }
  package func stream(_ write: ([UInt8]) throws -> Void) throws {
    var offset = 0
    while offset < bytes.count {
      let end = min(offset + 65536, bytes.count)
      try write(Array(bytes[offset..<end]))
      offset = end
    }
  }
}

/// One message to submit, as the front end was asked to: the submission it belongs to
/// (configuration, aliases, command line), the envelope given, and how to read the body.
struct SubmissionRequest {
  var submission: Submission
  /// `-f`, or `MAIL FROM` under `-bs`; nil: the account's.
  var envelopeSender: String?
  /// The recipients given (command line or `RCPT TO`).
  var recipients: [String]
  /// `-t`: recipients from the header too.
  var recipientsFromHeader: Bool
  /// Keep a message no account matches in failed/ (-bm: the caller has no other copy);
  /// -bs answers 4xx instead and the client keeps it.
  var keepUnsendable = true
  /// Reads the message, writing its body into the sink.
  var read: (BodySink) throws -> ScannedMessage
}
