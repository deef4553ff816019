// SPDX-License-Identifier: MIT
// The syscall seam (after swift-system's Mocking.swift): every open, write,
// fsync, rename, link, unlink, mkdir and flock of the file store goes through a
// `Syscalls` value, so tests can force ENOSPC, EIO or EINTR at any step. Each
// closure returns its result, or minus errno on failure; callers never read the
// global errno. `Syscalls.real` is the only implementation outside the tests.
// EINTR is retried here (`retryingInterrupts`), so no caller has to.

#if canImport(Glibc)
import Glibc
#endif

/// File metadata the store needs.
struct FileStatus: Equatable, Sendable {
  var size: Int
  var device: UInt64
  var inode: UInt64
  var modified: Int
}

/// The system calls of the file store, as replaceable closures.
struct Syscalls: Sendable {
  var open: @Sendable (_ path: String, _ flags: Int32, _ mode: UInt32) -> Int32
  var close: @Sendable (_ fd: Int32) -> Int32
  var write: @Sendable (_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int
  var pread: @Sendable (_ fd: Int32, _ into: UnsafeMutableRawBufferPointer, _ offset: Int) -> Int
  var fsync: @Sendable (_ fd: Int32) -> Int32
  var rename: @Sendable (_ from: String, _ to: String) -> Int32
  var link: @Sendable (_ from: String, _ to: String) -> Int32
  var unlink: @Sendable (_ path: String) -> Int32
  var mkdir: @Sendable (_ path: String, _ mode: UInt32) -> Int32
  var chmod: @Sendable (_ path: String, _ mode: UInt32) -> Int32
  var chown: @Sendable (_ path: String, _ group: UInt32) -> Int32
  var flock: @Sendable (_ fd: Int32, _ operation: Int32) -> Int32
  var fstat: @Sendable (_ fd: Int32) -> (Int32, FileStatus?)
  var stat: @Sendable (_ path: String) -> (Int32, FileStatus?)
  /// Opens a file relative to a directory descriptor (`openat`), by a C-string name.
  var openAt: @Sendable (_ directory: Int32, _ name: UnsafePointer<CChar>, _ flags: Int32) -> Int32
  /// `fstatat` of a name relative to a directory descriptor.
  var statAt: @Sendable (_ directory: Int32, _ name: UnsafePointer<CChar>) -> (Int32, FileStatus?)
  /// Hands every name in a directory but `.` and `..` to `visit`, as it is read (nothing
  /// is held): a queue directory may hold 200,000 names.
  var readDirectory: @Sendable (_ path: String, _ visit: (UnsafeRawBufferPointer) -> Void) -> Int32

  /// The real system calls.
  static let real = Syscalls(
    open: { path, flags, mode in
      let fd = Glibc.open(path, flags, mode_t(mode))
      return fd >= 0 ? fd : -errno
    },
    close: { fd in Glibc.close(fd) == 0 ? 0 : -errno },
    write: { fd, bytes in
      let n = Glibc.write(fd, bytes.baseAddress, bytes.count)
      return n >= 0 ? n : -Int(errno)
    },
    pread: { fd, buffer, offset in
      let n = Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
      return n >= 0 ? n : -Int(errno)
    },
    fsync: { fd in Glibc.fsync(fd) == 0 ? 0 : -errno },
    rename: { from, to in Glibc.rename(from, to) == 0 ? 0 : -errno },
    link: { from, to in Glibc.link(from, to) == 0 ? 0 : -errno },
    unlink: { path in Glibc.unlink(path) == 0 ? 0 : -errno },
    mkdir: { path, mode in Glibc.mkdir(path, mode_t(mode)) == 0 ? 0 : -errno },
    chmod: { path, mode in Glibc.chmod(path, mode_t(mode)) == 0 ? 0 : -errno },
    chown: { path, group in Glibc.chown(path, uid_t.max, gid_t(group)) == 0 ? 0 : -errno },
    flock: { fd, operation in systemFlock(fd, operation) },
    fstat: { fd in systemFstat(fd) },
    stat: { path in systemStat(path) },
    openAt: { directory, name, flags in
      let fd = Glibc.openat(directory, name, flags)
      return fd >= 0 ? fd : -errno
    },
    statAt: { directory, name in systemStatAt(directory, name) },
    readDirectory: { path, visit in
      guard let dir = opendir(path) else { return -errno }
      defer { closedir(dir) }
      while let entry = readdir(dir) {
        withUnsafeBytes(of: &entry.pointee.d_name) { raw in
          let name = UnsafeRawBufferPointer(rebasing: raw[..<(raw.firstIndex(of: 0) ?? raw.count)])
          let isDots = name.count <= 2 && name.allSatisfy { $0 == 0x2e }
          if !isDots { visit(name) }
        }
      }
      return 0
    })

  /// Every name in a directory but `.` and `..` (for small directories: tmp/, tests).
  func listDirectory(_ path: String) -> (Int32, [String]) {
    var names: [String] = []
    let result = readDirectory(path) { name in names.append(String(decoding: name, as: UTF8.self)) }
    return (result, names)
  }

  /// The same calls, each run again while it fails with `EINTR` (all but `close`: on
  /// Linux the descriptor is gone even when close reports EINTR).
  func retryingInterrupts() -> Syscalls {
    let base = self
    var calls = self
    calls.open = { path, flags, mode in Syscalls.retrying { base.open(path, flags, mode) } }
    calls.write = { fd, bytes in Syscalls.retrying { base.write(fd, bytes) } }
    calls.pread = { fd, buffer, offset in Syscalls.retrying { base.pread(fd, buffer, offset) } }
    calls.openAt = { directory, name, flags in Syscalls.retrying { base.openAt(directory, name, flags) } }
    calls.fsync = { fd in Syscalls.retrying { base.fsync(fd) } }
    calls.rename = { from, to in Syscalls.retrying { base.rename(from, to) } }
    calls.link = { from, to in Syscalls.retrying { base.link(from, to) } }
    calls.unlink = { path in Syscalls.retrying { base.unlink(path) } }
    calls.mkdir = { path, mode in Syscalls.retrying { base.mkdir(path, mode) } }
    calls.chmod = { path, mode in Syscalls.retrying { base.chmod(path, mode) } }
    calls.chown = { path, group in Syscalls.retrying { base.chown(path, group) } }
    calls.flock = { fd, operation in Syscalls.retrying { base.flock(fd, operation) } }
    calls.fstat = { fd in
      while true {
        let result = base.fstat(fd)
        if result.0 != -EINTR { return result }
      }
    }
    calls.stat = { path in
      while true {
        let result = base.stat(path)
        if result.0 != -EINTR { return result }
      }
    }
    calls.statAt = { directory, name in
      while true {
        let result = base.statAt(directory, name)
        if result.0 != -EINTR { return result }
      }
    }
    return calls
  }

  /// Runs a call again while it fails with `EINTR`.
  @inline(__always)
  static func retrying<T: FixedWidthInteger & SignedInteger>(_ call: () -> T) -> T {
    while true {
      let result = call()
      if result != -T(EINTR) { return result }
    }
  }
}

private func systemFlock(_ fd: Int32, _ operation: Int32) -> Int32 {
  flock(fd, operation) == 0 ? 0 : -errno
}

private func systemFstat(_ fd: Int32) -> (Int32, FileStatus?) {
  var st = stat()
  return fstat(fd, &st) == 0 ? (0, FileStatus(st)) : (-errno, nil)
}

private func systemStat(_ path: String) -> (Int32, FileStatus?) {
  var st = stat()
  return stat(path, &st) == 0 ? (0, FileStatus(st)) : (-errno, nil)
}

private func systemStatAt(_ directory: Int32, _ name: UnsafePointer<CChar>) -> (Int32, FileStatus?) {
  var st = stat()
  return fstatat(directory, name, &st, 0) == 0 ? (0, FileStatus(st)) : (-errno, nil)
}

extension FileStatus {
  init(_ st: stat) {
    size = Int(st.st_size)
    device = UInt64(st.st_dev)
    inode = UInt64(st.st_ino)
    modified = Int(st.st_mtim.tv_sec)
  }
}

/// Runs `body` over the bytes of an array, keeping the thrown error's type.
func withRawBytes(
  _ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(QueueError) -> Void
) throws(QueueError) {
  try bytes.withUnsafeBytes { raw in Result { () throws(QueueError) in try body(raw) } }.get()
}
