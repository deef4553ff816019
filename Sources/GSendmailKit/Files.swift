// SPDX-License-Identifier: MIT
// Small file helpers over Glibc for the front end: read a whole (small) file,
// check who may read a file holding secrets, and read a file with the caller's
// own group when running setgid. Failures are returned as errno text.

import GSendmailCore

#if canImport(Glibc)
import Glibc
#endif

/// A file could not be read.
public struct FileError: Error, Equatable, Sendable, CustomStringConvertible {
  public var path: String
  public var errno: Int32
  /// The system's text for `errno`.
  public var reason: String { String(cString: strerror(errno)) }
  public var description: String { "\(path): \(reason)" }
}

package enum Files {
  /// Whether `path` exists (any type).
  /// - Parameter asCaller: Look with the caller's own group when running setgid.
  package static func exists(_ path: String, asCaller: Bool = false) -> Bool {
    let saved = getegid()
    let drop = asCaller && saved != getgid()
    if drop { _ = setegid(getgid()) }
    defer { if drop { _ = setegid(saved) } }
    var st = stat()
    return stat(path, &st) == 0
  }

  /// Gives up the setgid group for the rest of the process (real, effective and saved
  /// group become the caller's). The corresponding C function is `setregid`.
  package static func dropSetgidGroup() {
    let gid = getgid()
    // Setting the real group makes the saved set-group-ID follow (setregid(2)).
    if getegid() != gid { _ = setregid(gid, gid) }
  }

  /// Reads a whole file of at most `limit` bytes.
  /// - Parameter asCaller: Drop the setgid group while opening, so that a file the caller
  ///   names is read with the caller's own rights only (gsendmail.conf(5)).
  package static func read(_ path: String, limit: Int = 1 << 20, asCaller: Bool = false) throws(FileError) -> [UInt8] {
    let saved = getegid()
    if asCaller && saved != getgid() { _ = setegid(getgid()) }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    let openErrno = errno
    if asCaller && saved != getgid() { _ = setegid(saved) }
    guard fd >= 0 else { throw FileError(path: path, errno: openErrno) }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw FileError(path: path, errno: errno)
      }
      if n == 0 { break }
      out.append(contentsOf: buffer[0..<n])
      if out.count > limit { throw FileError(path: path, errno: EFBIG) }
    }
    return out
  }

  /// Reads a UTF-8 text file.
  package static func readText(_ path: String, asCaller: Bool = false) throws(FileError) -> String {
    String(decoding: try read(path, asCaller: asCaller), as: UTF8.self)
  }

  /// Checks that a file holding secrets is readable by its owner and, at most, the
  /// `gsendmail` group (gsendmail.conf(5)).
  /// - Returns: `nil` when safe, else the `ConfigError` naming the fix.
  package static func secretFileProblem(_ path: String) -> ConfigError? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }  // a missing file is reported by its reader
    let mode = st.st_mode & 0o777
    // The common case, checked on every send: private to its owner, no group to look up.
    if mode & 0o077 == 0 { return nil }
    let groupName = getgrgid(st.st_gid).map { String(cString: $0.pointee.gr_name) }
    if mode & 0o007 != 0 {
      return .unsafePermissions(
        path: path, problem: "can be read or written by others",
        fix: groupName == "gsendmail"
          ? "chmod o-rwx \(path)"
          : "chmod 600 \(path) (or, for the system account, chown :gsendmail \(path) and chmod 640 \(path))")
    }
    if mode & 0o070 != 0 {
      if groupName != "gsendmail" {
        return .unsafePermissions(
          path: path, problem: "can be read by group \(groupName ?? String(st.st_gid))",
          fix: "chmod 600 \(path) (or chown :gsendmail \(path) for the system account)")
      }
    }
    return nil
  }
}
