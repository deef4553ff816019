// SPDX-License-Identifier: MIT
// The doctor's checks that a system account works for every local user, not only
// for root: with /etc/gsendmail/config.toml, cron jobs and www-data run gsendmail
// set-group-ID gsendmail, so that group must be able to read the configuration and
// each secret file the account needs, and to update its token cache. Also the
// facts a Workspace administrator needs for a service account's delegation.
// Failure policy: each check returns its result; nothing here throws or prints.

import GSendmailCore
import GSendmailKit
import OAuth2

#if canImport(Glibc)
  import Glibc
#endif

extension Doctor {
  /// Whether group gsendmail can read (and, for the token cache, write) what the account
  /// needs; nil for a per-user configuration.
  public func systemAccessCheck(_ account: Account, config: Configuration) -> DoctorCheck? {
    guard config.isSystem else { return nil }
    guard let group = QueueAccess.groupID else {
      return DoctorCheck(
        "other users", .fail, "there is no group gsendmail: only root can send through this account",
        fix: "reinstall the gsendmail package (it makes the group and its directories)")
    }
    var problems: [String] = []
    var fixes: [String] = []
    var files = [(key: "config", path: config.path)] + config.secretFiles(of: account, environment: environment)
    let tokens = ConfigLocator.tokenDirectory(for: config, environment: environment)
    if account.auth == .oauth || account.auth == .serviceAccount { files.append(("token directory", tokens)) }
    for (key, path) in files {
      var st = stat()
      guard stat(path, &st) == 0 else { continue }  // a missing file has its own check
      let mode = st.st_mode & 0o777
      let ofGroup = st.st_gid == group
      switch key {
      case "token directory":
        if !(ofGroup && mode & 0o070 == 0o070) {
          problems.append("\(path) (\(key))")
          fixes.append("chown root:gsendmail \(path) && chmod 2770 \(path)")
        }
      case "token cache":
        if !(ofGroup && mode & 0o060 == 0o060) {
          problems.append("\(path) (\(key))")
          fixes.append("chown root:gsendmail \(path) && chmod 660 \(path)")
        }
      case "config" where mode & 0o004 != 0:
        continue  // a configuration without secrets may be world-readable
      default:
        if !(ofGroup && mode & 0o040 != 0) {
          problems.append("\(path) (\(key))")
          fixes.append("chown root:gsendmail \(path) && chmod 640 \(path)")
        }
      }
    }
    guard problems.isEmpty else {
      return DoctorCheck(
        "other users", .fail,
        "group gsendmail cannot use \(problems.joined(separator: ", ")): "
          + "cron jobs, www-data and other users cannot send through this account, only root",
        fix: fixes.joined(separator: "; "))
    }
    return DoctorCheck(
      "other users", .ok,
      "group gsendmail can read every file this account needs: any local user can send through it")
  }

  /// A service account's client ID and the scope, as the Admin console asks for them.
  func delegationCheck(_ account: Account) -> DoctorCheck? {
    guard account.auth == .serviceAccount else { return nil }
    guard let id = account.serviceAccountClientID else {
      return DoctorCheck(
        "delegation", .warn, "the key file names no client_id, which domain-wide delegation needs",
        fix: "create a new JSON key (Google Cloud console > IAM & Admin > Service accounts > Keys)")
    }
    return DoctorCheck(
      "delegation", .ok,
      "client ID \(id), scope \(account.oauthScope): both must be entered in \(SetupGuide.delegationPlace)")
  }
}
