// SPDX-License-Identifier: MIT
// Glue between the configuration and the token layer: an account's OAuth client
// or service-account grant, and the token store of a configuration (gsendmail.conf(5)).
// Used by delivery (access tokens) and by gsendmailctl login, logout and status.

import GSendmailCore
import HTTPClient
import OAuth2
import TokenStore

extension Account {
  /// The account's OAuth client: `client_secret_file`, else `client_id` (+ `client_secret`);
  /// nil when neither is set.
  /// - Throws: `TokenError.credentials` for an unreadable or malformed file;
  ///   `ConfigError.unsafePermissions` when others can read it (it holds the client
  ///   secret, as a config with `client_secret` does: gsendmail.conf(5)).
  public func oauthClient() throws -> OAuthClient? {
    if let file = clientSecretFile {
      if let problem = Files.secretFileProblem(file) { throw problem }
      return try OAuthClient.load(
        clientSecretFile: file, authorizationURL: authURL, tokenURL: tokenURL, revokeURL: revokeURL)
    }
    guard let clientID else { return nil }
    return OAuthClient(
      clientID: clientID, clientSecret: clientSecret, authorizationURL: authURL, tokenURL: tokenURL,
      revokeURL: revokeURL)
  }

  /// The `client_secret_file`, when it is set and does not exist (the setup guide is due).
  public var missingClientSecretFile: String? {
    guard auth == .oauth, let file = clientSecretFile, !Files.exists(file) else { return nil }
    return file
  }

  /// A service account's client ID, read from its key file (never the private key); nil
  /// when the account is not one or the file cannot be read.
  public var serviceAccountClientID: String? {
    guard auth == .serviceAccount, let file = serviceAccountFile,
      case .serviceAccount(let key, _, _, _)? = try? TokenGrant.serviceAccount(keyFile: file, subject: nil, tokenURL: nil)
    else { return nil }
    return key.clientID
  }

  /// How the account gets access tokens for `sender`, or nil when it does not use OAuth.
  /// - Throws: `TokenError.credentials`; `.notLoggedIn` when OAuth has no client;
  ///   `ConfigError.unsafePermissions` for a service-account key others can read.
  public func tokenGrant(sender: String) throws -> TokenGrant? {
    switch auth {
    case .oauth:
      guard let client = try oauthClient() else { throw TokenError.notLoggedIn(account: name) }
      return .refreshToken(client)
    case .serviceAccount:
      guard let file = serviceAccountFile else {
        throw TokenError.credentials(path: "[account.\(name)]", problem: "service_account_file is not set")
      }
      if let problem = Files.secretFileProblem(file) { throw problem }
      return try TokenGrant.serviceAccount(
        keyFile: file, subject: loginUser(sender: sender), tokenURL: tokenURL, scope: oauthScope)
    case .password, .none:
      return nil
    }
  }
}

extension Configuration {
  /// The token store of this configuration.
  public func tokenStore(environment env: Environment, timeout: Duration? = nil) -> TokenStore {
    let now = env.now
    return TokenStore(
      location: tokenCacheLocation(environment: env),
      poster: HTTPClient(timeout: timeout ?? .seconds(self.timeout), userAgent: "gsendmail/\(gsendmailVersion)"),
      now: { now().seconds })
  }

  /// The token cache of this configuration, with its modes and owner rules.
  func tokenCacheLocation(environment env: Environment) -> TokenCacheLocation {
    var location =
      isSystem
      ? TokenCacheLocation.system
      : TokenCacheLocation(directory: ConfigLocator.tokenDirectory(for: self, environment: env), isSystem: false)
    // Only root creates the system account's cache files: a user sending through it (or
    // the queue runner's _gsendmail) must not end up owning its secrets.
    location.writesInPlace = isSystem && env.uid != 0
    return location
  }

  /// Where an account keeps its TLS session with its server, beside its token cache.
  func tlsSessionFile(_ account: Account, environment env: Environment) -> TLSSessionFile {
    TLSSessionFile(
      location: tokenCacheLocation(environment: env), account: account.name, host: account.host,
      port: account.port, caFile: account.tlsCAFile, now: env.now().seconds)
  }

  /// Makes the account's TLS session file ready (empty) beside its token cache, so that
  /// every caller of the system account, not only root, keeps and resumes its sessions.
  /// Run by `gsendmailctl login`; nothing for a caller that may not create cache files.
  public func reserveTLSSession(of account: Account, environment env: Environment) {
    tlsSessionFile(account, environment: env).reserve()
  }

  /// The named account, or the default (or only) one.
  public func chooseForCommand(_ name: String?) throws(ConfigError) -> Account {
    try chooseAccount(named: name, sender: nil, headerFrom: nil)
  }
}

extension Configuration {
  /// The files holding an account's secrets (gsendmail.conf(5)), by config key: its password file,
  /// OAuth client file or service-account key, and its token cache when there is one.
  public func secretFiles(of account: Account, environment env: Environment) -> [(key: String, path: String)] {
    var files: [(key: String, path: String)] = []
    switch account.auth {
    case .password:
      if let path = account.passwordFile { files.append(("password_file", path)) }
    case .oauth:
      if let path = account.clientSecretFile { files.append(("client_secret_file", path)) }
    case .serviceAccount:
      if let path = account.serviceAccountFile { files.append(("service_account_file", path)) }
    case .none:
      break
    }
    if account.auth == .oauth || account.auth == .serviceAccount {
      let cache = tokenCacheLocation(environment: env).cachePath(account: account.name)
      if Files.exists(cache) { files.append(("token cache", cache)) }
    }
    return files
  }

  /// Every secret file of every account that others may read, as the errors sending
  /// would stop with (78, naming the chmod or chown that fixes it).
  public func secretFileProblems(environment env: Environment) -> [ConfigError] {
    accounts.flatMap { secretFiles(of: $0, environment: env) }.compactMap { Files.secretFileProblem($0.path) }
  }
}
