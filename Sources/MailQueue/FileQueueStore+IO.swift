// SPDX-License-Identifier: MIT
// The file store's I/O steps over the syscall seam: durable writes, directory
// syncs, renames, reads, and creating the queue's directories. Each failure is a
// QueueError naming the path and the call.

#if canImport(Glibc)
import Codecs
import Glibc
#endif

extension FileQueueStore {
  /// Whether a path exists.
  func exists(_ path: String) -> Bool { sys.stat(path).0 == 0 }

  /// Writes every byte, retrying short writes and EINTR.
  func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(QueueError) {
    var offset = 0
    while offset < bytes.count {
      let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
      let n = sys.write(fd, rest)
      guard n > 0 else { throw .system(n == 0 ? EIO : Int32(-n), .write, path) }
      offset += n
    }
  }

  /// Syncs a descriptor to disk.
  func sync(_ fd: Int32, path: String) throws(QueueError) {
    let result = sys.fsync(fd)
    guard result == 0 else { throw .system(-result, .fsync, path) }
  }

  /// Creates (or truncates) a file, writes it, syncs it and closes it. On failure the
  /// file is removed.
  func writeDurably(_ path: String, _ bytes: [UInt8]) throws(QueueError) {
    let fd = sys.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, policy.fileMode)
    guard fd >= 0 else { throw .system(-fd, .open, path) }
    do throws(QueueError) {
      try withRawBytes(bytes) { (raw) throws(QueueError) in try writeAll(fd, raw, path: path) }
      try sync(fd, path: path)
      // The caller's umask narrowed open()'s mode: set it exactly.
      let changed = sys.chmod(path, policy.fileMode)
      guard changed == 0 else { throw QueueError.system(-changed, .chmod, path) }
    } catch {
      _ = sys.close(fd)
      _ = sys.unlink(path)
      throw error
    }
    let closed = sys.close(fd)
    // close() can report a delayed write error (NFS); EINTR after fsync is harmless.
    guard closed == 0 || closed == -EINTR else {
      _ = sys.unlink(path)
      throw .system(-closed, .write, path)
    }
  }

  /// Makes a directory's entries (renames, unlinks) durable: open it and fsync it.
  func syncDirectory(_ path: String) throws(QueueError) {
    let fd = sys.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
    guard fd >= 0 else { throw .system(-fd, .open, path) }
    defer { _ = sys.close(fd) }
    try sync(fd, path: path)
  }

  /// Renames a file.
  func rename(_ from: String, _ to: String) throws(QueueError) {
    let result = sys.rename(from, to)
    guard result == 0 else { throw .system(-result, .rename, to) }
  }

  /// Reads a whole file of at most `limit` bytes; `nil` when it does not exist.
  func readFile(_ path: String, limit: Int) throws(QueueError) -> [UInt8]? {
    let fd = sys.open(path, O_RDONLY | O_CLOEXEC, 0)
    if fd == -ENOENT { return nil }
    guard fd >= 0 else { throw .system(-fd, .open, path) }
    defer { _ = sys.close(fd) }
    return try readAll(fd, path: path, limit: limit)
  }

  /// Reads an open file from its start to its end, at most `limit` bytes.
  func readAll(_ fd: Int32, path: String, limit: Int) throws(QueueError) -> [UInt8] {
    var out: [UInt8] = []
    // Envelope files are a few hundred bytes: the first read asks for 4 KB, and later ones
    // for more, up to 64 KB. Each chunk is read into uninitialized memory: listing a queue
    // of 100,000 entries would otherwise zero-fill gigabytes of buffer.
    var chunkSize = 4096
    while true {
      let offset = out.count
      var n = 0
      let chunk = [UInt8](unsafeUninitializedCapacity: chunkSize) { buffer, count in
        n = sys.pread(fd, UnsafeMutableRawBufferPointer(buffer), offset)
        count = max(n, 0)
      }
      guard n >= 0 else { throw .system(Int32(-n), .read, path) }
      if n == 0 { return out }
      if out.isEmpty { out = chunk } else { out += chunk }
      guard out.count <= limit else { throw .io(path: path, errno: EFBIG, operation: .read) }
      chunkSize = min(chunkSize * 2, 65_536)
    }
  }

  /// Creates the queue directory and its tmp/, entries/, failed/ and corrupt/.
  func ensureLayout() throws(QueueError) {
    try ensureDirectory(directory)
    for dir in [tmpDirectory, areaDirectory(.queued), areaDirectory(.failed), corruptDirectory] {
      try ensureDirectory(dir)
    }
  }

  /// Creates a directory with the policy's mode and group, and its missing parents up to
  /// the queue directory itself; a parent of the queue directory is never created (a
  /// home that does not exist stays so; packaging makes the system spool).
  /// Existing directories are left as they are (packaging sets the system queue's mode).
  func ensureDirectory(_ path: String) throws(QueueError) {
    if exists(path) { return }
    if path.hasPrefix(directory + "/"), let slash = path.lastIndex(of: "/") {
      try ensureDirectory(String(path[..<slash]))
    }
    let result = sys.mkdir(path, policy.directoryMode)
    if result == -EEXIST { return }
    guard result == 0 else { throw .system(-result, .mkdir, path) }
    // mkdir() applies the umask and ignores the set-group-ID bit: set the mode exactly.
    let changed = sys.chmod(path, policy.directoryMode)
    guard changed == 0 else { throw .system(-changed, .chmod, path) }
    if let group = policy.group {
      let owned = sys.chown(path, group)
      guard owned == 0 else { throw .system(-owned, .chown, path) }
    }
    let parent = path.directoryPart ?? "."
    try syncDirectory(parent)
  }
}

/// A draft's body in tmp/ID.body. The descriptor holds the entry's lock and passes to
/// the `QueueLock` at commit.
final class FileDraftSink: DraftSink {
  let store: FileQueueStore
  let id: QueueID
  private var fd: Int32
  private var path: String { store.tmpDirectory + "/\(id).body" }

  init(store: FileQueueStore, id: QueueID, fd: Int32) {
    self.store = store
    self.id = id
    self.fd = fd
  }

  func write(_ bytes: UnsafeRawBufferPointer) throws(QueueError) {
    try store.writeAll(fd, bytes, path: path)
  }

  func sync() throws(QueueError) {
    try store.sync(fd, path: path)
  }

  /// Removes the temporary files and closes the descriptor, unless it was taken.
  func discard() {
    _ = store.sys.unlink(path)
    _ = store.sys.unlink(store.tmpDirectory + "/\(id).env")
    if fd >= 0 { _ = store.sys.close(fd) }
    fd = -1
  }

  /// Hands the descriptor (and the lock on it) to the caller.
  func takeDescriptor() -> Int32 {
    defer { fd = -1 }
    return fd
  }
}
