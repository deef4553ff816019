// SPDX-License-Identifier: MIT
// The doctor's checks of one account up to the server: the files holding secrets, the
// credentials, the EHLO name, DNS of the SMTP host, and one SMTP session (TCP, TLS,
// EHLO and AUTH, then QUIT) opened exactly as delivery opens it; and the test message.
// Failure policy: each check returns its result; nothing here throws or prints.
// Over 400 lines on purpose: each check is short, and they are read in the order they run.

import GSendmailCore
import GSendmailKit
import MessageCore
import OAuth2
import SMTPCore
import TokenStore
import Transport

#if canImport(Glibc)
  import Glibc
#endif

extension Doctor {
  // MARK: Files

  /// The files an account reads its secrets from: present, readable, and private (gsendmail.conf(5)).
  func fileChecks(_ account: Account, config: Configuration) -> [DoctorCheck] {
    config.secretFiles(of: account, environment: environment).map {
      fileCheck(key: $0.key, path: $0.path, config: config, account: account)
    }
  }

  func fileCheck(key: String, path: String, config: Configuration, account: Account? = nil) -> DoctorCheck {
    var st = stat()
    guard stat(path, &st) == 0 else {
      let reason = String(cString: strerror(errno))
      let guide = SetupGuide(config: config)
      var fix = "create it, or correct \(key) in \(config.path)"
      if key == "client_secret_file", let account {
        let install = guide.installLines(from: "~/Downloads/client_secret_*.json", as: "client_secret.json")
        fix =
          "create the OAuth client and download its JSON (gsendmailctl login \(account.name) prints the steps), "
          + "then: " + install.joined(separator: " && ")
      } else if config.isSystem {
        fix = "put it in place with: install -m 640 -o root -g gsendmail FILE \(path)"
      }
      return DoctorCheck(key, .fail, "\(path): \(reason)", fix: fix)
    }
    if case .unsafePermissions(_, let problem, let fix) = Files.secretFileProblem(path) {
      return DoctorCheck(key, .fail, "\(path) \(problem)", fix: fix)
    }
    let bytes: [UInt8]
    do {
      bytes = try Files.read(path, asCaller: !config.isSystem)
    } catch {
      let fix = SetupGuide(config: config).unreadableFix(path, uid: environment.uid, userName: environment.userName)
      return DoctorCheck(key, .fail, "\(path): \(error.reason)", fix: fix)
    }
    if config.isSystem, key == "token cache", let account,
      let problem = Self.systemCacheProblem(path: path, owner: st.st_uid, bytes: bytes, account: account)
    {
      return problem
    }
    let mode = String(st.st_mode & 0o7777, radix: 8)
    return DoctorCheck(key, .ok, "\(path), mode " + String(repeating: "0", count: max(0, 4 - mode.count)) + mode)
  }

  /// The system token cache must be root's and in the two-slot form, or the other users'
  /// refreshes cannot be kept in it (and its owner could read it).
  static func systemCacheProblem(path: String, owner: UInt32, bytes: [UInt8], account: Account) -> DoctorCheck? {
    let again =
      account.auth == .oauth
      ? "as root, gsendmailctl logout \(account.name) then gsendmailctl login \(account.name)"
      : "as root, remove \(path) then run gsendmailctl doctor \(account.name)"
    if owner != 0 {
      return DoctorCheck(
        "token cache", .warn,
        "\(path) belongs to uid \(owner), not root: that user can read the account's tokens, and other users' refreshes are not kept",
        fix: again)
    }
    if !CacheSlots.isSlotted(bytes) {
      return DoctorCheck(
        "token cache", .warn, "\(path) is in an older form: other users' refreshes are not kept in it",
        fix: "run gsendmailctl doctor \(account.name) as root once")
    }
    return nil
  }

  // MARK: Credentials

  /// Whether the account has what AUTH needs: a password that can be read, or an access
  /// token (from the cache, or refreshed). `usable` is false when AUTH cannot be tried.
  func credentialsCheck(_ account: Account, config: Configuration) -> (check: DoctorCheck, usable: Bool) {
    switch account.auth {
    case .none:
      return (DoctorCheck("credentials", .ok, "auth = none: the server must accept this machine without AUTH"), true)
    case .password:
      let source = account.passwordFile != nil ? "password_file" : "password_command"
      do {
        _ = try PasswordSource.password(for: account, asCaller: !config.isSystem)
        return (DoctorCheck("credentials", .ok, "a password can be read from \(source)"), true)
      } catch {
        return (
          DoctorCheck(
            "credentials", .fail, "\(source): \(errorText(error))", fix: "correct \(source) in \(config.path)"), false
        )
      }
    case .oauth, .serviceAccount:
      return tokenCheck(account, config: config)
    }
  }

  func tokenCheck(_ account: Account, config: Configuration) -> (check: DoctorCheck, usable: Bool) {
    let login =
      account.auth == .oauth
      ? "run gsendmailctl login \(account.name)"
      : "check service_account_file and the key's domain-wide delegation"
    let store = config.tokenStore(environment: environment)
    let path = store.location.cachePath(account: account.name)
    if case .unsafePermissions(_, let problem, let fix) = Files.secretFileProblem(path) {
      return (DoctorCheck("credentials", .fail, "token cache \(path) \(problem)", fix: fix), false)
    }
    let now = environment.now().seconds
    var canRefresh = account.auth == .serviceAccount
    var cachedMinutes: Int?  // how long the cached access token stays usable
    var refreshIssued: Int?
    switch store.status(account: account.name) {
    case .unusable(let reason):
      return (DoctorCheck("credentials", .fail, "token cache: \(reason)", fix: login), false)
    case .none:
      break
    case .present(
      hasRefreshToken: let hasRefresh, accessTokenValid: let valid, accessTokenExpiresAt: let expiresAt,
      refreshTokenIssuedAt: let issuedAt):
      refreshIssued = issuedAt
      if valid, let expiresAt, expiresAt - 60 > now { cachedMinutes = (expiresAt - now) / 60 }
      canRefresh = canRefresh || hasRefresh
    }
    let cached = cachedMinutes.map { "the cached access token is valid for \($0) more minutes" }
    guard canRefresh, let refresh = refreshAccessToken else {
      if let cached {
        if account.auth == .oauth && !canRefresh {
          return (
            DoctorCheck("credentials", .warn, cached + "; no refresh token, so it cannot be renewed", fix: login), true
          )
        }
        return (DoctorCheck("credentials", .ok, cached), true)
      }
      let found = canRefresh ? "the access token has expired (a refresh token is cached)" : "no access token"
      return (DoctorCheck("credentials", .warn, found + "; AUTH is not tried", fix: login), false)
    }
    // The grant is always tried, even with a usable cached token: a refresh token revoked
    // or expired (7 days for apps in "Testing") is found now, not at the next send.
    let result: TokenStore.Refresh?
    do {
      result = try refresh(account, config)
    } catch {
      switch error as? TokenError {
      case .cacheWrite?, .lockTimeout?:
        // The endpoint may well have answered: the cache is what needs fixing.
        return (
          DoctorCheck(
            "credentials", .fail, errorText(error),
            fix:
              "check the owner and mode of \(store.location.directory) (gsendmailctl runs as \(environment.userName))"),
          cached != nil
        )
      default:
        break
      }
      let failed = "token refresh failed: \(errorText(error))"
      // Temporary as gsendmail(8) means it (the endpoint out of reach), not a refused grant.
      if let cached, ExitStatus.code(for: error) == .temporaryFailure {
        return (DoctorCheck("credentials", .warn, failed + "; " + cached, fix: "try again later"), true)
      }
      return (DoctorCheck("credentials", .fail, failed, fix: login), cached != nil)
    }
    // From the clock after the refresh, which may have taken past a second boundary.
    let after = environment.now().seconds
    let minutes = max(0, (result?.expiresAt ?? after) - after) / 60
    var detail = "access token refreshed, valid for \(minutes) minutes"
    if let refreshIssued {
      // Google gives no sign of a client's publishing status; the token's age is one.
      detail +=
        "; refresh token \(Control.age(since: refreshIssued, now: now)) old"
        + (now - refreshIssued >= 7 * 86400
          ? ", so the OAuth client is not one limited to 7 days"
          : " (a client left in \"Testing\" loses it after 7 days)")
    }
    guard let scope = result?.scope else { return (DoctorCheck("credentials", .ok, detail), true) }
    detail += "; scope \(scope)"
    if account.route == .gmailAPI {
      return (
        Self.apiScopeCheck(account, scope: scope, detail: detail) ?? DoctorCheck("credentials", .ok, detail), true
      )
    }
    if !scope.split(separator: " ").contains(Substring(GoogleOAuth.gmailScope)) {
      let fix =
        account.auth == .oauth
        ? "run gsendmailctl login \(account.name) and allow access to Gmail (it asks for \(GoogleOAuth.gmailScope))"
        : "in the Admin console (Security > API controls > Domain-wide delegation), give the service account's client ID the scope \(GoogleOAuth.gmailScope)"
      return (
        DoctorCheck("credentials", .fail, detail + ", without \(GoogleOAuth.gmailScope), which SMTP needs", fix: fix),
        true
      )
    }
    return (DoctorCheck("credentials", .ok, detail), true)
  }

  // MARK: EHLO name

  /// For the relay and for accounts without AUTH (an IP allow-list), whose servers check
  /// the EHLO name: it must be a public FQDN, not `localhost` or an address (docs/design.md, "Gmail on the wire").
  func heloCheck(_ account: Account) -> DoctorCheck? {
    guard account.route == .relay || account.auth == .none else { return nil }
    let name = account.helo ?? environment.hostName
    let lower = name.lowercased()
    let isAddress = lower.hasPrefix("[") || lower.contains(":") || lower.allSatisfy { $0.isNumber || $0 == "." }
    if lower == "localhost" || lower.hasPrefix("localhost.") || isAddress || !lower.contains(".") {
      return DoctorCheck(
        "helo", .warn, "EHLO name '\(name)' is not a public fully qualified name; the relay may refuse it",
        fix: "set helo = \"host.example.com\" (this machine's public FQDN) in [account.\(account.name)]")
    }
    return DoctorCheck("helo", .ok, "EHLO name \(name)")
  }

  // MARK: DNS of the SMTP host

  /// The addresses of the SMTP host, as the connection will resolve it.
  func resolveHost(_ account: Account) -> DoctorCheck {
    do {
      let addresses = try DNS.addresses(of: account.host)
      return DoctorCheck("dns", .ok, "\(account.host) is \(addresses.joined(separator: ", "))")
    } catch {
      return DoctorCheck(
        "dns", .fail, "\(error)", fix: "check the host name (host in [account.\(account.name)]) and this machine's DNS")
    }
  }

  // MARK: TCP, TLS, EHLO and AUTH

  /// Opens a session as delivery does and QUITs, nothing sent. Without a usable credential
  /// the session goes without AUTH, so that TCP, TLS and EHLO are still checked.
  func connectionChecks(_ account: Account, config: Configuration, authenticate: Bool) -> [DoctorCheck] {
    var probe = account
    if !authenticate { probe.auth = .none }
    let stages = SessionStages()
    var delivery = Delivery(environment: environment, config: config, transcript: nil, observer: stages.note)
    delivery.resumesTLSSessions = false  // a full handshake: the certificate served now is checked
    let sender = account.defaultSender(headerFrom: nil, userName: environment.userName)
    let heloName = account.helo ?? environment.hostName
    let session: SMTPSession
    var relay = "none"
    do {
      session = try delivery.openSession(probe, sender: sender, relay: &relay)
    } catch {
      return stages.failureChecks(error, account: account, heloName: heloName)
    }
    let tls = session.connection.tlsSummary
    let capabilities = session.client.capabilities
    session.quit()

    var checks = [DoctorCheck("tcp", .ok, "connected to \(session.relay)")]
    var tlsDetail = tls.map { "\($0.version) \($0.cipher), certificate verified for \(account.host)" } ?? "no TLS"
    if let certificate = tls?.peerCertificate { tlsDetail += " (\(certificate))" }
    checks.append(DoctorCheck("tls", .ok, tlsDetail))
    let offered = "; offered: " + Self.capabilityList(capabilities)
    switch (account.auth, authenticate) {
    case (.none, _):
      checks.append(DoctorCheck("smtp", .ok, "EHLO \(heloName) accepted, no AUTH (auth = none)" + offered))
    case (_, true):
      let user = account.loginUser(sender: sender)
      checks.append(DoctorCheck("smtp", .ok, "EHLO \(heloName) accepted, AUTH as \(user) accepted" + offered))
    case (_, false):
      checks.append(
        DoctorCheck(
          "smtp", .warn, "EHLO \(heloName) accepted; AUTH not tried without a credential" + offered,
          fix: "see the credentials check"))
    }
    return checks
  }

  /// The server's extensions, as the EHLO reply listed them (those gsendmail reads).
  static func capabilityList(_ c: SMTPCapabilities) -> String {
    var words: [String] = []
    if c.supportsSize { words.append(c.maximumMessageSize.map { "SIZE \($0)" } ?? "SIZE") }
    if c.supportsEightBitMIME { words.append("8BITMIME") }
    if c.supportsPipelining { words.append("PIPELINING") }
    if c.supportsSMTPUTF8 { words.append("SMTPUTF8") }
    if c.supportsDSN { words.append("DSN") }
    if c.supportsEnhancedStatusCodes { words.append("ENHANCEDSTATUSCODES") }
    if c.supportsChunking { words.append("CHUNKING") }
    if c.supportsStartTLS { words.append("STARTTLS") }
    if !c.authMechanisms.isEmpty { words.append("AUTH " + c.authMechanisms.joined(separator: " ")) }
    return words.isEmpty ? "no extensions" : words.joined(separator: ", ")
  }

  // MARK: Test message

  /// Sends a short message to `address` through the account, the way gsendmail sends
  /// (prepared header, delivery, log line), and reports the server's reply.
  func sendTest(to address: String, account: Account, config: Configuration) -> DoctorCheck {
    let recipient: String
    do {
      recipient = try AddressParser.parseMailbox(address).addrSpec
    } catch {
      return DoctorCheck("send-test", .fail, "\(printable(address)) is not an address: \(describe(error))")
    }
    var invocation = Invocation()
    invocation.account = account.name
    let submission = Submission(invocation: invocation, config: config, aliases: AliasTable(), environment: environment)
    let text = """
      To: \(recipient)
      Subject: gsendmail test message

      This test message was sent by gsendmailctl doctor on \(environment.hostName)
      through the account \(account.name).

      """
    do {
      let sink = MemoryBodySink()
      let scanned = try submission.scan(Array(text.utf8), into: sink)
      let message = try submission.prepare(
        scanned, envelopeSender: nil, givenRecipients: [recipient], recipientsFromHeader: false)
      // Sent directly, not through the queue: a test message that fails is reported, not kept.
      if account.route == .gmailAPI {
        return apiSendTest(message, body: sink.bytes, recipient: recipient, config: config)
      }
      var relay = ""
      let reply = try Delivery(environment: environment, config: config, transcript: nil)
        .send(message, body: MemoryByteSource(bytes: sink.bytes), relay: &relay)
      return DoctorCheck("send-test", .ok, "sent from \(message.sender) to \(recipient); the server replied: \(reply)")
    } catch {
      return DoctorCheck("send-test", .fail, "not sent to \(recipient): \(errorText(error))")
    }
  }
}

/// What an SMTP session got through, from its steps as they happened, so that a failure
/// is reported against the step it happened in.
final class SessionStages {
  private(set) var connected = false
  private(set) var startTLSSent = false
  private(set) var authSent = false
  /// The protocol and cipher, once TLS is established.
  private(set) var tls: String?
  /// The verb of the last command sent (`EHLO`, `AUTH`, …).
  private(set) var lastCommand: String?

  func note(_ event: SessionEvent) {
    switch event {
    case .connected:
      connected = true
    case .tls(let summary):
      tls = summary
    case .command(let verb, _):
      lastCommand = verb
      if verb == "STARTTLS" { startTLSSent = true }
      if verb == "AUTH" { authSent = true }
    case .reply:
      break
    case .body:
      lastCommand = "."
    }
  }

  /// The tcp, tls and smtp lines for a session that failed with `failure`, the failure
  /// placed at the step the session reached; a reply that refused EHLO or HELO is read
  /// from the failure itself.
  func failureChecks(_ failure: any Error, account: Account, heloName: String) -> [DoctorCheck] {
    let error = errorText(failure)
    guard connected else {
      return [
        DoctorCheck(
          "tcp", .fail, error,
          fix:
            "check that this machine may connect to \(account.host) port \(account.port) (firewalls and some cloud providers block 25, 465 and 587)"
        ),
        DoctorCheck("tls", .skip, "no connection"),
        DoctorCheck("smtp", .skip, "no connection"),
      ]
    }
    let tcp = DoctorCheck("tcp", .ok, "connected to \(account.host) port \(account.port)")
    let refused = failure as? DeliveryFailure
    let heloRejected = refused?.smtpReply != nil && (refused?.phase == .ehlo || refused?.phase == .helo)
    if tls == nil && !heloRejected
      && (startTLSSent || account.tls == .implicit || lastCommand == "EHLO" || lastCommand == "HELO")
    {
      return [
        tcp,
        DoctorCheck(
          "tls", .fail, error,
          fix:
            "check the host name, this machine's clock, and the CA certificates (the ca-certificates package, or tls_ca_file)"
        ),
        DoctorCheck("smtp", .skip, "TLS failed; AUTH is never sent without it"),
      ]
    }
    let tlsCheck =
      tls.map { DoctorCheck("tls", .ok, "\($0), certificate verified for \(account.host)") }
      ?? DoctorCheck("tls", .skip, "the session ended before STARTTLS")
    let fix: String
    if heloRejected {
      fix =
        "set helo = \"host.example.com\" (this machine's public FQDN; now '\(heloName)') in [account.\(account.name)]"
    } else if authSent {
      fix =
        account.auth == .password
        ? "check user and the password; for a Google account, \(SetupGuide.appPasswordAdvice)"
        : "run gsendmailctl login \(account.name)"
    } else {
      fix = "see the server's reply above"
    }
    return [tcp, tlsCheck, DoctorCheck("smtp", .fail, error, fix: fix)]
  }
}
