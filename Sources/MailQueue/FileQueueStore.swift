// SPDX-License-Identifier: MIT
// The queue on disk (after Postfix's mail_queue.c and OpenSMTPD's queue_fs.c).
//
//   Q/tmp/       entries being written, and envelope rewrites in progress
//   Q/entries/   committed entries: ID.body (immutable) and ID.env
//   Q/failed/    entries kept after a permanent failure or expiry
//   Q/corrupt/   quarantined files, never delivered
//
// An entry exists when its ID.env is in entries/ (or failed/). Every step keeps
// the rule "an envelope is never without its body" in both directories:
// - commit: body to tmp/, fsync; env to tmp/, fsync; rename the body into
//   entries/, then the env; fsync entries/ and tmp/. A failure at any step undoes
//   the earlier ones, so an error means no entry.
// - update: new env in tmp/, fsync, rename over the old one, fsync entries/.
// - remove: unlink the env first (the entry is gone), then the body.
// - move to failed/ (and back): hard-link the body into the target, rename the
//   env across (one atomic step moves the entry), unlink the old body link.
// Crash leftovers are orphan bodies and tmp/ files; `sweep` removes them, never
// touching a file someone holds locked. A body file is locked (flock) from the
// moment it is created, by the writer and later by whoever delivers it, so
// overlapping runners never send a message twice.
//
// Failure policy: every system call failure is a thrown QueueError naming the
// path and call; EINTR is retried; nothing is left half-done after an error
// except the crash leftovers described above.

#if canImport(Glibc)
import Glibc
#endif

/// Modes and group for the queue directories and files.
public struct QueueDirectoryPolicy: Equatable, Sendable {
  /// The mode of directories the store creates (existing ones are left alone).
  public var directoryMode: UInt32
  /// The mode of the files it creates.
  public var fileMode: UInt32
  /// The group of directories it creates, when set.
  public var group: UInt32?

  /// Makes a policy.
  public init(directoryMode: UInt32, fileMode: UInt32, group: UInt32? = nil) {
    self.directoryMode = directoryMode
    self.fileMode = fileMode
    self.group = group
  }

  /// A per-user queue: directories 0700, files 0600.
  public static let perUser = QueueDirectoryPolicy(directoryMode: 0o700, fileMode: 0o600)

  /// The system queue shared by the `gsendmail` group: directories 2770, files 0660.
  public static func system(group: UInt32?) -> QueueDirectoryPolicy {
    QueueDirectoryPolicy(directoryMode: 0o2770, fileMode: 0o660, group: group)
  }
}

/// The queue in a directory.
public final class FileQueueStore: QueueStore {
  /// The queue directory.
  public let directory: String
  /// Modes and group for what the store creates.
  public let policy: QueueDirectoryPolicy
  /// Whether a corrupt entry met while reading is moved to corrupt/. In the shared system
  /// queue only root and the queue runner do it: a caller who cannot read another's entry
  /// (or is fooled into seeing it damaged) must not be able to take it out of the queue.
  /// Worked out when a corrupt entry is met (deciding may look up users), so a
  /// submission that meets none never asks.
  public var quarantinesCorruptEntries: Bool { decideQuarantine() }
  private let decideQuarantine: @Sendable () -> Bool
  let sys: Syscalls
  private let clock: @Sendable () -> (seconds: Int, microseconds: Int)

  /// The largest envelope file read (the header is in it).
  static let maximumEnvelopeSize = 16 << 20

  /// Opens the queue in `directory` (nothing is created until the first write).
  /// - Parameters:
  ///   - directory: `$XDG_STATE_HOME/gsendmail/queue` or `/var/spool/gsendmail`.
  ///   - policy: Modes and group for created directories and files.
  ///   - quarantinesCorruptEntries: Move corrupt entries to corrupt/ (else only skip them).
  public convenience init(
    directory: String, policy: QueueDirectoryPolicy = .perUser,
    quarantinesCorruptEntries: @autoclosure @escaping @Sendable () -> Bool = true
  ) {
    self.init(
      directory: directory, policy: policy, syscalls: .real, clock: FileQueueStore.systemClock,
      quarantinesCorruptEntries: quarantinesCorruptEntries())
  }

  init(
    directory: String, policy: QueueDirectoryPolicy, syscalls: Syscalls,
    clock: @escaping @Sendable () -> (seconds: Int, microseconds: Int),
    quarantinesCorruptEntries: @autoclosure @escaping @Sendable () -> Bool = true
  ) {
    self.directory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
    self.policy = policy
    self.decideQuarantine = quarantinesCorruptEntries
    self.sys = syscalls.retryingInterrupts()
    self.clock = clock
  }

  static let systemClock: @Sendable () -> (seconds: Int, microseconds: Int) = {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return (Int(now.tv_sec), Int(now.tv_nsec) / 1000)
  }

  // MARK: Paths

  var tmpDirectory: String { directory + "/tmp" }
  func areaDirectory(_ area: QueueArea) -> String { directory + (area == .queued ? "/entries" : "/failed") }
  var corruptDirectory: String { directory + "/corrupt" }
  func envPath(_ id: QueueID, _ area: QueueArea) -> String { areaDirectory(area) + "/\(id).env" }
  func bodyPath(_ id: QueueID, _ area: QueueArea) -> String { areaDirectory(area) + "/\(id).body" }

  // MARK: Creating and committing

  public func create() throws(QueueError) -> QueueDraft {
    try ensureLayout()
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<16 {
      let now = clock()
      let id = QueueID.generate(seconds: now.seconds, microseconds: now.microseconds, using: &generator)
      if exists(envPath(id, .queued)) || exists(envPath(id, .failed)) { continue }
      let path = tmpDirectory + "/\(id).body"
      let fd = sys.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, policy.fileMode)
      if fd == -EEXIST { continue }
      guard fd >= 0 else { throw .system(-fd, .open, path) }
      let sink = FileDraftSink(store: self, id: id, fd: fd)
      // Locked from birth: sweep() and other runners leave a locked body alone.
      let locked = sys.flock(fd, LOCK_EX | LOCK_NB)
      guard locked == 0 else {
        sink.discard()
        throw .system(-locked, .lock, path)
      }
      // open() applies the caller's umask (even 0777): set the mode exactly.
      let changed = sys.chmod(path, policy.fileMode)
      guard changed == 0 else {
        sink.discard()
        throw .system(-changed, .chmod, path)
      }
      return QueueDraft(id: id, sink: sink)
    }
    throw .io(path: tmpDirectory, errno: EEXIST, operation: .open)
  }

  public func commit(_ draft: QueueDraft, envelope: QueueEnvelope, header: [UInt8], arrival: Int)
    throws(QueueError) -> (entry: QueueEntry, lock: QueueLock)
  {
    guard let sink = draft.sink as? FileDraftSink, sink.store === self else {
      preconditionFailure("a draft can only be committed to the store that created it")
    }
    let id = draft.id
    var bodyMoved = false
    var envMoved = false
    let entry: QueueEntry
    do throws(QueueError) {
      try EnvelopeRecord.validate(envelope)
      try draft.finish()
      entry = QueueEntry(
        id: id, arrival: arrival, envelope: envelope, header: header, body: draft.body,
        nextAttempt: arrival)
      try writeDurably(tmpDirectory + "/\(id).env", EnvelopeRecord.encode(entry))
      try rename(tmpDirectory + "/\(id).body", bodyPath(id, .queued))
      bodyMoved = true
      try rename(tmpDirectory + "/\(id).env", envPath(id, .queued))
      envMoved = true
      // Syncing entries/ makes the entry durable; tmp/ needs no sync: whatever a crash
      // leaves there is swept, never delivered.
      try syncDirectory(areaDirectory(.queued))
    } catch {
      // Undo in the order that keeps "no env without its body".
      if envMoved { _ = sys.unlink(envPath(id, .queued)) }
      if bodyMoved { _ = sys.unlink(bodyPath(id, .queued)) }
      if envMoved || bodyMoved { try? syncDirectory(areaDirectory(.queued)) }
      draft.abandon()
      throw error
    }
    draft.markCommitted()
    return (entry, heldLock(id, sink.takeDescriptor()))
  }

  // MARK: Reading

  public func load(_ id: QueueID) throws(QueueError) -> QueueEntry {
    do throws(QueueError) {
      return try loadEntry(id, .queued)
    } catch .notFound {
      return try loadEntry(id, .failed)
    }
  }

  /// Reads and checks one entry; a damaged one is quarantined and reported corrupt.
  func loadEntry(_ id: QueueID, _ area: QueueArea) throws(QueueError) -> QueueEntry {
    let path = envPath(id, area)
    guard let bytes = try readFile(path, limit: FileQueueStore.maximumEnvelopeSize) else {
      throw .notFound(id)
    }
    return try checked(EnvelopeRecord.decode(bytes, id: id, area: area), id, area, body: sys.stat(bodyPath(id, area))) {
      exists(path)
    }
  }

  /// The entry an envelope decoded to, once its body is known to be there with the recorded
  /// size; a damaged entry is quarantined and reported corrupt.
  /// - Parameters:
  ///   - body: `stat` of the body file.
  ///   - envelopeExists: Whether the envelope is still there (asked when the body is not).
  func checked(
    _ decoded: Result<QueueEntry, EnvelopeRecord.ParseFailure>, _ id: QueueID, _ area: QueueArea,
    body: (Int32, FileStatus?), envelopeExists: () -> Bool
  ) throws(QueueError) -> QueueEntry {
    let entry: QueueEntry
    switch decoded {
    case .success(let decoded): entry = decoded
    case .failure(let failure): throw quarantine(id, area, reason: failure.reason)
    }
    let (result, status) = body
    if result == -ENOENT {
      // remove() unlinks the env before the body: if the env is gone too, so is the entry.
      guard envelopeExists() else { throw .notFound(id) }
      throw quarantine(id, area, reason: "body missing")
    }
    guard result == 0, let status else { throw .system(-result, .stat, bodyPath(id, area)) }
    guard status.size == entry.body.size else {
      throw quarantine(id, area, reason: "body size \(status.size) differs from recorded \(entry.body.size)")
    }
    return entry
  }

  /// Moves a damaged entry to corrupt/ unless someone holds it locked or this store does
  /// not quarantine, and returns the error to throw. Best effort: the entry is reported
  /// corrupt either way.
  func quarantine(_ id: QueueID, _ area: QueueArea, reason: String) -> QueueError {
    let error = QueueError.corrupt(id, reason: reason)
    guard quarantinesCorruptEntries else { return error }
    let body = bodyPath(id, area)
    var lock: QueueLock?
    let fd = sys.open(body, O_RDONLY | O_CLOEXEC, 0)
    if fd >= 0 {
      lock = heldLock(id, fd)
      guard sys.flock(fd, LOCK_EX | LOCK_NB) == 0 else { return error }
    }
    guard (try? ensureDirectory(corruptDirectory)) != nil else { return error }
    _ = sys.rename(envPath(id, area), corruptDirectory + "/\(id).env")
    _ = sys.rename(body, corruptDirectory + "/\(id).body")
    try? syncDirectory(corruptDirectory)
    try? syncDirectory(areaDirectory(area))
    lock?.release()
    return error
  }

  public func openBody(of entry: QueueEntry, holding lock: QueueLock) throws(QueueError) -> QueueBodyReader {
    precondition(lock.isHeld && lock.id == entry.id, "openBody needs the entry's own lock")
    let fd = lock.fd
    let (result, status) = sys.fstat(fd)
    guard result == 0, let status else { throw .system(-result, .stat, bodyPath(entry.id, entry.area)) }
    guard status.size == entry.body.size else {
      throw .corrupt(entry.id, reason: "body size \(status.size) differs from recorded \(entry.body.size)")
    }
    let sys = self.sys
    let path = bodyPath(entry.id, entry.area)
    return QueueBodyReader(id: entry.id, size: entry.body.size, lock: lock) { (offset, count) throws(QueueError) in
      var chunk = [UInt8](repeating: 0, count: count)
      let n = chunk.withUnsafeMutableBytes { raw in sys.pread(fd, raw, offset) }
      guard n >= 0 else { throw .system(Int32(-n), .read, path) }
      chunk.removeLast(count - n)
      return chunk
    }
  }

  // MARK: Locking

  public func tryLock(_ id: QueueID) throws(QueueError) -> QueueLock? {
    try lockEntry(id, .queued)
  }

  /// Locks an entry's body file, then checks the entry is still there (it may have been
  /// removed or moved between the open and the lock).
  func lockEntry(_ id: QueueID, _ area: QueueArea) throws(QueueError) -> QueueLock? {
    let path = bodyPath(id, area)
    let fd = sys.open(path, O_RDONLY | O_CLOEXEC, 0)
    if fd == -ENOENT { throw .notFound(id) }
    guard fd >= 0 else { throw .system(-fd, .open, path) }
    let lock = heldLock(id, fd)
    let result = sys.flock(fd, LOCK_EX | LOCK_NB)
    if result == -EWOULDBLOCK { return nil }
    guard result == 0 else { throw .system(-result, .lock, path) }
    guard exists(envPath(id, area)) else { throw .notFound(id) }
    let (r1, held) = sys.fstat(fd)
    let (r2, current) = sys.stat(path)
    guard r1 == 0, r2 == 0, held?.inode == current?.inode, held?.device == current?.device else {
      throw .notFound(id)
    }
    return lock
  }

  /// A lock object that closes `fd` (dropping the flock on it) when released. Closing,
  /// not LOCK_UN: a `-odb` child keeps the lock on its copy of the descriptor
  /// (GSendmailKit's Detach.swift), and LOCK_UN would drop it for both processes.
  func heldLock(_ id: QueueID, _ fd: Int32) -> QueueLock {
    let sys = self.sys
    return QueueLock(id: id, fd: fd) { _ = sys.close(fd) }
  }

  /// Opens and locks a file without blocking.
  /// - Returns: The locked descriptor (close it to unlock), or `nil` when someone else
  ///   holds the lock or the file is gone.
  func lockFile(_ path: String) -> Int32? {
    let fd = sys.open(path, O_RDONLY | O_CLOEXEC, 0)
    guard fd >= 0 else { return nil }
    guard sys.flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      _ = sys.close(fd)
      return nil
    }
    return fd
  }
}

extension QueueEntry {
  /// This entry (envelope, header and body as committed) with another's delivery state.
  func withState(of other: QueueEntry) -> QueueEntry {
    var entry = self
    entry.attempts = other.attempts
    entry.nextAttempt = other.nextAttempt
    entry.lastError = EnvelopeRecord.sanitizedLine(other.lastError)
    entry.deferredForAuthentication = other.deferredForAuthentication
    entry.held = other.held
    return entry
  }

  /// This entry, marked as living in `area`.
  func `in`(_ area: QueueArea) -> QueueEntry {
    var entry = self
    entry.area = area
    return entry
  }
}
