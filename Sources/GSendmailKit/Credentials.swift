// SPDX-License-Identifier: MIT
// The secret an account authenticates with: a password (file or command), or an
// OAuth access token from the token store, refreshed when it is about to expire
// and once more when the server rejected it (gsendmail.conf(5)); an account's OAuth
// client and token store; and the record of its last authentication failure.

import GSendmailCore
import HTTPClient
import MessageCore
import OAuth2
import SMTPCore
import TokenStore

#if canImport(Glibc)
  import Glibc
#endif

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

// MARK: - An account's OAuth client and token store

// Glue between the configuration and the token layer: an account's OAuth client
// or service-account grant, and the token store of a configuration (gsendmail.conf(5)).
// Used by delivery (access tokens) and by gsendmailctl login, logout and status.

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
  /// Run by `gsendmailctl login`; nothing for a caller that may not create cache files,
  /// nor for a `gmail-api` account, which never speaks SMTP.
  public func reserveTLSSession(of account: Account, environment env: Environment) {
    guard account.route != .gmailAPI else { return }
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

// MARK: - The last authentication failure

// The last authentication failure of an account, kept beside its token cache
// (`ACCOUNT.failure`: the time, then the one-line reason with its fix) so that
// `gsendmailctl status` can show it after a send that was queued quietly (a dead
// refresh token, a refused app password). Written when a session cannot
// authenticate, removed once one can. Holds no secret: the reason is the error
// line gsendmail prints. Failures to write or remove it are ignored: it is advice,
// never a reason for a delivery to fail.

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
