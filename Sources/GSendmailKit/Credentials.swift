// SPDX-License-Identifier: MIT
// The secret an account authenticates with: a password (file or command), or an
// OAuth access token from the token store, refreshed when it is about to expire
// and once more when the server rejected it (gsendmail.conf(5)).

import GSendmailCore
import HTTPClient
import SMTPCore
import TokenStore

struct Credentials {
  var account: Account
  var sender: String
  var config: Configuration
  var environment: Environment

  /// Gives the SMTP session its credential; nil when there is none (the session then
  /// fails with the server's rejection).
  /// - Throws: `DeliveryFailure` of kind `.temporary` (token endpoint unreachable, 5xx, a
  ///   failing password command), `.authentication` (no token yet, `invalid_grant`),
  ///   `ConfigError` (a client or key file that is wrong).
  func provide(forceRefresh: Bool) throws -> Credential? {
    switch account.auth {
    case .none:
      return nil
    case .password:
      // A rejected password is final: no second try.
      if forceRefresh { return nil }
      let log = DeliveryLog(target: config.log, shared: config.isSystem)
      let now = environment.now
      let context = PasswordSource.CommandContext(
        system: config.isSystem, setgid: environment.isSetgid, home: environment.home,
        log: { log.note($0, now: now(), severity: 4) })
      return Credential(
        try PasswordSource.password(for: account, asCaller: !config.isSystem, timeout: config.timeout, context: context))
    case .oauth, .serviceAccount:
      return try accessToken(forceRefresh: forceRefresh).map(Credential.init)
    }
  }

  /// Refuses the account's secret files (the token cache among them) when others may read
  /// them: checked before any connection is opened, as a password file is.
  func checkSecretFiles() throws {
    for file in config.secretFiles(of: account, environment: environment) {
      if let problem = Files.secretFileProblem(file.path) { throw problem }
    }
  }

  /// An OAuth access token for the account (nil when it does not use OAuth).
  /// - Throws: As `provide`.
  func accessToken(forceRefresh: Bool) throws -> String? {
    do {
      var store = config.tokenStore(environment: environment)
      if !forceRefresh, let token = try store.cachedAccessToken(account: account.name) { return token }
      guard let grant = try account.tokenGrant(sender: sender) else { return nil }
      store.notice = { FileDescriptorSink(fd: 2).write("gsendmail: \($0)\n") }
      return try store.accessToken(account: account.name, grant: grant, forceRefresh: forceRefresh)
    } catch let error as TokenError {
      let failure = DeliveryFailure.from(error)
      // libcurl that cannot be loaded is this process's trouble (a resource), not a bad file.
      if error.kind == .configuration, failure.kind != .resource {
        throw ConfigError.badSecretFile(path: "[account.\(account.name)]", problem: "\(error)")
      }
      throw failure
    }
  }
}
