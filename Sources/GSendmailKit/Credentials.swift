// SPDX-License-Identifier: MIT
// The secret an account authenticates with: a password (file or command) or an
// OAuth access token from the token cache.

import SMTPCore

struct Credentials {
  var account: Account
  var config: Configuration
  var environment: Environment

  /// Gives the SMTP session its credential; nil when there is none (the session then
  /// fails as an authentication failure).
  func provide(forceRefresh: Bool) throws -> Credential? {
    switch account.auth {
    case .none:
      return nil
    case .password:
      return Credential(try PasswordSource.password(for: account, asCaller: !config.isSystem))
    case .oauth, .serviceAccount:
      // A token the server rejected cannot be refreshed here: the session then reports the
      // server's rejection.
      if forceRefresh { return nil }
      let cache = TokenCache(directory: ConfigLocator.tokenDirectory(for: config, environment: environment))
      let now = environment.now().seconds
      guard let token = try cache.load(account: account.name)?.usableAccessToken(now: now) else {
        throw DeliveryFailure.authentication(
          "no valid access token for account \(account.name); run gsendmailctl login \(account.name)")
      }
      return Credential(token)
    }
  }
}
