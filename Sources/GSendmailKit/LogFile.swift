// SPDX-License-Identifier: MIT
// The log file of `log = "file:PATH"`: appended to by every process that delivers
// through the configuration. A system configuration's file is written by root, by
// users through the setgid binary and by the queue user, so it is `0660` group
// `gsendmail`. Only root creates it (a file belongs to its creator, who could then
// rewrite it at will), with that mode exactly whatever the umask, and root repairs
// a file of its own that lost it (an older version made it 0640).

#if canImport(Glibc)
import Glibc
#endif

enum LogFile {
  /// Appends `line` (one write, so concurrent writers do not interleave) to `path`, never
  /// following a symbolic link.
  /// - Returns: nil when the line was written, else why not.
  static func append(_ line: String, to path: String, shared: Bool) -> String? {
    let flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK
    var fd = open(path, flags)
    var created = false
    if fd < 0 && errno == ENOENT {
      guard !shared || getuid() == 0 else {
        return "it does not exist (root creates it, mode 0660 group gsendmail, on its first delivery)"
      }
      fd = open(path, flags | O_CREAT | O_EXCL, shared ? 0o660 : 0o600)
      if fd >= 0 {
        created = true
      } else if errno == EEXIST {
        fd = open(path, flags)  // another process made it in between
      }
    }
    guard fd >= 0 else { return errno == ELOOP ? "it is a symbolic link" : String(cString: strerror(errno)) }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return "it is not a regular file" }
    if created || (shared && getuid() == 0) { settle(fd, info, shared: shared, created: created) }
    let bytes = Array(line.utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == bytes.count else {
      return written < 0 ? String(cString: strerror(errno)) : "only part of the line was written"
    }
    return nil
  }

  /// Gives a new file its exact mode, and a shared one group `gsendmail` (a file made by
  /// root has root's group). Root also repairs an existing shared file it owns.
  private static func settle(_ fd: Int32, _ info: stat, shared: Bool, created: Bool) {
    let mode: mode_t = shared ? 0o660 : 0o600
    if !created {
      // Only root's own files: a file someone else placed there keeps its owner's choice.
      guard info.st_uid == 0 else { return }
    }
    if shared, getuid() == 0, let group = QueueAccess.groupID, info.st_gid != group {
      _ = fchown(fd, uid_t.max, group)
    }
    if info.st_mode & 0o7777 != mode { _ = fchmod(fd, mode) }
  }
}
