// SPDX-License-Identifier: MIT
// The file that keeps an account's record of recent sends (SendingLimits.swift):
// `QUEUE/limits/ACCOUNT`, with the queue's modes and group. It is read, changed and
// rewritten in place under flock(2), held only for that short step; a holder that
// does not let go within a few seconds (a stopped process) is passed over, and the
// step reports that the record could not be used, never blocking a send for long.

#if canImport(Glibc)
import Glibc
#endif

extension FileQueueStore {
  /// How long to wait for another process's hold on a record.
  static let sendRecordLockWait = 5_000  // milliseconds

  var limitsDirectory: String { directory + "/limits" }

  /// The record's file: the account name with bytes outside `[A-Za-z0-9._-]` as `%XX`
  /// (a leading dot too), so that no name can leave the directory.
  func sendRecordPath(_ account: String) -> String {
    var name = ""
    for (index, byte) in account.utf8.enumerated() {
      let plain = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
        || byte == 0x5f || byte == 0x2d || (byte == 0x2e && index > 0)
      name += plain ? String(UnicodeScalar(byte)) : "%" + String(byte, radix: 16, uppercase: true)
    }
    return limitsDirectory + "/" + (name.isEmpty ? "%" : name)
  }

  public func withSendRecord(account: String, _ body: (inout SendRecord) -> Void) -> Bool {
    guard (try? ensureDirectory(limitsDirectory)) != nil else { return false }
    let path = sendRecordPath(account)
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, mode_t(policy.fileMode))
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var status = stat()
    guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return false }
    if status.st_uid == geteuid(), status.st_mode & 0o7777 != mode_t(policy.fileMode) {
      _ = fchmod(fd, mode_t(policy.fileMode))
    }
    var waited = 0
    while flock(fd, LOCK_EX | LOCK_NB) != 0 {
      guard errno == EWOULDBLOCK || errno == EINTR, waited < Self.sendRecordLockWait else { return false }
      usleep(20_000)
      waited += 20
    }
    defer { _ = flock(fd, LOCK_UN) }
    guard let bytes = try? readAll(fd, path: path, limit: 8 << 20) else { return false }
    var record = SendRecord.decode(bytes)
    let before = record
    body(&record)
    guard record != before else { return true }
    let out = record.encoded
    // The descriptor's offset is still 0: pread and ftruncate leave it where it was.
    guard ftruncate(fd, 0) == 0 else { return false }
    do throws(QueueError) {
      try withRawBytes(out) { (raw) throws(QueueError) in try writeAll(fd, raw, path: path) }
      try sync(fd, path: path)
      return true
    } catch {
      return false
    }
  }
}
