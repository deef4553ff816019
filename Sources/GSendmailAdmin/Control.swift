// SPDX-License-Identifier: MIT
// What `gsendmailctl` does, as a library: the queue commands and `status`. The
// executable only parses arguments and prints; errors map to exit codes through
// ExitStatus.

import GSendmailCore
import GSendmailKit
import Codecs
import MailQueue
import OAuth2
import TokenStore

/// Management operations on one configuration.
public struct Control {
  public let environment: Environment
  public let config: Configuration

  /// The queue of the configuration (its directories made once, here).
  let store: FileQueueStore

  /// Loads the configuration as gsendmail would (`-C` first).
  public init(configFile: String?, environment: Environment = .current()) throws {
    self.environment = environment
    config = try ConfigLocator.load(configFile: configFile, environment: environment)
    store = MessageQueue.store(for: config, environment: environment)
  }

  func runner(verbose: Bool, stderr: OutputSink?) -> QueueRunner {
    QueueRunner(
      environment: environment, config: config, store: store,
      transcript: verbose ? { stderr?.write("gsendmailctl: \($0)\n") } : nil,
      // Deliveries are logged as gsendmail's, whichever program made them (gsendmail(8)).
      log: DeliveryLog(target: config.log, ident: "gsendmail", shared: config.isSystem))
  }

  // MARK: Queue

  /// `queue list [--failed] [--json]`: for a caller other than root or a member of group
  /// gsendmail, only the entries it submitted. Unreadable entries go to `stderr`, after
  /// the listing, which is written to `out` as the entries are read (never all held).
  public func queueList(failed: Bool, json: Bool, to out: OutputSink, stderr: OutputSink? = nil) throws {
    var text = QueueListing.Mailq(zoneOffsetMinutes: environment.zoneOffsetMinutes)
    var objects = QueueListing.JSONArray()
    let skipped = try MessageQueue.streamListing(
      store, failed ? .failed : .queued, access: QueueAccess.viewer(config, environment), checkingBodies: true,
      to: out,
      add: { entry, block in
        if json { objects.add(entry, to: &block) } else { text.add(entry, to: &block) }
      },
      end: { block in
        if json {
          objects.end(to: &block)
        } else if failed && text.count == 0 {
          block += "No failed messages\n".utf8
        } else {
          text.end(to: &block)
        }
      })
    for error in skipped { stderr?.write("gsendmailctl: skipped a queue entry: \(error)\n") }
  }

  /// `queue flush`: attempts every entry within the caller's reach now (`force`), also
  /// those waiting for a later retry or for `login`; `queue flush --due` (the timer's
  /// run) only those whose retry time has come. One summary line goes to `summary`.
  /// - Parameter account: Only this account's entries (after `login`).
  /// - Returns: The number of entries tried.
  @discardableResult
  public func queueFlush(
    force: Bool = true, account: String? = nil, verbose: Bool = false, stderr: OutputSink? = nil,
    summary: OutputSink? = nil
  ) throws -> Int {
    let result = try runner(verbose: verbose, stderr: stderr).run(force: force, account: account)
    for error in result.skipped { stderr?.write("gsendmailctl: skipped a queue entry: \(error)\n") }
    summary?.write("queue run: \(result.line(zoneOffsetMinutes: environment.zoneOffsetMinutes))\n")
    return result.tried
  }

  /// An entry the caller may see (`queue show`).
  private func visibleEntry(_ id: QueueID) throws -> QueueEntry {
    let entry = try store.load(id)
    guard QueueAccess.viewer(config, environment).admits(entry) else { throw QueueError.notFound(id) }
    return entry
  }

  /// Checks that the caller may change an entry (`queue delete|retry`): its own, unless
  /// root or the queue user.
  private func checkOwnership(_ id: QueueID) throws {
    let entry = try store.load(id)
    guard QueueAccess.runner(config, environment).admits(entry) else { throw QueueError.notFound(id) }
  }

  /// The ids in the queue and in failed/ (for shell completion).
  public func queueIDs() -> [String] {
    var ids: [String] = []
    for area in [QueueArea.queued, .failed] {
      _ = try? store.forEachEntry(area, checkingBodies: true) { ids.append($0.id.rawValue) }
    }
    return ids
  }

  /// `queue show ID`: envelope, state, last error, and the message.
  public func queueShow(_ id: String) throws -> [UInt8] {
    let queueID = try QueueID(id)
    let entry = try visibleEntry(queueID)
    var text = "id: \(entry.id)\nqueue: \(entry.area.rawValue)\narrival: \(entry.arrival)\n"
    text += "sender: <\(entry.envelope.sender)>\naccount: \(entry.envelope.account ?? "none chosen yet")\n"
    for r in entry.envelope.recipients { text += "recipient: <\(r)>\n" }
    text += "size: \(entry.size)\nattempts: \(entry.attempts)\nnext attempt: \(entry.nextAttempt)\n"
    if entry.deferredForAuthentication { text += "waiting for: gsendmailctl login \(entry.envelope.account ?? "")\n" }
    if entry.held { text += "held: until \(entry.nextAttempt) for a sending limit\n" }
    if !entry.lastError.isEmpty { text += "last error: \(entry.lastError)\n" }
    var out = Array((text + "\n").utf8) + entry.header
    if entry.area == .queued, let lock = try store.tryLock(queueID) {
      try EntryBody(store: store, entry: entry, lock: lock).stream { out += $0 }
    } else {
      out += Array("(body not shown: the entry is \(entry.area == .failed ? "in failed/" : "being delivered"))\n".utf8)
    }
    return out
  }

  /// `queue delete ID`.
  public func queueDelete(_ id: String) throws {
    let queueID = try QueueID(id)
    try checkOwnership(queueID)
    try store.delete(queueID)
  }

  /// `queue retry ID`: due now (back from failed/ if there), then a queue run of what is
  /// due.
  public func queueRetry(_ id: String, verbose: Bool = false, stderr: OutputSink? = nil) throws {
    let queueID = try QueueID(id)
    try checkOwnership(queueID)
    try store.retryNow(queueID, now: environment.now().seconds)
    try queueFlush(force: false, verbose: verbose, stderr: stderr)
  }

  // MARK: Status

  /// One account as `status` shows it.
  struct AccountStatus {
    var account: Account
    var token: String
    var expires: Int?
    var refreshIssued: Int?
    var queued: Int
    var deferredForLogin: Int
    var failed: Int
    /// The last authentication failure, until a session authenticates again.
    var authFailure: AuthFailureRecord?
    /// The scopes the cached token was granted, when the token endpoint said.
    var scope: String?
  }

  func accountStatuses(_ name: String?) throws -> [AccountStatus] {
    let accounts: [Account]
    if let name {
      guard let account = config.account(named: name) else { throw ConfigError.unknownAccount(name) }
      accounts = [account]
    } else {
      accounts = config.accounts
    }
    // Counted as the entries are read: a queue of 100,000 entries is never held.
    let visible = QueueAccess.viewer(config, environment)
    var queued: [String: (all: Int, forLogin: Int)] = [:]
    var failed: [String: Int] = [:]
    _ = try? store.forEachEntry(.queued, checkingBodies: true) { entry in
      guard visible.admits(entry), let name = entry.envelope.account else { return }
      queued[name, default: (0, 0)].all += 1
      if entry.deferredForAuthentication { queued[name, default: (0, 0)].forLogin += 1 }
    }
    _ = try? store.forEachEntry(.failed, checkingBodies: true) { entry in
      guard visible.admits(entry), let name = entry.envelope.account else { return }
      failed[name, default: 0] += 1
    }
    let tokens = config.tokenStore(environment: environment)
    let tokenDirectory = ConfigLocator.tokenDirectory(for: config, environment: environment)
    let now = environment.now().seconds
    return accounts.map { account in
      let authFailure = AuthFailureRecord.read(directory: tokenDirectory, account: account.name)
      var token = "not used"
      var expires: Int?
      var refreshIssued: Int?
      if account.auth == .oauth || account.auth == .serviceAccount {
        switch tokens.status(account: account.name) {
        case .none:
          token =
            account.auth == .oauth
            ? "none (run gsendmailctl login \(account.name))" : "none yet (fetched on the first send)"
        case .unusable(let reason):
          token = "unusable: \(reason)"
        case .present(let hasRefresh, let valid, let expiresAt, let issuedAt):
          expires = expiresAt
          refreshIssued = issuedAt
          if valid && (expiresAt ?? 0) - 60 > now {
            token = "valid"
          } else if hasRefresh || account.auth == .serviceAccount {
            token = "expired (refreshed on the next send)"
          } else {
            token = "expired (run gsendmailctl login \(account.name))"
          }
          if account.auth == .oauth && !hasRefresh {
            token += "; no refresh token (run gsendmailctl login \(account.name))"
          }
          if let issuedAt { token += "; refresh token " + Self.age(since: issuedAt, now: now) + " old" }
        }
        if authFailure != nil { token += "; refused at the last attempt (see last failure)" }
      }
      let mine = queued[account.name] ?? (0, 0)
      return AccountStatus(
        account: account, token: token, expires: expires, refreshIssued: refreshIssued, queued: mine.all,
        deferredForLogin: mine.forLogin, failed: failed[account.name] ?? 0, authFailure: authFailure,
        scope: tokens.grantedScope(account: account.name))
    }
  }

  /// What a Workspace administrator enters for a service account: its client ID (from
  /// the key file) and the scope.
  static func delegationText(_ account: Account) -> String {
    guard let id = account.serviceAccountClientID else {
      return "client ID unknown (the key file cannot be read); "
        + "in the Admin console allow it the scope \(account.oauthScope)"
    }
    return "client ID \(id), scope \(account.oauthScope) (enter both in \(SetupGuide.delegationPlace))"
  }

  /// A remark on a granted scope: what the route needs that is missing, or more than it needs.
  static func scopeNote(granted: String, account: Account) -> String {
    let scopes = granted.split(separator: " ").map(String.init)
    if !scopes.contains(account.oauthScope) && !(account.route == .gmailAPI && scopes.contains(GoogleOAuth.gmailScope))
    {
      return
        " (the \(account.route.rawValue) route needs \(account.oauthScope): run gsendmailctl login \(account.name))"
    }
    if account.route == .gmailAPI && scopes != [GoogleOAuth.gmailSendScope] {
      return " (more than this route needs: gsendmailctl login \(account.name) asks for gmail.send alone)"
    }
    return ""
  }

  /// "3 days", "1 day", "less than a day".
  static func age(since then: Int, now: Int) -> String {
    let days = max(0, now - then) / 86400
    return days == 0 ? "less than a day" : "\(days) day\(days == 1 ? "" : "s")"
  }

  /// `status [ACCOUNT] [--json]`. Never prints a secret.
  public func status(account: String?, json: Bool) throws -> String {
    let statuses = try accountStatuses(account)
    if json {
      let items = statuses.map { s in
        "{\"account\":\(JSON.quoted(s.account.name)),\"from\":\(JSON.quoted(s.account.from)),"
          + "\"route\":\(JSON.quoted(s.account.route.rawValue)),\"host\":\(JSON.quoted(s.account.host)),"
          + "\"port\":\(s.account.port),\"auth\":\(JSON.quoted(s.account.auth.rawValue)),"
          + "\"token\":\(JSON.quoted(s.token)),\"expires_at\":\(s.expires.map(String.init) ?? "null"),"
          + "\"refresh_token_issued_at\":\(s.refreshIssued.map(String.init) ?? "null"),"
          + "\"scope\":\(s.scope.map(JSON.quoted) ?? "null"),"
          + "\"queued\":\(s.queued),\"deferred_for_login\":\(s.deferredForLogin),\"failed\":\(s.failed),"
          + "\"last_auth_failure\":"
          + (s.authFailure.map { "{\"time\":\($0.time),\"reason\":\(JSON.quoted($0.reason))}" } ?? "null") + ","
          + "\"service_account_client_id\":\(s.account.serviceAccountClientID.map(JSON.quoted) ?? "null")}"
      }
      return "{\"config\":\(JSON.quoted(config.path)),\"accounts\":[\(items.joined(separator: ","))]}\n"
    }
    var out = "config: \(config.path)\n"
    for s in statuses {
      out += "\n[\(s.account.name)]\(s.account.name == config.defaultAccount ? " (default)" : "")\n"
      out += "  from:   \(s.account.from)\n"
      out +=
        s.account.route == .gmailAPI
        ? "  route:  gmail-api (\(s.account.apiURL), HTTPS)\n"
        : "  route:  \(s.account.route.rawValue) (\(s.account.host):\(s.account.port) \(s.account.tls.rawValue))\n"
      out += "  auth:   \(s.account.auth.rawValue)\n"
      if s.account.auth == .oauth || s.account.auth == .serviceAccount {
        out += "  token:  \(s.token)"
        if let e = s.expires {
          out +=
            ", access token expires \(e - environment.now().seconds > 0 ? "in \((e - environment.now().seconds) / 60) min" : "—")"
        }
        out += "\n"
        out += "  scope:  \(s.scope ?? "not recorded (the next token refresh records it)")"
        out += s.scope.map { Self.scopeNote(granted: $0, account: s.account) } ?? ""
        out += "\n"
      }
      if let failure = s.authFailure {
        out +=
          "  last failure: \(failure.localTime(zoneOffsetMinutes: environment.zoneOffsetMinutes(failure.time))): "
          + "\(failure.reason)\n"
      }
      if s.account.auth == .serviceAccount {
        out += "  delegation: " + Self.delegationText(s.account) + "\n"
      }
      out += "  queue:  \(s.queued) queued (\(s.deferredForLogin) waiting for login), \(s.failed) failed\n"
    }
    return out
  }
}
