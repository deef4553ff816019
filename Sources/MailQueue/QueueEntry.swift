// SPDX-License-Identifier: MIT
// What the queue knows about a message: the envelope the caller gives at commit,
// the body statistics the writer measured, and the delivery state the runner
// updates. Pure values, no I/O.
// Below: the per-entry lock.

/// The SMTP envelope of a queued message, as the front end hands it over.
public struct QueueEnvelope: Equatable, Sendable {
  /// The envelope sender (`MAIL FROM`); empty for the null sender `<>`.
  public var sender: String
  /// The name of the account (config section) that sends the message; nil for a message
  /// kept in failed/ before an account was chosen (none matched, or the aliases were
  /// broken): a retry chooses it then.
  public var account: String?
  /// The envelope recipients (`RCPT TO`), at least one.
  public var recipients: [String]
  /// DSN `NOTIFY` (RFC 3461 §4.1), e.g. `FAILURE,DELAY`, when given.
  public var notify: String?
  /// DSN `RET` (`FULL` or `HDRS`, RFC 3461 §4.3), when given.
  public var ret: String?
  /// DSN `ENVID` (RFC 3461 §4.4), when given.
  public var envid: String?
  /// The real user ID of the process that submitted the message; nil in entries written
  /// before it was recorded. In the shared system queue a caller other than root and the
  /// queue runner sees and runs only the entries it submitted.
  public var submitter: UInt32?

  /// Makes an envelope.
  public init(
    sender: String, account: String?, recipients: [String],
    notify: String? = nil, ret: String? = nil, envid: String? = nil, submitter: UInt32? = nil
  ) {
    self.sender = sender
    self.account = account
    self.recipients = recipients
    self.notify = notify
    self.ret = ret
    self.envid = envid
    self.submitter = submitter
  }
}

/// Measurements of a body, taken while it was written.
public struct BodyStatistics: Equatable, Sendable {
  /// The number of bytes.
  public var size: Int
  /// Whether any byte has the high bit set (the message needs `BODY=8BITMIME`).
  public var has8BitBytes: Bool
  /// The longest line in bytes, without its CRLF or LF.
  public var longestLine: Int

  /// Makes a set of body statistics.
  public init(size: Int = 0, has8BitBytes: Bool = false, longestLine: Int = 0) {
    self.size = size
    self.has8BitBytes = has8BitBytes
    self.longestLine = longestLine
  }
}

/// Where an entry lives.
public enum QueueArea: String, Equatable, Sendable {
  /// Waiting for (another) delivery attempt: `entries/`.
  case queued
  /// Kept after a permanent failure or expiry: `failed/`.
  case failed
}

/// A committed queue entry (everything but the body, which is read through
/// `QueueBodyReader`).
public struct QueueEntry: Equatable, Sendable {
  /// The entry's ID.
  public var id: QueueID
  /// Where the entry lives (not stored in the file: it is the directory).
  public var area: QueueArea
  /// When the message was queued, seconds since the epoch.
  public var arrival: Int
  /// Sender, account, recipients and DSN parameters.
  public var envelope: QueueEnvelope
  /// The prepared header section, CRLF lines, ending with the empty line that separates
  /// it from the body: `header + body` is the message as it is sent.
  public var header: [UInt8]
  /// Size, 8-bit flag and longest line of the body.
  public var body: BodyStatistics
  /// How many delivery attempts failed so far.
  public var attempts: Int
  /// When the next attempt is due, seconds since the epoch.
  public var nextAttempt: Int
  /// The last failure, one line (empty before the first failure).
  public var lastError: String
  /// Whether the entry waits for `gsendmailctl login` (its account could not
  /// authenticate). Such entries are not due until then, unless forced.
  public var deferredForAuthentication: Bool
  /// Whether the entry waits for a sending limit (Gmail's, or a local `max_…` key) rather
  /// than for a failure to clear: `lastError` says which, `nextAttempt` when it may go.
  public var held: Bool

  /// The message size: header plus body, in bytes.
  public var size: Int { header.count + body.size }

  /// Makes an entry.
  public init(
    id: QueueID, area: QueueArea = .queued, arrival: Int, envelope: QueueEnvelope,
    header: [UInt8], body: BodyStatistics, attempts: Int = 0, nextAttempt: Int,
    lastError: String = "", deferredForAuthentication: Bool = false, held: Bool = false
  ) {
    self.id = id
    self.area = area
    self.arrival = arrival
    self.envelope = envelope
    self.header = header
    self.body = body
    self.attempts = attempts
    self.nextAttempt = nextAttempt
    self.lastError = lastError
    self.deferredForAuthentication = deferredForAuthentication
    self.held = held
  }

  /// Records a temporary failure: one more attempt, the reason, and when to try again.
  /// - Parameters:
  ///   - reason: The failure, kept as `lastError` (line breaks and controls become spaces).
  ///   - nextAttempt: When to try again (from `RetryPolicy`).
  ///   - forAuthentication: The account could not authenticate: wait for `login`.
  public mutating func recordTemporaryFailure(
    reason: String, nextAttempt next: Int, forAuthentication: Bool = false
  ) {
    attempts += 1
    lastError = EnvelopeRecord.sanitizedLine(reason)
    nextAttempt = next
    deferredForAuthentication = forAuthentication
    held = false
  }

  /// Records a deferral for a sending limit: the reason and when the window opens. With
  /// `attempted` (the server refused the message for its limit) it counts as an attempt;
  /// a message held back before any attempt (a local limit, or Gmail's limit met by an
  /// earlier message of the same run) keeps its count.
  public mutating func recordLimit(reason: String, until next: Int, attempted: Bool) {
    if attempted { attempts += 1 }
    lastError = EnvelopeRecord.sanitizedLine(reason)
    nextAttempt = next
    deferredForAuthentication = false
    held = true
  }
}

// MARK: - Entry locks

// The per-entry lock that keeps overlapping queue runners from sending a message
// twice. In the file store it is `flock(LOCK_EX)` on the entry's body file, which
// is never replaced; it is released when the object is released or dropped.

/// An exclusive lock on one queue entry.
public final class QueueLock {
  /// The locked entry.
  public let id: QueueID
  /// The body file's descriptor in the file store (the lock lives on it), else -1.
  public let fd: Int32
  private var onRelease: (() -> Void)?

  init(id: QueueID, fd: Int32 = -1, onRelease: @escaping () -> Void) {
    self.id = id
    self.fd = fd
    self.onRelease = onRelease
  }

  /// Whether the lock is still held.
  public var isHeld: Bool { onRelease != nil }

  /// Releases the lock (also done when the object goes away).
  public func release() {
    let action = onRelease
    onRelease = nil
    action?()
  }

  deinit { release() }
}
