// SPDX-License-Identifier: MIT
// File system steps of the token cache: create the directory with its mode, read a cache
// file, replace it durably (write a temporary file, fsync, rename, fsync the directory),
// delete it, and hold the account's lock (flock(2) on ACCOUNT.lock).
// Failure policy: each step throws a `TokenError` naming the path and errno text; a
// failed write leaves the previous cache file untouched (the rename is the commit).
// Below: the two-slot layout of the system cache.

import Codecs
import Transport

#if canImport(Glibc)
  import Glibc
#endif

enum CacheFiles {
  static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }

  /// Creates `path` and missing parents. Directories created here get `mode` (the final
  /// one) or 0700 (parents such as `$XDG_STATE_HOME/gsendmail`); existing ones are left
  /// as they are.
  static func makeDirectory(_ path: String, mode: UInt32) throws(TokenError) {
    var st = stat()
    if stat(path, &st) == 0 {
      guard st.st_mode & S_IFMT == S_IFDIR else {
        throw .cacheWrite(path: path, reason: "exists and is not a directory")
      }
      return
    }
    if let parent = path.directoryPart { try makeDirectory(parent, mode: 0o700) }
    if mkdir(path, mode_t(mode & 0o777)) != 0 {
      guard errno == EEXIST else { throw .cacheWrite(path: path, reason: reason(errno)) }
      return
    }
    // mkdir is subject to the umask and drops the setgid bit on some systems: set it exactly.
    guard chmod(path, mode_t(mode)) == 0 else {
      throw .cacheWrite(path: path, reason: reason(errno))
    }
  }

  /// Reads a cache (or credentials) file of at most 64 KiB.
  /// - Parameter followingSymlinks: False for the cache, whose directory this code owns.
  /// - Returns: nil when it does not exist.
  static func read(_ path: String, followingSymlinks: Bool = false) throws(TokenError) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC | (followingSymlinks ? 0 : O_NOFOLLOW))
    guard fd >= 0 else {
      if errno == ENOENT { return nil }
      throw .cacheUnreadable(path: path, reason: reason(errno))
    }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
      let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw .cacheUnreadable(path: path, reason: reason(errno))
      }
      if n == 0 { return out }
      out += buffer[0..<n]
      if out.count > 64 * 1024 { throw .cacheCorrupt(path: path, reason: "larger than 64 KiB") }
    }
  }

  /// Replaces `path` with `content` so that a crash leaves the old or the new file, whole.
  /// The caller holds the account's lock, so the temporary name is never in use by another
  /// writer; a stale one (from a crash) is removed first.
  static func replace(_ path: String, with content: [UInt8], mode: UInt32) throws(TokenError) {
    let temporary = path + ".tmp"
    _ = unlink(temporary)
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode_t(mode))
    guard fd >= 0 else { throw .cacheWrite(path: temporary, reason: reason(errno)) }
    var ok = false
    defer {
      if !ok { _ = unlink(temporary) }
    }
    do throws(TokenError) {
      // The umask may have narrowed the mode (or a system cache needs 0660): set it exactly.
      guard fchmod(fd, mode_t(mode)) == 0 else {
        throw .cacheWrite(path: temporary, reason: reason(errno))
      }
      var offset = 0
      while offset < content.count {
        let n = content.withUnsafeBytes { bytes in
          bytes.baseAddress.map { write(fd, $0 + offset, bytes.count - offset) } ?? 0
        }
        if n < 0 {
          if errno == EINTR { continue }
          throw .cacheWrite(path: temporary, reason: reason(errno))
        }
        offset += n
      }
      // The data must be on disk before the rename makes it the cache.
      guard fsync(fd) == 0 else { throw .cacheWrite(path: temporary, reason: reason(errno)) }
    } catch {
      close(fd)
      throw error
    }
    guard close(fd) == 0 else { throw .cacheWrite(path: temporary, reason: reason(errno)) }
    guard rename(temporary, path) == 0 else { throw .cacheWrite(path: path, reason: reason(errno)) }
    ok = true
    try syncDirectory(of: path)
  }

  /// Stores `content` in a two-slot cache file owned by `owner` (root) without replacing
  /// the file, so that it keeps its owner: the older slot is rewritten in place and
  /// synced (see CacheSlots). The caller holds the account's lock. Nothing is written when
  /// the file is missing, belongs to someone else, is not in the two-slot layout, or the
  /// content does not fit a slot.
  /// - Returns: Whether it was written.
  static func writeSlot(_ path: String, ownedBy owner: UInt32, content: [UInt8]) throws(TokenError) -> Bool {
    // O_NONBLOCK: a FIFO put there must not hang the sender before the type is checked.
    let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
    guard fd >= 0 else {
      if errno == ENOENT { return false }
      throw .cacheWrite(path: path, reason: reason(errno))
    }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw .cacheWrite(path: path, reason: reason(errno)) }
    guard st.st_uid == owner, st.st_mode & S_IFMT == S_IFREG, Int(st.st_size) == CacheSlots.fileSize else {
      return false
    }
    // A caller's file-size limit would cut the write short: raise it, or do not write.
    var limit = rlimit()
    if getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max, limit.rlim_cur < rlim_t(CacheSlots.fileSize) {
      limit.rlim_cur = limit.rlim_max
      guard setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit) == 0,
        limit.rlim_cur == rlim_t.max || limit.rlim_cur >= rlim_t(CacheSlots.fileSize)
      else { return false }
    }
    var current = [UInt8](repeating: 0, count: CacheSlots.fileSize)
    var got = 0
    while got < current.count {
      let n = current.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, $0.count - got, off_t(got)) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw .cacheWrite(path: path, reason: n < 0 ? reason(errno) : "shorter than its size") }
      got += n
    }
    let newest = CacheSlots.newest(current)
    let target = newest.map { 1 - $0.index } ?? 0
    guard let slot = CacheSlots.slot(content, generation: (newest?.generation ?? 0) + 1) else { return false }
    var offset = 0
    while offset < slot.count {
      let n = slot.withUnsafeBytes {
        pwrite(fd, $0.baseAddress! + offset, $0.count - offset, off_t(target * CacheSlots.slotSize + offset))
      }
      if n < 0 {
        if errno == EINTR { continue }
        throw .cacheWrite(path: path, reason: reason(errno))
      }
      offset += n
    }
    guard fsync(fd) == 0 else { throw .cacheWrite(path: path, reason: reason(errno)) }
    return true
  }

  /// Deletes a cache file; a missing one is fine.
  static func remove(_ path: String) throws(TokenError) {
    guard unlink(path) == 0 || errno == ENOENT else {
      throw .cacheWrite(path: path, reason: reason(errno))
    }
    try syncDirectory(of: path)
  }

  /// Makes a rename or unlink in the directory durable.
  static func syncDirectory(of path: String) throws(TokenError) {
    let directory = path.directoryPart ?? "."
    let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw .cacheWrite(path: directory, reason: reason(errno)) }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw .cacheWrite(path: directory, reason: reason(errno)) }
  }
}

/// An exclusive flock(2) on an account's lock file, released by `unlock()` (or when the
/// process ends). flock locks belong to the open file, so two threads of one process
/// exclude each other as two processes do.
final class CacheLock {
  private var fd: Int32

  /// Waits up to `timeout` for the lock, polling, so that a hung holder cannot block a
  /// sender forever.
  ///
  /// The file is opened read-only (flock needs no more), so that anyone who may read it
  /// may lock it; the one who creates it sets `mode` exactly, whatever the umask, so that
  /// the `gsendmail` group can read a lock file made by root or by any user (gsendmail.conf(5)).
  /// - Parameter create: Make the lock file when it is missing; otherwise a missing one
  ///   makes the initializer return nil.
  init?(path: String, mode: UInt32, timeout: Duration, create: Bool = true) throws(TokenError) {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), mode_t(mode))
    guard fd >= 0 else {
      if !create && errno == ENOENT { return nil }
      throw .cacheWrite(path: path, reason: CacheFiles.reason(errno))
    }
    var st = stat()
    if fstat(fd, &st) == 0 && (st.st_uid == geteuid() || geteuid() == 0) && st.st_mode & 0o7777 != mode_t(mode) {
      _ = fchmod(fd, mode_t(mode))
    }
    // Root takes back a lock file someone else made (its owner could chmod it to block all).
    if geteuid() == 0 && st.st_uid != 0 { _ = fchown(fd, 0, gid_t.max) }
    let deadline = MonotonicClock.now() + timeout
    var pause = Duration.milliseconds(5)
    while flock(fd, LOCK_EX | LOCK_NB) != 0 {
      let code = errno
      if code == EINTR { continue }
      guard code == EWOULDBLOCK else {
        close(fd)
        throw .cacheWrite(path: path, reason: CacheFiles.reason(code))
      }
      guard MonotonicClock.now() < deadline else {
        close(fd)
        throw .lockTimeout(path: path)
      }
      var request = timespec(
        tv_sec: Int(pause.components.seconds),
        tv_nsec: Int(pause.components.attoseconds / 1_000_000_000))
      _ = nanosleep(&request, nil)
      pause = min(pause * 2, .milliseconds(100))
    }
    self.fd = fd
  }

  /// Releases the lock (once; later calls do nothing).
  func unlock() {
    guard fd >= 0 else { return }
    _ = flock(fd, LOCK_UN)
    close(fd)
    fd = -1
  }

  deinit { unlock() }
}

// MARK: - Slots of the system cache

// The layout of the system token cache: two 4 KiB slots, each a header line
// `gsendmail-token-slot 2 GENERATION LENGTH CHECKSUM` followed by the cache's JSON and
// space padding. The checksum covers generation, length and content, so that no mix of
// a new header and an old slot can pass for a newer one. A writer that may not replace the file (anyone but root: the file must
// stay root's) rewrites the older slot in place; a write cut short (a crash, a file-size
// limit, a kill) spoils only that slot, whose checksum then fails, and readers take the
// newest valid slot. Pure.

/// The two-slot form of a cache file.
public enum CacheSlots {
  static let slotSize = 4096
  static let fileSize = 2 * slotSize
  static let magic = Array("gsendmail-token-slot 2 ".utf8)

  /// Whether the bytes are in this layout (else they are a plain JSON cache).
  public static func isSlotted(_ bytes: [UInt8]) -> Bool { bytes.starts(with: magic) }

  /// One slot holding `content`, or nil when it does not fit.
  static func slot(_ content: [UInt8], generation: UInt64) -> [UInt8]? {
    let sum = checksum(generation: generation, content: content)
    let header = magic + Array("\(generation) \(content.count) \(String(sum, radix: 16))\n".utf8)
    guard header.count + content.count <= slotSize else { return nil }
    return header + content + [UInt8](repeating: 0x20, count: slotSize - header.count - content.count)
  }

  /// A whole file: `content` in the first slot, the second one empty.
  static func file(_ content: [UInt8], generation: UInt64 = 1) -> [UInt8]? {
    slot(content, generation: generation).map { $0 + [UInt8](repeating: 0x20, count: slotSize) }
  }

  /// The newest valid slot: its index, generation and content; nil when neither is valid.
  static func newest(_ file: [UInt8]) -> (index: Int, generation: UInt64, content: [UInt8])? {
    var best: (index: Int, generation: UInt64, content: [UInt8])?
    for index in 0..<2 where file.count >= (index + 1) * slotSize {
      guard let (generation, content) = decode(file[(index * slotSize)..<((index + 1) * slotSize)]) else { continue }
      if generation > best?.generation ?? 0 { best = (index, generation, content) }
    }
    return best
  }

  /// A slot's generation and content, when its header is well formed and its checksum holds.
  static func decode(_ slot: ArraySlice<UInt8>) -> (UInt64, [UInt8])? {
    guard slot.starts(with: magic), let newline = slot.firstIndex(of: 0x0A) else { return nil }
    let fields = slot[(slot.startIndex + magic.count)..<newline].split(separator: 0x20)
    guard fields.count == 3, let generation = UInt64(String(decoding: fields[0], as: UTF8.self)),
      let length = Int(String(decoding: fields[1], as: UTF8.self)),
      let sum = UInt64(String(decoding: fields[2], as: UTF8.self), radix: 16),
      length >= 0, length <= slot.endIndex - newline - 1,
      generation < UInt64.max  // the next writer adds one
    else { return nil }
    let content = Array(slot[(newline + 1)..<(newline + 1 + length)])
    return checksum(generation: generation, content: content) == sum ? (generation, content) : nil
  }

  /// FNV-1a, 64 bits, over `GENERATION LENGTH ` and the content: enough to tell a whole
  /// slot from a torn or mixed one.
  static func checksum(generation: UInt64, content: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in Array("\(generation) \(content.count) ".utf8) + content {
      hash ^= UInt64(byte)
      hash = hash &* 0x100_0000_01b3
    }
    return hash
  }
}
