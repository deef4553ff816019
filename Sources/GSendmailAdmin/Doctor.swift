// SPDX-License-Identifier: MIT
// `gsendmailctl doctor` (gsendmailctl(8)): runs the checks of each account in order and
// reports each as ok, warn, fail (or skip, when a check it needs failed), with the
// fix. Nothing is sent unless a test message is asked for.
// Failure policy: no check throws; every failure becomes a `fail` or `warn` line. The
// caller turns "some check failed" into the exit status (1).

import GSendmailCore
import GSendmailKit
import TokenStore
import Transport

/// The outcome of one check.
public struct DoctorCheck: Equatable, Sendable {
  /// How a check came out.
  public enum Status: String, Equatable, Sendable {
    /// Nothing to fix.
    case ok
    /// Works, but something should be fixed (or could not be checked).
    case warn
    /// Mail cannot go out, or will be refused, until this is fixed.
    case fail
    /// Not run because a check it needs failed.
    case skip
  }

  /// A short name: `config`, `password_file`, `credentials`, `dns`, `tcp`, `tls`, `smtp`,
  /// `spf`, …
  public var name: String
  public var status: Status
  /// What was found. Never a secret.
  public var detail: String
  /// What to do about it, for `warn` and `fail`.
  public var fix: String?

  /// A result: `DoctorCheck("tls", .fail, "…", fix: "…")`.
  public init(_ name: String, _ status: Status, _ detail: String, fix: String? = nil) {
    self.name = name
    self.status = status
    self.detail = detail
    self.fix = fix
  }
}

/// The checks of one account, or of the configuration as a whole.
public struct DoctorSection: Equatable, Sendable {
  /// The heading, e.g. `account alice: alice@example.com via smtp.gmail.com:587 (starttls, auth oauth)`.
  public var title: String
  /// The checks, in the order they ran.
  public var checks: [DoctorCheck]

  /// A section with these checks.
  public init(title: String, checks: [DoctorCheck]) {
    self.title = title
    self.checks = checks
  }
}

/// Runs the doctor's checks.
public struct Doctor {
  /// Where the configuration, the token cache and the clock come from.
  public var environment: Environment
  /// `-C`: the configuration file; nil to search as gsendmail does.
  public var configFile: String?
  /// The account to check; nil for every account.
  public var accountName: String?
  /// `--send-test`: where to send a test message through each account checked.
  public var sendTestTo: String?
  /// Gets a new access token for an OAuth or service account, storing it in the token
  /// cache, and returns its expiry and granted scope (nil: the account has no grant). The
  /// one place where the doctor refreshes; tests replace it (nil: the credentials check
  /// only reads the cache).
  var refreshAccessToken: ((Account, Configuration) throws -> TokenStore.Refresh?)?

  /// The environment variable that points TXT look-ups at another name server
  /// (`ADDRESS:PORT`, IPv4), for tests.
  public static let dnsServerVariable = "GSENDMAIL_DNS_SERVER"

  /// A doctor for these options; `run` does the work.
  public init(
    environment: Environment, configFile: String? = nil, accountName: String? = nil, sendTestTo: String? = nil
  ) {
    self.environment = environment
    self.configFile = configFile
    self.accountName = accountName
    self.sendTestTo = sendTestTo
    refreshAccessToken = { account, config in
      let store = config.tokenStore(environment: environment)
      guard let grant = try account.tokenGrant(sender: account.loginHint) else { return nil }
      return try store.refresh(account: account.name, grant: grant)
    }
  }

  /// Runs every check, writing the report to `output` as the checks complete.
  /// - Returns: The sections, as rendered; `DoctorReport.failed` tells whether any check
  ///   failed.
  @discardableResult
  public func run(output: OutputSink) -> [DoctorSection] {
    var sections: [DoctorSection] = []
    func begin(_ title: String) {
      output.write(DoctorReport.heading(title, first: sections.isEmpty))
      sections.append(DoctorSection(title: title, checks: []))
    }
    func emit(_ check: DoctorCheck) {
      output.write(DoctorReport.line(check))
      sections[sections.count - 1].checks.append(check)
    }

    begin("configuration")
    let config: Configuration
    do {
      config = try ConfigLocator.load(configFile: configFile, environment: environment)
    } catch {
      emit(Self.configFailure(error))
      output.write(DoctorReport.summary(sections))
      return sections
    }
    let count = config.accounts.count
    emit(DoctorCheck("config", .ok, "\(config.path): \(count) account\(count == 1 ? "" : "s")"))

    let accounts: [Account]
    if let name = accountName {
      guard let account = config.account(named: name) else {
        emit(
          DoctorCheck(
            "account", .fail, "no account named '\(name)'",
            fix: "use one of: \(config.accounts.map(\.name).joined(separator: ", "))"))
        output.write(DoctorReport.summary(sections))
        return sections
      }
      accounts = [account]
    } else {
      accounts = config.accounts
    }
    for account in accounts {
      begin(Self.title(account))
      checkAccount(account, config: config, emit: emit)
    }
    output.write(DoctorReport.summary(sections))
    return sections
  }

  /// The heading of an account's section.
  static func title(_ account: Account) -> String {
    "account \(account.name): \(account.from) via \(account.host):\(account.port) (\(account.tls.rawValue), auth \(account.auth.rawValue))"
  }

  static func configFailure(_ error: ConfigError) -> DoctorCheck {
    switch error {
    case .unsafePermissions(let path, let problem, let fix):
      return DoctorCheck("config", .fail, "\(path) \(problem)", fix: fix)
    case .notFound:
      return DoctorCheck("config", .fail, "\(error)")
    case .systemConfigDenied(let path, let reason):
      return DoctorCheck("config", .fail, "cannot read \(path): \(reason)", fix: SetupGuide.groupAccessHint)
    default:
      return DoctorCheck("config", .fail, "\(error)", fix: "correct the file; see gsendmail.conf(5)")
    }
  }

  /// Every check of one account, in order.
  func checkAccount(_ account: Account, config: Configuration, emit: (DoctorCheck) -> Void) {
    for check in fileChecks(account, config: config) { emit(check) }
    if let check = systemAccessCheck(account, config: config) { emit(check) }
    if let check = delegationCheck(account) { emit(check) }
    let credentials = credentialsCheck(account, config: config)
    emit(credentials.check)
    if let advice = apiRouteAdvice(account, config: config) { emit(advice) }
    if let check = heloCheck(account) { emit(check) }

    var reachable = false
    let dns = resolveHost(account)
    emit(dns)
    if account.route == .gmailAPI {
      let https =
        dns.status == .fail
        ? DoctorCheck("https", .skip, "the API host did not resolve") : apiReachability(account, config: config)
      emit(https)
      reachable = https.status == .ok
    } else if dns.status == .fail {
      for name in ["tcp", "tls", "smtp"] { emit(DoctorCheck(name, .skip, "the SMTP host did not resolve")) }
    } else {
      let connection = connectionChecks(account, config: config, authenticate: credentials.usable)
      for check in connection { emit(check) }
      reachable = !connection.contains { $0.status == .fail }
    }

    for check in domainRecordChecks(account, config: config) { emit(check) }

    if let address = sendTestTo {
      if reachable && credentials.usable {
        emit(sendTest(to: address, account: account, config: config))
      } else {
        emit(DoctorCheck("send-test", .skip, "the account cannot send: see the checks above"))
      }
    }
  }
}
