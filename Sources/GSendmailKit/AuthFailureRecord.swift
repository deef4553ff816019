// SPDX-License-Identifier: MIT
// The last authentication failure of an account, kept beside its token cache
// (`ACCOUNT.failure`: the time, then the one-line reason with its fix) so that
// `gsendmailctl status` can show it after a send that was queued quietly (a dead
// refresh token, a refused app password). Written when a session cannot
// authenticate, removed once one can. Holds no secret: the reason is the error
// line gsendmail prints. Failures to write or remove it are ignored: it is advice,
// never a reason for a delivery to fail.

import GSendmailCore
import MessageCore

#if canImport(Glibc)
import Glibc
#endif

package struct AuthFailureRecord: Equatable {
  /// Seconds since the epoch.
  package var time: Int
  /// The error line.
  package var reason: String

  /// Where the record of `account` lives in the token directory `directory`.
  package static func path(directory: String, account: String) -> String {
    directory + "/" + account + ".failure"
  }

  /// Reads the record, or nil when there is none.
  package static func read(directory: String, account: String) -> AuthFailureRecord? {
    guard let text = try? Files.readText(path(directory: directory, account: account)) else { return nil }
    let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    guard lines.count == 2, let time = Int(lines[0]) else { return nil }
    return AuthFailureRecord(time: time, reason: String(lines[1].prefix { $0 != "\n" }))
  }

  /// Replaces the record (write a temporary file, rename).
  /// - Parameter create: Make a missing (per-user) token directory, 0700, in a parent that
  ///   exists; the system one is the package's to make.
  package func write(directory: String, account: String, create: Bool) {
    var st = stat()
    if stat(directory, &st) != 0 {
      guard create, mkdir(directory, 0o700) == 0 else { return }
    }
    let target = Self.path(directory: directory, account: account)
    let temporary = target + ".tmp.\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o660)
    guard fd >= 0 else { return }
    let bytes = Array("\(time)\n\(reason.filter { !$0.isNewline })\n".utf8)
    let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    close(fd)
    if written == bytes.count && rename(temporary, target) == 0 { return }
    _ = unlink(temporary)
  }

  /// Removes the record of `account`, if any.
  package static func clear(directory: String, account: String) {
    _ = unlink(path(directory: directory, account: account))
  }

  /// `2026-12-07 01:45 +0000` style, in the local zone.
  package func localTime(zoneOffsetMinutes: Int) -> String {
    let c = DateStamp(epochSeconds: Int64(time), utcOffsetMinutes: zoneOffsetMinutes).components
    func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    let sign = zoneOffsetMinutes < 0 ? "-" : "+"
    let offset = abs(zoneOffsetMinutes)
    let zone = sign + two(offset / 60) + two(offset % 60)
    return "\(c.year)-\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute)) \(zone)"
  }
}
