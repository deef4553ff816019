// OAuth end to end (docs/design.md, "Token cache"; gsendmailctl(8)): `gsendmailctl login` driven by a test that plays the
// browser, the token cache on disk, refresh (with locking, rotation, failures) and the
// service-account grant, through the real binaries against the Gmail emulator, whose
// token endpoint checks PKCE, redirect URIs, refresh tokens and signed assertions as
// Google does. Every test also checks that no token, client secret, key or password
// shows in any process's output. One file over 400 lines: one serialized suite and the
// `OAuthBench` rig (below) that every one of its tests uses, with each output it checks.
import Foundation
import TestServerKit
import Testing
import Transport

@Suite("OAuth through the real binaries", .serialized)
struct OAuthTests {
  // MARK: Login

  @Test(
    "login in a browser: PKCE URL, redirect to the listener, 0600 cache, sends reuse and refresh it"
  )
  func loginThroughBrowser() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let config = try bench.config()
    let login = try bench.startLogin(config)
    defer { login.stop() }
    let url = try #require(login.authorizationURL(), "no URL printed: \(login.stdout)")
    let query = OAuthBench.query(of: url)
    #expect(url.hasPrefix(bench.rig.server.authorizationURL! + "?"))
    #expect(query["code_challenge_method"] == "S256" && query["code_challenge"]?.count == 43)
    #expect(query["access_type"] == "offline" && query["prompt"] == "consent")
    #expect(query["login_hint"] == "alice@example.com" && query["client_id"] == "test-client")
    #expect(query["redirect_uri"]?.hasPrefix("http://127.0.0.1:") == true)
    #expect(!(query["state"] ?? "").isEmpty)
    #expect(login.stdout.contains("ssh -L "))

    let location = try bench.authorize(url)
    let code = try #require(OAuthBench.query(of: location)["code"])
    bench.secrets.insert(code)
    let page = try LoopbackHTTP.request("GET", location)
    #expect(page.status == 200 && page.body.contains("authorized"))
    #expect(login.waitForExit(timeout: 30) == 0, "\(login.stderr)")
    bench.record("login", login)
    #expect(login.stdout.contains("Logged in") && login.stdout.contains("7 days"))

    // The cache: 0600 in a 0700 directory, with tokens the emulator issued.
    #expect(OAuthBench.mode(bench.cachePath) == 0o600)
    #expect(OAuthBench.mode(bench.cacheDirectory) == 0o700)
    #expect(OAuthBench.mode(bench.cacheDirectory + "/alice.lock") == 0o600)
    let saved = try #require(try bench.cache())
    let access = try #require(saved.access)
    #expect(saved.refresh != nil && bench.rig.server.isValidAccessToken(access))
    let stats = bench.rig.server.tokenEndpointStats
    #expect(stats.authorizations == 1 && stats.authorizationCodeGrants == 1)
    #expect(bench.rig.server.oauthCheckStats.refusedCodeExchanges == 0)

    // status shows the token state, never a token (the secrets check covers its output).
    for arguments in [["status", "alice", "-C", config], ["status", "--json", "-C", config]] {
      let status = try bench.ctl(arguments)
      #expect(status.status == 0 && status.out.contains("alice"), "\(status.stderr)")
      // The login dated the refresh token.
      #expect(status.out.contains("valid; refresh token less than a day old"), "\(status.out)")
    }
    let issued = try #require(try OAuthBench.json(try String(contentsOfFile: bench.cachePath, encoding: .utf8))["refresh_token_issued_at"] as? Int)
    #expect(abs(issued - OAuthBench.now) < 60)

    // Sends use the stored token: no token request at all.
    for _ in 0..<2 {
      let r = try bench.send(config)
      #expect(r.status == 0, "\(r.stderr)")
    }
    #expect(bench.rig.server.tokenEndpointStats == stats)
    #expect(bench.rig.received.count == 2)
    #expect(bench.rig.received.allSatisfy { $0.record.authUser == "alice@example.com" })

    // An expired token: exactly one refresh, and the new token is cached.
    try bench.writeCache(refresh: saved.refresh, access: access, expiresAt: OAuthBench.now - 10)
    let r = try bench.send(config)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(bench.rig.server.tokenEndpointStats.refreshGrants == stats.refreshGrants + 1)
    let refreshed = try #require(try bench.cache())
    #expect(refreshed.access != access && refreshed.refresh == saved.refresh)
    #expect((refreshed.expiresAt ?? 0) > OAuthBench.now + 3000)
    #expect(bench.rig.received.count == 3)
  }

  @Test("login opens $BROWSER with the URL; a browser that follows it completes the login")
  func loginOpensBrowser() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let config = try bench.config()
    // A "browser" that loads the page and follows the redirect, as a person clicking
    // "Allow" would; it also notes the URL it was given.
    let script = try bench.rig.write(
      "browser.py",
      "import sys, urllib.request\nopen(sys.argv[2], 'w').write(sys.argv[1])\nurllib.request.urlopen(sys.argv[1], timeout=20).read()\n")
    let seen = bench.rig.dir.path + "/browser-url"
    var environment = bench.rig.environment
    environment["BROWSER"] = "python3 \(script) '%s' \(seen)"  // quoted, as many write it
    let login = try LiveProcess(
      Harness.binary("gsendmailctl"), ["login", "alice", "-C", config, "--wait-seconds", "60"],
      environment: environment)
    defer { login.stop() }
    #expect(login.waitForExit(timeout: 40) == 0, "\(login.stdout)\(login.stderr)")
    bench.record("login", login)
    let url = try String(contentsOfFile: seen, encoding: .utf8)
    #expect(url.hasPrefix(bench.rig.server.authorizationURL! + "?") && login.stdout.contains(url))
    #expect(try bench.cache()?.refresh != nil)
    #expect(bench.rig.server.tokenEndpointStats.authorizationCodeGrants == 1)
  }

  @Test("login with the redirected URL pasted on standard input")
  func loginByPaste() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let config = try bench.config()
    let login = try bench.startLogin(config)
    defer { login.stop() }
    let url = try #require(login.authorizationURL(), "no URL printed: \(login.stdout)")
    let location = try bench.authorize(url)
    bench.secrets.insert(OAuthBench.query(of: location)["code"] ?? "")
    login.write(location + "\n")
    #expect(login.waitForExit(timeout: 30) == 0, "\(login.stderr)")
    bench.record("login", login)
    let saved = try #require(try bench.cache())
    #expect(saved.refresh != nil && bench.rig.server.isValidAccessToken(saved.access ?? ""))
    #expect(bench.rig.server.tokenEndpointStats.authorizationCodeGrants == 1)
    let r = try bench.send(config)
    #expect(r.status == 0, "\(r.stderr)")
  }

  @Test("A redirect with the wrong state gets an error page and the login keeps waiting")
  func wrongStateKeepsWaiting() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let config = try bench.config()
    let login = try bench.startLogin(config)
    defer { login.stop() }
    let url = try #require(login.authorizationURL(), "no URL printed: \(login.stdout)")
    let location = try bench.authorize(url)
    let code = OAuthBench.query(of: location)["code"] ?? ""
    bench.secrets.insert(code)
    let redirect = try #require(OAuthBench.query(of: url)["redirect_uri"])
    let forged = try LoopbackHTTP.request(
      "GET", redirect + "?state=not-the-state&code=\(OAuthBench.percentEncode(code))")
    #expect(forged.status == 400 && forged.body.contains("state"))
    Thread.sleep(forTimeInterval: 0.5)
    #expect(login.isRunning)
    #expect(login.stderr.contains("refused"))
    // The real redirect still works.
    #expect(try LoopbackHTTP.request("GET", location).status == 200)
    #expect(login.waitForExit(timeout: 30) == 0, "\(login.stderr)")
    bench.record("login", login)
    #expect(try bench.cache()?.refresh != nil)
  }

  @Test("error=access_denied ends the login with a clear message and a non-zero exit")
  func accessDenied() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let login = try bench.startLogin(try bench.config())
    defer { login.stop() }
    let url = try #require(login.authorizationURL(), "no URL printed: \(login.stdout)")
    let query = OAuthBench.query(of: url)
    let redirect = try #require(query["redirect_uri"])
    let state = OAuthBench.percentEncode(query["state"] ?? "")
    let page = try LoopbackHTTP.request("GET", redirect + "?error=access_denied&state=\(state)")
    #expect(page.status == 200 && page.body.contains("denied"))
    let status = login.waitForExit(timeout: 30)
    bench.record("login", login)
    #expect(status != nil && status != 0)
    #expect(login.stderr.contains("access was denied"), "\(login.stderr)")
    #expect(try bench.cache() == nil)
    #expect(bench.rig.server.tokenEndpointStats.authorizationCodeGrants == 0)
  }

  @Test(
    "login --refresh-token-stdin: a known token is saved; an unknown one is 77 with the 7-day hint")
  func refreshTokenStdin() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let config = try bench.config()
    let unknown = "1//0g-unknown-refresh-token-value"
    bench.secrets.insert(unknown)
    let refused = try bench.ctl(
      ["login", "alice", "--refresh-token-stdin", "-C", config], stdin: unknown + "\n")
    #expect(refused.status == 77, "\(refused.stderr)")
    #expect(refused.stderr.contains("gsendmailctl login alice"))
    #expect(refused.stderr.contains("7 days") && refused.stderr.contains("\"Testing\""))
    #expect(try bench.cache() == nil)

    let r = try bench.ctl(
      ["login", "alice", "--refresh-token-stdin", "-C", config],
      stdin: bench.rig.refreshToken + "\n")
    #expect(r.status == 0, "\(r.stderr)")
    let saved = try #require(try bench.cache())
    #expect(saved.refresh == bench.rig.refreshToken)
    #expect(bench.rig.server.isValidAccessToken(saved.access ?? ""))
    #expect(bench.rig.server.tokenEndpointStats.refreshGrants == 2)
    #expect(OAuthBench.mode(bench.cachePath) == 0o600)
  }

  // MARK: Refresh

  @Test("20 concurrent sends with an expired token: one refresh request, 20 deliveries")
  func concurrentRefresh() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let config = try bench.config()
    try bench.writeCache(
      refresh: bench.rig.refreshToken, access: bench.rig.token, expiresAt: OAuthBench.now - 600)
    let results = Locked<[RunResult]>([])
    let group = DispatchGroup()
    let environment = bench.rig.environment
    for i in 0..<20 {
      group.enter()
      Thread.detachNewThread {
        let message = simpleMessage.replacingOccurrences(of: "Subject: test", with: "Subject: \(i)")
        if let r = try? Harness.run(
          Harness.binary("gsendmail"), ["-C", config, "bob@example.org"], stdin: message.bytes,
          environment: environment, timeout: 90)
        {
          results.withLock { $0.append(r) }
        }
        group.leave()
      }
    }
    group.wait()
    let all = results.withLock { $0 }
    for r in all { bench.record("gsendmail", r) }
    #expect(all.count == 20)
    #expect(all.allSatisfy { $0.status == 0 && !$0.timedOut }, "\(all.map(\.stderr))")
    #expect(bench.rig.server.tokenEndpointStats.refreshGrants == 1)
    #expect(bench.rig.received.count == 20)
    #expect(try bench.cache()?.access != bench.rig.token)
  }

  @Test(
    "invalid_grant: 77 without the queue; with it, deferred for login ('!') and sent by the next login"
  )
  func invalidGrant() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    try bench.writeCache(
      refresh: bench.rig.refreshToken, access: bench.rig.token, expiresAt: OAuthBench.now - 600)
    let cached = try bench.cacheBytes()
    bench.rig.server.setTokenEndpointBehavior(TokenEndpointBehavior(failure: .invalidGrant))

    let failed = try bench.send(try bench.config())
    #expect(failed.status == 77, "\(failed.stderr)")
    #expect(failed.stderr.contains("gsendmailctl login alice") && failed.stderr.contains("Testing"))
    #expect(try bench.cacheBytes() == cached)

    let queued = try bench.config(queue: true, name: "queue.toml")
    let deferred = try bench.send(queued)
    #expect(deferred.status == 0, "\(deferred.stderr)")
    let listing = try bench.gsendmail(["-C", queued, "-bp"])
    #expect(
      listing.out.range(of: #"[0-9A-Za-z]+!"#, options: .regularExpression) != nil, "\(listing.out)"
    )
    #expect(listing.out.contains("bob@example.org"))
    #expect(bench.rig.received.isEmpty)

    bench.rig.server.setTokenEndpointBehavior(TokenEndpointBehavior())
    let login = try bench.ctl(
      ["login", "alice", "--refresh-token-stdin", "-C", queued],
      stdin: bench.rig.refreshToken + "\n")
    #expect(login.status == 0, "\(login.stderr)")
    #expect(bench.rig.received.count == 1)
    #expect(try bench.gsendmail(["-C", queued, "-bp"]).out.contains("Mail queue is empty"))
  }

  @Test(
    "503, 500, a hang or an HTML page at the token endpoint: 75 without the queue, the cache untouched",
    arguments: [
      TokenEndpointBehavior.Failure.unavailable, .serverError, .hang, .nonJSON,
    ])
  func temporaryEndpointFailure(_ failure: TokenEndpointBehavior.Failure) throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    try bench.writeCache(
      refresh: bench.rig.refreshToken, access: bench.rig.token, expiresAt: OAuthBench.now - 600)
    let cached = try bench.cacheBytes()
    bench.rig.server.setTokenEndpointBehavior(TokenEndpointBehavior(failure: failure))
    let start = Date()
    let r = try bench.send(try bench.config(timeout: "2s"))
    #expect(r.status == 75 && !r.timedOut, "\(r.stderr)")
    #expect(Date().timeIntervalSince(start) < 10)
    #expect(try bench.cacheBytes() == cached)
    #expect(bench.rig.received.isEmpty)
  }

  @Test("A 200 reply without access_token is temporary: 75, the cache untouched")
  func replyWithoutAccessToken() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let endpoint = try CannedHTTPServer(body: #"{"token_type":"Bearer","expires_in":3599}"#)
    defer { endpoint.stop() }
    try bench.writeCache(
      refresh: bench.rig.refreshToken, access: bench.rig.token, expiresAt: OAuthBench.now - 600)
    let cached = try bench.cacheBytes()
    let r = try bench.send(try bench.config(tokenURL: endpoint.url))
    #expect(r.status == 75, "\(r.stderr)")
    #expect(r.stderr.contains("access_token"))
    #expect(endpoint.requests == 1)
    #expect(try bench.cacheBytes() == cached)
  }

  @Test("A rotated refresh token is stored and the next refresh uses it")
  func rotation() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let config = try bench.config()
    try bench.writeCache(
      refresh: bench.rig.refreshToken, access: bench.rig.token, expiresAt: OAuthBench.now - 600)
    bench.rig.server.setTokenEndpointBehavior(TokenEndpointBehavior(rotateRefreshTokens: true))
    #expect(try bench.send(config).status == 0)
    let first = try #require(try bench.cache())
    #expect(first.refresh != nil && first.refresh != bench.rig.refreshToken)
    // The old refresh token is dead now, so the next refresh works only with the stored one.
    try bench.writeCache(
      refresh: first.refresh, access: first.access, expiresAt: OAuthBench.now - 600)
    let r = try bench.send(config)
    #expect(r.status == 0, "\(r.stderr)")
    let second = try #require(try bench.cache())
    #expect(second.refresh != first.refresh && second.refresh != nil)
    #expect(bench.rig.server.tokenEndpointStats.refreshGrants == 2)
    #expect(bench.rig.received.count == 2)
  }

  @Test(
    "A cached token the server refuses (334): one refresh and a second AUTH in the same session")
  func challengeThenRefresh() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let stale = "ya29.stale-token-the-server-does-not-know"
    bench.secrets.insert(stale)
    try bench.writeCache(
      refresh: bench.rig.refreshToken, access: stale, expiresAt: OAuthBench.now + 3000)
    let r = try bench.send(try bench.config())
    #expect(r.status == 0, "\(r.stderr)")
    #expect(bench.rig.server.tokenEndpointStats.refreshGrants == 1)
    let message = try #require(bench.rig.received.first)
    let session = try #require(
      bench.rig.server.sessions.first { $0.number == message.record.session })
    #expect(session.authentications.map(\.credentialValid) == [false, true])
    #expect(
      session.authentications.allSatisfy {
        $0.mechanism == "XOAUTH2" && $0.user == "alice@example.com"
      })
    let cached = try #require(try bench.cache())
    #expect(cached.access != stale && bench.rig.server.isValidAccessToken(cached.access ?? ""))
  }

  // MARK: HTTPS token endpoint

  @Test(
    "Refresh over HTTPS: the endpoint's certificate is verified against the system store or SSL_CERT_FILE"
  )
  func refreshOverHTTPS() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let config = try bench.config(tokenURL: bench.rig.server.httpsTokenURL!)
    try bench.writeCache(
      refresh: bench.rig.refreshToken, access: bench.rig.token, expiresAt: OAuthBench.now - 600)
    let cached = try bench.cacheBytes()
    // The test CA is not in the system store: no request is made, nothing is lost.
    let untrusted = try bench.send(config)
    #expect(untrusted.status == 75, "\(untrusted.stderr)")
    #expect(
      untrusted.stderr.contains("TLS failed") && untrusted.stderr.contains("certificate"),
      "\(untrusted.stderr)")
    #expect(bench.rig.server.tokenEndpointStats.refreshGrants == 0)
    #expect(try bench.cacheBytes() == cached)
    // SSL_CERT_FILE names the store, as it does for the SMTP connection.
    let r = try bench.send(config, environment: ["SSL_CERT_FILE": bench.rig.server.caFile])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(bench.rig.server.tokenEndpointStats.refreshGrants == 1)
    #expect(bench.rig.received.count == 1)
    let refreshed = try #require(try bench.cache())
    #expect(bench.rig.server.isValidAccessToken(refreshed.access ?? ""))
    // gsendmailctl takes the same path.
    let login = try bench.ctl(
      ["login", "alice", "--refresh-token-stdin", "-C", config],
      stdin: bench.rig.refreshToken + "\n", environment: ["SSL_CERT_FILE": bench.rig.server.caFile])
    #expect(login.status == 0, "\(login.stderr)")
    #expect(bench.rig.server.tokenEndpointStats.refreshGrants == 2)
  }

  @Test("OPENSSL_CONF is read by neither TLS client: one that leaves no cipher in common changes nothing")
  func opensslConfigurationIgnored() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let config = try bench.config(tokenURL: bench.rig.server.httpsTokenURL!)
    // Read, this file would make every handshake fail: it leaves TLS 1.2 only ciphers
    // without authentication and TLS 1.3 only a suite the test server does not enable.
    let openssl = try bench.rig.write(
      "openssl.cnf",
      """
      openssl_conf = openssl_init
      [openssl_init]
      ssl_conf = ssl_sect
      [ssl_sect]
      system_default = system_default_sect
      [system_default_sect]
      CipherString = aNULL
      Ciphersuites = TLS_AES_128_CCM_8_SHA256

      """)
    let environment = ["SSL_CERT_FILE": bench.rig.server.caFile, "OPENSSL_CONF": openssl]
    // libcurl first: login's check of the refresh token is the process's first TLS.
    let login = try bench.ctl(
      ["login", "alice", "--refresh-token-stdin", "-C", config],
      stdin: bench.rig.refreshToken + "\n", environment: environment)
    #expect(login.status == 0, "\(login.stderr)")
    #expect(bench.rig.server.tokenEndpointStats.refreshGrants == 1)
    // The SMTP connection (CShim) first, then the refresh (libcurl).
    try bench.writeCache(
      refresh: bench.rig.refreshToken, access: bench.rig.token, expiresAt: OAuthBench.now - 600)
    let r = try bench.send(config, environment: environment)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(bench.rig.server.tokenEndpointStats.refreshGrants == 2)
    #expect(bench.rig.received.count == 1)
  }

  @Test("Service account over HTTPS: OpenSSL signs the JWT, then libcurl verifies the endpoint")
  func serviceAccountOverHTTPS() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let key = try bench.makeServiceAccountKey()
    bench.rig.server.trustServiceAccount(key.trusted)
    let config = try bench.serviceAccountConfig(
      keyFile: key.file, tokenURL: bench.rig.server.httpsTokenURL!)
    let r = try bench.send(config, environment: ["SSL_CERT_FILE": bench.rig.server.caFile])
    #expect(r.status == 0, "\(r.stderr)")
    let checks = bench.rig.server.oauthCheckStats
    #expect(checks.jwtBearerGrants == 1)
    #expect(checks.assertions.first?.accepted == true, "\(checks.assertions)")
    #expect(bench.rig.received.count == 1)
  }

  // MARK: Service accounts

  @Test("Service account: a signed JWT for the user, exchanged once, the token cached and used")
  func serviceAccount() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let key = try bench.makeServiceAccountKey()
    bench.rig.server.trustServiceAccount(key.trusted)
    let config = try bench.serviceAccountConfig(keyFile: key.file)
    let r = try bench.send(config)
    #expect(r.status == 0, "\(r.stderr)")
    let checks = bench.rig.server.oauthCheckStats
    #expect(checks.jwtBearerGrants == 1)
    #expect(checks.assertions.first?.accepted == true, "\(checks.assertions)")
    #expect(checks.assertions.first?.subject == "alice@example.com")
    #expect(checks.assertions.first?.issuer == key.trusted.clientEmail)
    let message = try #require(bench.rig.received.first)
    #expect(
      message.record.authMechanism == "XOAUTH2" && message.record.authUser == "alice@example.com")
    let cached = try #require(try bench.cache())
    #expect(cached.refresh == nil && cached.access != nil)
    #expect(
      OAuthBench.mode(bench.cachePath) == 0o600 && OAuthBench.mode(bench.cacheDirectory) == 0o700)
    #expect(try bench.send(config).status == 0)
    #expect(bench.rig.server.oauthCheckStats.jwtBearerGrants == 1)
    #expect(bench.rig.received.count == 2)
  }

  @Test(
    "Service account: a cached token issued for another user is refused (334), and a new JWT fixes it"
  )
  func serviceAccountWrongSubject() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let key = try bench.makeServiceAccountKey()
    bench.rig.server.trustServiceAccount(key.trusted)
    let reply = try LoopbackHTTP.request(
      "POST", bench.rig.server.tokenURL!,
      form: "grant_type=\(OAuthBench.percentEncode(OAuthBench.jwtBearer))&assertion="
        + (try bench.assertion(key: key, claims: bench.claims(key: key, subject: "bob@example.com")))
    )
    #expect(reply.status == 200, "\(reply.body)")
    let bobToken = try #require(OAuthBench.json(reply.body)["access_token"] as? String)
    bench.secrets.insert(bobToken)
    try bench.writeCache(refresh: nil, access: bobToken, expiresAt: OAuthBench.now + 3000)
    let r = try bench.send(try bench.serviceAccountConfig(keyFile: key.file))
    #expect(r.status == 0, "\(r.stderr)")
    let message = try #require(bench.rig.received.first)
    let session = try #require(
      bench.rig.server.sessions.first { $0.number == message.record.session })
    #expect(session.authentications.map(\.credentialValid) == [false, true])
    #expect(
      bench.rig.server.oauthCheckStats.assertions.map(\.subject) == [
        "bob@example.com", "alice@example.com",
      ])
  }

  @Test("Service account whose key the endpoint does not trust: the assertion is refused, 77")
  func untrustedServiceAccount() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let key = try bench.makeServiceAccountKey()
    let other = try bench.makeServiceAccountKey(name: "other")
    bench.rig.server.trustServiceAccount(
      TrustedServiceAccount(
        clientEmail: key.trusted.clientEmail, publicKeyPEM: other.trusted.publicKeyPEM))
    let r = try bench.send(try bench.serviceAccountConfig(keyFile: key.file))
    #expect(r.status == 77, "\(r.stderr)")
    #expect(bench.rig.server.oauthCheckStats.assertions.first?.problem == "Invalid JWT Signature.")
    #expect(bench.rig.received.isEmpty)
    // The advice is about the key and its delegation: there is no login to run.
    #expect(r.stderr.contains("invalid_grant: Invalid JWT Signature.") && r.stderr.contains("service_account_file"), "\(r.stderr)")
    #expect(!r.stderr.contains("gsendmailctl login") && !r.stderr.contains("7 days"), "\(r.stderr)")
  }

  // MARK: Bad files

  @Test("A malformed client_secret_file is 78 naming the file")
  func malformedClientSecretFile() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let file = try bench.rig.write("client_secret.json", #"{"installed":{"client_id": "#)
    try bench.writeCache(
      refresh: bench.rig.refreshToken, access: bench.rig.token, expiresAt: OAuthBench.now - 600)
    let text = try String(contentsOfFile: try bench.config(), encoding: .utf8)
      .replacingOccurrences(
        of: "client_id = \"test-client\"\n", with: "client_secret_file = \"\(file)\"\n"
      )
      .replacingOccurrences(of: "client_secret = \"\(bench.clientSecret)\"\n", with: "")
    let config = try bench.rig.write("bad-client.toml", text)
    let r = try bench.send(config)
    #expect(r.status == 78, "\(r.stderr)")
    #expect(r.stderr.contains(file), "\(r.stderr)")
    let login = try bench.ctl(["login", "alice", "--no-browser", "-C", config])
    #expect(login.status == 78 && login.stderr.contains(file), "\(login.stderr)")
  }

  @Test("A client_secret_file others can read is 78 with the chmod, for sending and for login")
  func readableClientSecretFile() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let file = try bench.rig.write(
      "client_secret.json",
      #"{"installed":{"client_id":"test-client","client_secret":"\#(bench.clientSecret)"}}"#, mode: 0o644)
    try bench.writeCache(refresh: bench.rig.refreshToken, access: bench.rig.token, expiresAt: OAuthBench.now + 3000)
    let text = try String(contentsOfFile: try bench.config(), encoding: .utf8)
      .replacingOccurrences(of: "client_id = \"test-client\"\n", with: "client_secret_file = \"\(file)\"\n")
      .replacingOccurrences(of: "client_secret = \"\(bench.clientSecret)\"\n", with: "")
    let config = try bench.rig.write("readable-client.toml", text)
    let r = try bench.send(config)
    #expect(r.status == 78 && r.stderr.contains("chmod 600 \(file)"), "\(r.stderr)")
    let login = try bench.ctl(["login", "alice", "--no-browser", "-C", config])
    #expect(login.status == 78 && login.stderr.contains("chmod 600 \(file)"), "\(login.stderr)")
    chmod(file, 0o600)
    #expect(try bench.send(config).status == 0)
  }

  @Test("A malformed service-account key is 78 naming the file")
  func malformedServiceAccountKey() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let file = try bench.rig.write(
      "sa.json", #"{"type":"service_account","client_email":"mailer@p.iam.gserviceaccount.com"}"#)
    let r = try bench.send(try bench.serviceAccountConfig(keyFile: file))
    #expect(r.status == 78, "\(r.stderr)")
    #expect(r.stderr.contains(file) && r.stderr.contains("private_key"), "\(r.stderr)")
    #expect(bench.rig.server.oauthCheckStats.jwtBearerGrants == 0)
  }

  @Test(
    "A group- or world-readable service-account key is 78 with the chmod that fixes it",
    arguments: [0o640, 0o604])
  func readableServiceAccountKey(_ mode: Int) throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let key = try bench.makeServiceAccountKey()
    bench.rig.server.trustServiceAccount(key.trusted)
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: key.file)
    let r = try bench.send(try bench.serviceAccountConfig(keyFile: key.file))
    #expect(r.status == 78, "\(r.stderr)")
    #expect(r.stderr.contains("chmod 600 \(key.file)"), "\(r.stderr)")
    #expect(bench.rig.server.oauthCheckStats.jwtBearerGrants == 0)
  }

  @Test("A token cache others can read is 78 with the chmod that fixes it; nothing is sent")
  func readableTokenCache() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    try bench.writeCache(refresh: bench.rig.refreshToken, access: bench.rig.token, expiresAt: OAuthBench.now + 3000)
    chmod(bench.cachePath, 0o644)
    let r = try bench.send(try bench.config())
    #expect(r.status == 78, "\(r.stderr)")
    #expect(r.stderr.contains("chmod 600 \(bench.cachePath)"), "\(r.stderr)")
    #expect(bench.rig.received.isEmpty)
    chmod(bench.cachePath, 0o600)
    #expect(try bench.send(try bench.config()).status == 0)
  }

  // MARK: Logout

  @Test("logout revokes the refresh token and deletes the cache")
  func logout() throws {
    let bench = try OAuthBench()
    defer { bench.expectNoSecrets() }
    let config = try bench.config()
    let login = try bench.ctl(
      ["login", "alice", "--refresh-token-stdin", "-C", config],
      stdin: bench.rig.refreshToken + "\n")
    #expect(login.status == 0, "\(login.stderr)")
    #expect(FileManager.default.fileExists(atPath: bench.cachePath))
    let before = bench.rig.server.tokenEndpointStats.revocations
    let r = try bench.ctl(["logout", "alice", "-C", config])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.out.contains("Revoked"))
    #expect(bench.rig.server.tokenEndpointStats.revocations == before + 1)
    #expect(!FileManager.default.fileExists(atPath: bench.cachePath))
    // The emulator forgot the token: a refresh with it is refused.
    let refresh = try LoopbackHTTP.request(
      "POST", bench.rig.server.tokenURL!,
      form:
        "grant_type=refresh_token&refresh_token=\(OAuthBench.percentEncode(bench.rig.refreshToken))"
    )
    #expect(refresh.status == 400 && refresh.body.contains("invalid_grant"))
    let send = try bench.send(config)
    #expect(send.status == 77 && send.stderr.contains("gsendmailctl login alice"), "\(send.stderr)")
  }

  // MARK: The emulator's checks

  @Test("The token endpoint refuses what Google refuses: PKCE, redirect URI, unknown refresh token")
  func endpointCodeChecks() throws {
    let bench = try OAuthBench()
    let server = bench.rig.server
    let verifier = "v3rifier-" + String(repeating: "x", count: 40)
    let challenge = OAuthBench.base64URL(Data(try Crypto.sha256(Array(verifier.utf8))))
    let redirect = "http://127.0.0.1:9/"
    func authorize(_ extra: String) throws -> LoopbackHTTP.Reply {
      try LoopbackHTTP.request(
        "GET",
        server.authorizationURL! + "?client_id=c&response_type=code&state=s&redirect_uri="
          + OAuthBench.percentEncode(redirect) + extra)
    }
    #expect(try authorize("&code_challenge=\(challenge)&code_challenge_method=plain").status == 400)
    #expect(try authorize("&code_challenge=short&code_challenge_method=S256").status == 400)
    let granted = try authorize("&code_challenge=\(challenge)&code_challenge_method=S256")
    #expect(granted.status == 302)
    let code = OAuthBench.percentEncode(
      OAuthBench.query(of: granted.headers["location"] ?? "")["code"] ?? "")
    func exchange(_ fields: String) throws -> LoopbackHTTP.Reply {
      try LoopbackHTTP.request(
        "POST", server.tokenURL!,
        form: "grant_type=authorization_code&client_id=c&code=\(code)" + fields)
    }
    let goodRedirect = "&redirect_uri=" + OAuthBench.percentEncode(redirect)
    let noVerifier = try exchange(goodRedirect)
    #expect(noVerifier.status == 400 && noVerifier.body.contains("Missing code verifier"))
    let wrongVerifier = try exchange(
      goodRedirect + "&code_verifier=" + String(repeating: "y", count: 50))
    #expect(wrongVerifier.status == 400 && wrongVerifier.body.contains("invalid_grant"))
    let wrongRedirect = try exchange(
      "&redirect_uri=http%3A%2F%2F127.0.0.1%3A10%2F&code_verifier=\(verifier)")
    #expect(wrongRedirect.status == 400 && wrongRedirect.body.contains("redirect_uri_mismatch"))
    #expect(server.oauthCheckStats.refusedCodeExchanges == 3)
    #expect(try exchange(goodRedirect + "&code_verifier=\(verifier)").status == 200)
    #expect(try exchange(goodRedirect + "&code_verifier=\(verifier)").status == 400)  // good once
    let unknown = try LoopbackHTTP.request(
      "POST", server.tokenURL!, form: "grant_type=refresh_token&refresh_token=1%2F%2Fnobody")
    #expect(unknown.status == 400 && unknown.body.contains("invalid_grant"))
    #expect(server.oauthCheckStats.refusedAuthorizations == 2)
  }

  @Test("The token endpoint checks jwt-bearer assertions: signature, iss, aud, scope, lifetime")
  func endpointAssertionChecks() throws {
    let bench = try OAuthBench()
    let server = bench.rig.server
    let key = try bench.makeServiceAccountKey()
    let other = try bench.makeServiceAccountKey(name: "other")
    server.trustServiceAccount(key.trusted)
    func post(_ jwt: String) throws -> LoopbackHTTP.Reply {
      try LoopbackHTTP.request(
        "POST", server.tokenURL!,
        form: "grant_type=\(OAuthBench.percentEncode(OAuthBench.jwtBearer))&assertion=\(jwt)")
    }
    let now = OAuthBench.now
    var claims = bench.claims(key: key, subject: "alice@example.com")
    let good = try post(try bench.assertion(key: key, claims: claims))
    #expect(good.status == 200, "\(good.body)")
    let token = try #require(OAuthBench.json(good.body)["access_token"] as? String)
    #expect(server.isValidAccessToken(token))

    var refused: [(String, String)] = []  // (jwt, expected error)
    // Signed with another key under this account's name and key id: a forgery.
    let forger = OAuthBench.ServiceAccountKey(
      file: other.file, privateKeyFile: other.privateKeyFile, trusted: key.trusted)
    refused.append((try bench.assertion(key: forger, claims: claims), "Invalid JWT Signature."))
    claims["aud"] = "https://oauth2.googleapis.com/token"
    refused.append((try bench.assertion(key: key, claims: claims), "audience"))
    claims = bench.claims(key: key, subject: "alice@example.com")
    claims["scope"] = "https://www.googleapis.com/auth/gmail.readonly"
    refused.append((try bench.assertion(key: key, claims: claims), "invalid_scope"))
    claims = bench.claims(key: key, subject: "alice@example.com")
    claims["exp"] = now + 7200
    refused.append((try bench.assertion(key: key, claims: claims), "short-lived"))
    claims["iat"] = now - 7200
    claims["exp"] = now - 3600
    refused.append((try bench.assertion(key: key, claims: claims), "short-lived"))
    claims = bench.claims(key: key, subject: "alice@example.com")
    claims["iss"] = "someone@else.iam.gserviceaccount.com"
    refused.append((try bench.assertion(key: key, claims: claims), "account not found"))
    claims = bench.claims(key: key, subject: "alice@example.com")
    refused.append((try bench.assertion(key: key, claims: claims, algorithm: "none"), "RS256"))
    let signed = try bench.assertion(key: key, claims: claims)
    refused.append((signed.dropLast(4) + "AAAA", "Signature"))
    refused.append(("not-a-jwt", "three"))
    for (jwt, expected) in refused {
      let reply = try post(jwt)
      #expect(reply.status == 400 && reply.body.contains(expected), "\(expected): \(reply.body)")
    }
    let stats = server.oauthCheckStats
    #expect(stats.jwtBearerGrants == 1 + refused.count)
    #expect(stats.assertions.filter(\.accepted).count == 1)
  }
}

// MARK: - Helpers

/// A rig for OAuth tests: configs, runs that keep their output for the secrets check,
/// the token cache, and service-account keys.
final class OAuthBench {
  let rig: Rig
  let clientSecret = "GOCSPX-e2e-client-secret-5f3a9"
  /// Texts that must never appear in any output.
  var secrets: Set<String>
  private var outputs: [(label: String, text: String)] = []

  static let jwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"
  static var now: Int { Int(Date().timeIntervalSince1970) }

  init() throws {
    rig = try Rig()
    secrets = [clientSecret, rig.token, rig.refreshToken, rig.password]
  }

  var cacheDirectory: String { rig.dir.path + "/state/gsendmail/tokens" }
  var cachePath: String { cacheDirectory + "/alice.json" }

  /// An OAuth config for account alice: client id and secret, the emulator's endpoints.
  func config(
    queue: Bool = false, timeout: String = "5s", tokenURL: String? = nil,
    name: String = "oauth.toml"
  ) throws -> String {
    let server = rig.server
    let path = try rig.config(
      auth: "oauth", timeout: timeout,
      accountExtra:
        "client_secret = \"\(clientSecret)\"\nauth_url = \"\(server.authorizationURL!)\"\n"
        + "revoke_url = \"\(server.revokeURL!)\"\n",
      name: name)
    var text = try String(contentsOfFile: path, encoding: .utf8)
    if queue { text = text.replacingOccurrences(of: "queue = false", with: "queue = true") }
    if let tokenURL { text = text.replacingOccurrences(of: server.tokenURL!, with: tokenURL) }
    return try rig.write(name, text)
  }

  /// A service-account config for account alice, impersonating alice@example.com.
  func serviceAccountConfig(keyFile: String, tokenURL: String? = nil) throws -> String {
    try rig.config(
      auth: "service-account",
      accountExtra: "service_account_file = \"\(keyFile)\"\nuser = \"alice@example.com\"\n"
        + "token_url = \"\(tokenURL ?? rig.server.tokenURL!)\"\n",
      name: "sa.toml")
  }

  // MARK: Runs

  func record(_ label: String, _ result: RunResult) {
    outputs.append((label, result.out + result.stderr))
  }
  func record(_ label: String, _ process: LiveProcess) {
    outputs.append((label, process.stdout + process.stderr))
  }

  /// `gsendmail -C CONFIG bob@example.org` with the simple message.
  func send(_ config: String, environment: [String: String] = [:]) throws -> RunResult {
    try gsendmail(["-C", config, "bob@example.org"], stdin: simpleMessage, environment: environment)
  }

  func gsendmail(
    _ arguments: [String], stdin: String = "", environment: [String: String] = [:]
  ) throws -> RunResult {
    let r = try Harness.run(
      Harness.binary("gsendmail"), arguments, stdin: stdin.bytes,
      environment: rig.environment.merging(environment) { $1 })
    record("gsendmail", r)
    return r
  }

  func ctl(
    _ arguments: [String], stdin: String = "", environment: [String: String] = [:]
  ) throws -> RunResult {
    let r = try Harness.run(
      Harness.binary("gsendmailctl"), arguments, stdin: stdin.bytes,
      environment: rig.environment.merging(environment) { $1 })
    record("gsendmailctl", r)
    return r
  }

  /// Starts `gsendmailctl login alice --no-browser` with its standard input kept open.
  func startLogin(_ config: String) throws -> LiveProcess {
    try LiveProcess(
      Harness.binary("gsendmailctl"),
      ["login", "alice", "--no-browser", "-C", config, "--wait-seconds", "60"],
      environment: rig.environment)
  }

  /// The browser at the emulator's /auth: the redirect it is sent to (not followed).
  func authorize(_ url: String) throws -> String {
    let reply = try LoopbackHTTP.request("GET", url)
    #expect(reply.status == 302, "\(reply.body)")
    return try #require(reply.headers["location"])
  }

  /// Every secret seen is absent from every output so far.
  func expectNoSecrets(sourceLocation: SourceLocation = #_sourceLocation) {
    if let cached = try? cache() {
      for token in [cached.access, cached.refresh].compactMap({ $0 }) { secrets.insert(token) }
    }
    for secret in secrets where secret.count >= 8 {
      for output in outputs where output.text.contains(secret) {
        Issue.record("\(output.label) printed a secret", sourceLocation: sourceLocation)
      }
    }
  }

  // MARK: Token cache

  struct Cache: Equatable {
    var refresh: String?
    var access: String?
    var expiresAt: Int?
  }

  /// The cache file's tokens (also added to the secrets); nil when there is none.
  func cache() throws -> Cache? {
    guard FileManager.default.fileExists(atPath: cachePath) else { return nil }
    let object = try Self.json(try String(contentsOfFile: cachePath, encoding: .utf8))
    let cache = Cache(
      refresh: object["refresh_token"] as? String, access: object["access_token"] as? String,
      expiresAt: object["expires_at"] as? Int)
    for token in [cache.access, cache.refresh].compactMap({ $0 }) { secrets.insert(token) }
    return cache
  }

  func cacheBytes() throws -> Data { try Data(contentsOf: URL(fileURLWithPath: cachePath)) }

  /// Writes the cache as gsendmail does (0700 directory, 0600 file).
  func writeCache(refresh: String?, access: String?, expiresAt: Int) throws {
    try FileManager.default.createDirectory(
      atPath: cacheDirectory, withIntermediateDirectories: true,
      attributes: [.posixPermissions: 0o700])
    var object: [String: Any] = ["expires_at": expiresAt]
    if let refresh { object["refresh_token"] = refresh }
    if let access { object["access_token"] = access }
    try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: cachePath))
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: cachePath)
  }

  // MARK: Service accounts

  struct ServiceAccountKey {
    var file: String
    var privateKeyFile: String
    var trusted: TrustedServiceAccount
  }

  /// An RSA key and a Google-style key file (mode 0600) for it.
  func makeServiceAccountKey(name: String = "mailer") throws -> ServiceAccountKey {
    let keyFile = rig.dir.path + "/\(name).key.pem"
    let publicFile = rig.dir.path + "/\(name).pub.pem"
    for arguments in [
      ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyFile],
      ["pkey", "-in", keyFile, "-pubout", "-out", publicFile],
    ] {
      let r = try Harness.run("/usr/bin/openssl", arguments)
      try #require(r.status == 0, "openssl \(arguments[0]): \(r.stderr)")
    }
    let pem = try String(contentsOfFile: keyFile, encoding: .utf8)
    let lines = pem.split(separator: "\n")
    if lines.count > 2 { secrets.insert(String(lines[1])) }
    let email = "\(name)@project-e2e.iam.gserviceaccount.com"
    let keyID = "kid-\(name)-0123"
    let object: [String: Any] = [
      "type": "service_account", "project_id": "project-e2e", "private_key_id": keyID,
      "private_key": pem, "client_email": email, "client_id": "1234567890",
      "token_uri": "https://oauth2.googleapis.com/token",
    ]
    let json = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    let file = try rig.write("\(name)-sa.json", json)
    return ServiceAccountKey(
      file: file, privateKeyFile: keyFile,
      trusted: TrustedServiceAccount(
        clientEmail: email, publicKeyPEM: try String(contentsOfFile: publicFile, encoding: .utf8),
        keyID: keyID))
  }

  /// The claims gsendmail would send for `subject`.
  func claims(key: ServiceAccountKey, subject: String) -> [String: Any] {
    let now = Self.now
    return [
      "iss": key.trusted.clientEmail, "sub": subject, "scope": "https://mail.google.com/",
      "aud": rig.server.tokenURL!, "iat": now, "exp": now + 3600,
    ]
  }

  /// A compact JWT signed with `openssl dgst -sha256 -sign`.
  func assertion(key: ServiceAccountKey, claims: [String: Any], algorithm: String = "RS256") throws
    -> String
  {
    let header: [String: Any] = ["alg": algorithm, "typ": "JWT", "kid": key.trusted.keyID ?? ""]
    let input =
      Self.base64URL(try JSONSerialization.data(withJSONObject: header)) + "."
      + Self.base64URL(try JSONSerialization.data(withJSONObject: claims))
    let base = rig.dir.path + "/jwt-\(UUID().uuidString)"
    try Data(input.utf8).write(to: URL(fileURLWithPath: base + ".dat"))
    let r = try Harness.run(
      "/usr/bin/openssl",
      ["dgst", "-sha256", "-sign", key.privateKeyFile, "-out", base + ".sig", base + ".dat"])
    try #require(r.status == 0, "openssl dgst: \(r.stderr)")
    return input + "." + Self.base64URL(try Data(contentsOf: URL(fileURLWithPath: base + ".sig")))
  }

  // MARK: Small utilities

  static func base64URL(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
  }

  static func percentEncode(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
  }

  /// The query parameters of a URL (last one wins).
  static func query(of url: String) -> [String: String] {
    var out: [String: String] = [:]
    for item in URLComponents(string: url)?.queryItems ?? [] { out[item.name] = item.value ?? "" }
    return out
  }

  static func json(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  static func mode(_ path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int).map {
      $0 & 0o777
    }
  }
}

/// A value behind a lock, for results gathered from several threads.
final class Locked<Value>: @unchecked Sendable {
  private var value: Value
  private let lock = NSLock()
  init(_ value: Value) { self.value = value }
  func withLock<R>(_ body: (inout Value) -> R) -> R {
    lock.lock()
    defer { lock.unlock() }
    return body(&value)
  }
}

/// A process whose output is read as it comes and whose standard input stays open.
final class LiveProcess: @unchecked Sendable {
  private let process = Process()
  private let input = Pipe()
  private let output = Locked((out: Data(), err: Data()))
  private let readers = DispatchGroup()

  init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
    signal(SIGPIPE, SIG_IGN)
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C"]
    env.merge(environment) { $1 }
    process.environment = env
    let outPipe = Pipe()
    let errPipe = Pipe()
    process.standardInput = input
    process.standardOutput = outPipe
    process.standardError = errPipe
    try process.run()
    for (handle, isOut) in [
      (outPipe.fileHandleForReading, true), (errPipe.fileHandleForReading, false),
    ] {
      readers.enter()
      Thread.detachNewThread { [output, readers] in
        while true {
          let data = handle.availableData
          if data.isEmpty { break }
          output.withLock { if isOut { $0.out += data } else { $0.err += data } }
        }
        readers.leave()
      }
    }
  }

  var stdout: String { output.withLock { String(decoding: $0.out, as: UTF8.self) } }
  var stderr: String { output.withLock { String(decoding: $0.err, as: UTF8.self) } }
  var isRunning: Bool { process.isRunning }

  /// The authorization URL printed by `gsendmailctl login`.
  func authorizationURL(timeout: TimeInterval = 30) -> String? {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      let line = stdout.split(separator: "\n").first { $0.contains("/auth?") }
      if let line { return line.trimmingCharacters(in: .whitespaces) }
      if !process.isRunning { return nil }
      Thread.sleep(forTimeInterval: 0.02)
    }
    return nil
  }

  func write(_ text: String) {
    try? input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
  }

  /// The exit status, or nil when it did not exit in time (it is then killed).
  func waitForExit(timeout: TimeInterval) -> Int32? {
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning {
      if Date() > deadline {
        stop()
        return nil
      }
      Thread.sleep(forTimeInterval: 0.01)
    }
    process.waitUntilExit()
    _ = readers.wait(timeout: .now() + 5)
    return process.terminationStatus
  }

  /// Kills the process if it still runs.
  func stop() {
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    try? input.fileHandleForWriting.close()
  }
}

/// One HTTP/1.1 request to a loopback server, redirects not followed.
enum LoopbackHTTP {
  struct Reply {
    var status: Int
    /// Header names in lower case.
    var headers: [String: String]
    var body: String
  }

  enum Failure: Error { case badURL(String), badReply }

  static func request(_ method: String, _ url: String, form: String? = nil) throws -> Reply {
    guard url.hasPrefix("http://") else { throw Failure.badURL(url) }
    let rest = url.dropFirst(7)
    let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
    let authority = rest[..<end]
    var target = String(rest[end...])
    if !target.hasPrefix("/") { target = "/" + target }
    guard let colon = authority.lastIndex(of: ":"),
      let port = UInt16(authority[authority.index(after: colon)...])
    else { throw Failure.badURL(url) }
    let connection = try TCPConnection.connect(
      host: String(authority[..<colon]), port: port, timeout: .seconds(10))
    defer { connection.close() }
    var head = "\(method) \(target) HTTP/1.1\r\nHost: \(authority)\r\nConnection: close\r\n"
    if let form {
      head +=
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\n"
    }
    try connection.write(Array((head + "\r\n" + (form ?? "")).utf8))
    var bytes: [UInt8] = []
    while try connection.read(into: &bytes) > 0 {}
    let text = String(decoding: bytes, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { throw Failure.badReply }
    let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
    let statusParts = lines[0].split(separator: " ")
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure.badReply }
    var headers: [String: String] = [:]
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
        in: .whitespaces)
    }
    return Reply(status: status, headers: headers, body: String(text[split.upperBound...]))
  }
}

/// A loopback HTTP server that answers every request with `200` and a fixed JSON body.
final class CannedHTTPServer: @unchecked Sendable {
  private let listener: TCPListener
  private let count = Locked(0)
  private let done = DispatchGroup()

  init(body: String) throws {
    listener = try TCPListener(host: "127.0.0.1", port: 0)
    let reply = Array(
      ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
        + "Connection: close\r\n\r\n" + body).utf8)
    done.enter()
    Thread.detachNewThread { [listener, count, done] in
      while let connection = try? listener.accept(connectionTimeout: .seconds(5)) {
        var request: [UInt8] = []
        while !Self.complete(request), let n = try? connection.read(into: &request), n > 0 {}
        count.withLock { $0 += 1 }
        try? connection.write(reply)
        connection.close()
      }
      done.leave()
    }
  }

  var url: String { "http://127.0.0.1:\(listener.port)/token" }
  var requests: Int { count.withLock { $0 } }

  func stop() {
    listener.close()
    _ = done.wait(timeout: .now() + 5)
  }

  /// Head and `Content-Length` bytes of body have arrived.
  private static func complete(_ bytes: [UInt8]) -> Bool {
    let text = String(decoding: bytes, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { return false }
    let length =
      text[..<split.lowerBound].components(separatedBy: "\r\n")
      .first { $0.lowercased().hasPrefix("content-length:") }
      .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
    return text.utf8.count - text[..<split.upperBound].utf8.count >= length
  }
}
