// SPDX-License-Identifier: MIT
// Glue between the configuration and the token layer for the login, logout and status
// commands: the account's OAuth client or service-account grant, its token store, and
// the exit code of a token error. (Delivery needs the same pieces; they can move into
// GSendmailKit as they are.)
// Failure policy: a missing client is reported with setup instructions; token errors
// print one line and exit 75, 77 or 78 by their kind.

import ArgumentParser
import GSendmailKit
import HTTPClient
import OAuth2
import TokenStore

#if canImport(Glibc)
  import Glibc
#endif

extension Account {
  /// The account's OAuth client: `client_secret_file`, else `client_id` (+ `client_secret`);
  /// nil when neither is set.
  /// - Throws: `TokenError.credentials` for an unreadable or malformed file.
  func oauthClient() throws(TokenError) -> OAuthClient? {
    if let file = clientSecretFile {
      return try OAuthClient.load(
        clientSecretFile: file, authorizationURL: authURL, tokenURL: tokenURL, revokeURL: revokeURL)
    }
    guard let clientID else { return nil }
    return OAuthClient(
      clientID: clientID, clientSecret: clientSecret, authorizationURL: authURL, tokenURL: tokenURL,
      revokeURL: revokeURL)
  }

  /// How the account gets access tokens, or nil when it does not use OAuth.
  /// - Throws: `TokenError.credentials`; `.notLoggedIn` when OAuth has no client.
  func tokenGrant() throws(TokenError) -> TokenGrant? {
    switch auth {
    case .oauth:
      guard let client = try oauthClient() else { throw .notLoggedIn(account: name) }
      return .refreshToken(client)
    case .serviceAccount:
      guard let file = serviceAccountFile else {
        throw .credentials(path: "[account.\(name)]", problem: "service_account_file is not set")
      }
      // token_url is Google's unless the configuration changed it; the key's token_uri is
      // Google's too.
      return try TokenGrant.serviceAccount(keyFile: file, subject: loginUser, tokenURL: tokenURL)
    case .password, .none:
      return nil
    }
  }
}

extension Configuration {
  /// The token store of this configuration (SPEC §6).
  func tokenStore(environment env: Environment, timeout: Duration? = nil) -> TokenStore {
    let location =
      isSystem
      ? TokenCacheLocation.system
      : TokenCacheLocation(
        directory: ConfigLocator.tokenDirectory(for: self, environment: env), isSystem: false)
    let now = env.now
    return TokenStore(
      location: location,
      poster: HTTPClient(
        timeout: timeout ?? .seconds(self.timeout), userAgent: "gsendmail/\(gsendmailVersion)"),
      now: { now().seconds })
  }

  /// The named account, or the default (or only) one.
  func chooseForCommand(_ name: String?) throws(ConfigError) -> Account {
    try chooseAccount(named: name, sender: nil, headerFrom: nil)
  }
}

/// The exit code of a token error.
func exitStatus(for error: TokenError) -> SysExit {
  switch error.kind {
  case .temporary: return .temporaryFailure
  case .authentication: return .noPermission
  case .configuration: return .configuration
  }
}

/// Runs a body. A `TokenError` prints `gsendmailctl: ERROR` and exits by its kind, a
/// `ValidationError` exits 64, an `ExitCode` is passed on; other errors go through
/// `runMapped`.
func runTokenCommand(_ body: () throws -> Void) throws {
  var exit: ExitCode?
  try runMapped {
    do {
      try body()
    } catch let code as ExitCode {
      exit = code
    } catch let error as ValidationError {
      printError("gsendmailctl: \(error.message)")
      exit = ExitCode(SysExit.usage.rawValue)
    } catch let error as TokenError {
      printError("gsendmailctl: \(error)")
      exit = ExitCode(exitStatus(for: error).rawValue)
    }
  }
  if let exit { throw exit }
}

/// Writes a line to standard output at once (not buffered: the login URL must show
/// while the command waits).
func say(_ text: String = "") {
  FileDescriptorSink(fd: 1).write(text + "\n")
}

/// Writes a line to standard error.
func printError(_ text: String) {
  FileDescriptorSink(fd: 2).write(text + "\n")
}

/// A UTC time for people: `2026-11-29 12:00:00 UTC`.
func formatUTC(_ epoch: Int) -> String {
  var t = time_t(epoch)
  var parts = tm()
  gmtime_r(&t, &parts)
  func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
  return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
    + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) UTC"
}
