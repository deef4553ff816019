// SPDX-License-Identifier: MIT
// Who may see and run which entries of a queue. A per-user queue is the caller's
// own: everything in it is theirs. The system queue (/var/spool/gsendmail) is
// shared by every local user through the set-group-ID binary, so:
//
//   caller                               runs (-q, flush)    lists (mailq)
//   root, the queue user _gsendmail      every entry         every entry
//   a member of group gsendmail          own entries         every entry
//   anyone else                          own entries         own entries
//
// "Own" is the real uid recorded in the entry when it was submitted; an entry
// written before uids were recorded belongs to no caller, so only root and the
// queue user handle it. Listing follows Postfix's authorized_mailq_users; running
// follows the rule that no caller may change the schedule of another's mail.
// Only a caller that runs every entry moves a corrupt one to corrupt/.

#if canImport(Glibc)
import Glibc
#endif
import GSendmailCore
import MailQueue

package struct QueueAccess: Equatable {
  /// Only entries submitted by this real uid; nil: every entry.
  package var owner: UInt32?

  package init(owner: UInt32?) { self.owner = owner }

  /// The system queue runner's user (the systemd service's `User=`).
  static let queueUserName = "_gsendmail"
  /// The group of the system queue, token cache and configuration.
  static let groupName = "gsendmail"

  /// Whether an entry is within reach.
  package func admits(_ entry: QueueEntry) -> Bool {
    owner == nil || entry.envelope.submitter == owner
  }

  /// Whether this caller handles every entry (and quarantines corrupt ones).
  package var isUnrestricted: Bool { owner == nil }

  /// What a queue run (`-q`, `queue flush`, a first attempt's notices) may handle.
  package static func runner(_ config: Configuration, _ environment: Environment) -> QueueAccess {
    guard config.isSystem, environment.uid != 0, !isQueueUser(environment.uid) else { return QueueAccess(owner: nil) }
    return QueueAccess(owner: environment.uid)
  }

  /// What `mailq` and `queue list|show` may show.
  package static func viewer(_ config: Configuration, _ environment: Environment) -> QueueAccess {
    let runner = runner(config, environment)
    guard runner.owner != nil, !isGroupMember(environment) else { return QueueAccess(owner: nil) }
    return runner
  }

  static func isQueueUser(_ uid: UInt32) -> Bool { queueUserID == uid }

  /// Group `gsendmail`'s id, looked up once per process.
  package static let groupID: gid_t? = getgrnam(groupName).map { $0.pointee.gr_gid }

  /// The queue user's uid, looked up once per process.
  private static let queueUserID: UInt32? = getpwnam(queueUserName).map { $0.pointee.pw_uid }

  /// Whether the real group or a supplementary group of the caller is `gsendmail` (the
  /// effective group of the set-group-ID binary does not count).
  static func isGroupMember(_ environment: Environment) -> Bool {
    guard let gid = groupID else { return false }
    if environment.gid == gid { return true }
    let count = getgroups(0, nil)
    guard count > 0 else { return false }
    var groups = [gid_t](repeating: 0, count: Int(count))
    let got = getgroups(count, &groups)
    return got > 0 && groups.prefix(Int(got)).contains(gid)
  }
}
