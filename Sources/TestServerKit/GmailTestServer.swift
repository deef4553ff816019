// SPDX-License-Identifier: MIT
// The local Gmail look-alike: STARTTLS (587 style) and implicit-TLS (465 style) SMTP
// listeners on 127.0.0.1 speaking Gmail's dialogue through SMTPServerSession, plus the
// fake OAuth token endpoint. One thread per listener and per connection.
// Failure policy: setup failures (certificates, bind) throw GmailTestServerError; a
// failing connection (reset, TLS handshake refused, timeout) ends only that session,
// and its record says how it ended. `stop()` waits for every thread.

import Foundation
import SMTPServerCore
import Synchronization
import Transport

/// Why the test server could not start.
public enum GmailTestServerError: Error, Equatable, Sendable {
  /// The test CA or server certificate could not be made.
  case certificateGeneration(String)
  /// A listener could not be opened or the TLS context not loaded.
  case transport(TransportError)
}

/// A running local Gmail emulator.
///
/// ```swift
/// var configuration = GmailTestServerConfiguration(stateDirectory: dir)
/// configuration.accessTokens = ["ya29.good"]
/// let server = try GmailTestServer(configuration)
/// defer { server.stop() }
/// // connect to 127.0.0.1:server.startTLSPort!, trust server.caFile
/// ```
public final class GmailTestServer: Sendable {
  /// The port of the STARTTLS listener, if any.
  public let startTLSPort: UInt16?
  /// The port of the implicit-TLS listener, if any.
  public let implicitTLSPort: UInt16?
  /// The port of the token endpoint, if any.
  public let httpPort: UInt16?
  /// The port of the HTTPS token endpoint, if any.
  public let httpsPort: UInt16?
  /// The test PKI; `caFile` is what a client trusts.
  public let certificateAuthority: TestCertificateAuthority
  /// The directory of the record files, when recording to disk.
  public let recordDirectory: String?

  private let configuration: GmailTestServerConfiguration
  private let listeners: [(TCPListener, implicitTLS: Bool)]
  private let tokenEndpoint: TokenEndpoint?
  private let httpsTokenEndpoint: TokenEndpoint?
  private let tlsContext: TLSServerContext
  private let threads: ServerThreads
  private let records: RecordStore
  private let authority: TokenAuthority
  private let oauthChecks: OAuthChecks
  private let api: GmailAPIEndpoint
  private let context: GmailContext
  private let stopped = Atomic<Bool>(false)

  /// Generates (or reuses) the certificates, opens the listeners and starts serving.
  /// - Parameter configuration: The setup.
  /// - Throws: `GmailTestServerError`.
  public init(_ configuration: GmailTestServerConfiguration) throws(GmailTestServerError) {
    self.configuration = configuration
    let threads = ServerThreads()
    self.threads = threads
    certificateAuthority = try TestCertificateAuthority(directory: configuration.stateDirectory)
    recordDirectory = configuration.recordToDisk ? "\(configuration.stateDirectory)/records" : nil
    records = RecordStore(directory: recordDirectory, log: configuration.log)
    let authority = TokenAuthority(
      accessTokens: configuration.accessTokens, refreshTokens: configuration.refreshTokens)
    self.authority = authority
    let oauthChecks = OAuthChecks(workDirectory: "\(configuration.stateDirectory)/oauth-checks")
    self.oauthChecks = oauthChecks
    context = GmailContext(configuration: configuration, authority: authority, records: records)
    let api = GmailAPIEndpoint(
      authority: authority, checks: oauthChecks, records: records, scenarios: configuration.scenarios,
      maxMessageSize: configuration.maxMessageSize)
    self.api = api
    do {
      tlsContext = try TLSServerContext(
        certificateFile: certificateAuthority.certificateFile,
        privateKeyFile: certificateAuthority.privateKeyFile,
        sessionLifetime: configuration.sessionTickets ? configuration.sessionLifetime : nil)
      var listeners: [(TCPListener, implicitTLS: Bool)] = []
      if let port = configuration.startTLSPort {
        listeners.append((try TCPListener(host: "127.0.0.1", port: port), implicitTLS: false))
      }
      if let port = configuration.implicitTLSPort {
        listeners.append((try TCPListener(host: "127.0.0.1", port: port), implicitTLS: true))
      }
      self.listeners = listeners
      tokenEndpoint = try configuration.httpPort.map { (port) throws(TransportError) in
        try TokenEndpoint(
          port: port, tls: nil, authority: authority, checks: oauthChecks, threads: threads, api: api,
          log: configuration.log)
      }
      httpsTokenEndpoint = try configuration.httpsPort.map { [tlsContext] (port) throws(TransportError) in
        try TokenEndpoint(
          port: port, tls: tlsContext, authority: authority, checks: oauthChecks,
          threads: threads, api: api, log: configuration.log)
      }
    } catch {
      throw .transport(error)
    }
    startTLSPort = listeners.first { !$0.implicitTLS }?.0.port
    implicitTLSPort = listeners.first { $0.implicitTLS }?.0.port
    httpPort = tokenEndpoint?.port
    httpsPort = httpsTokenEndpoint?.port
    for (listener, implicitTLS) in listeners {
      threads.spawn("smtp-accept") { [self] in acceptLoop(listener, implicitTLS: implicitTLS) }
    }
    tokenEndpoint?.start()
    httpsTokenEndpoint?.start()
  }

  /// The CA certificate (PEM) to give a client as `tls_ca_file`.
  public var caFile: String { certificateAuthority.caFile }

  /// `http://127.0.0.1:PORT/token`, when the token endpoint runs.
  public var tokenURL: String? { httpPort.map { "http://127.0.0.1:\($0)/token" } }
  /// `http://127.0.0.1:PORT/auth`, when the token endpoint runs.
  public var authorizationURL: String? { httpPort.map { "http://127.0.0.1:\($0)/auth" } }
  /// `http://127.0.0.1:PORT/revoke`, when the token endpoint runs.
  public var revokeURL: String? { httpPort.map { "http://127.0.0.1:\($0)/revoke" } }
  /// `https://127.0.0.1:PORT/token`, when the HTTPS token endpoint runs (its certificate
  /// is signed by `caFile`).
  public var httpsTokenURL: String? { httpsPort.map { "https://127.0.0.1:\($0)/token" } }

  /// The Gmail API's base URL (an account's `api_url`) over plain HTTP, when the
  /// endpoint runs.
  public var apiURL: String? { httpPort.map { "http://127.0.0.1:\($0)" } }
  /// The same over HTTPS (certificate signed by `caFile`), when that endpoint runs.
  public var httpsAPIURL: String? { httpsPort.map { "https://127.0.0.1:\($0)" } }
  /// The number of requests the Gmail API side received (every POST and PUT).
  public var apiRequests: Int { api.uploads }

  /// Every session so far, in order (a copy).
  public var sessions: [SessionRecord] { records.sessions }
  /// Every message received so far, in order, with its bytes (a copy).
  public var messages: [ReceivedMessage] { records.messages }

  /// Waits until at least `count` sessions have ended.
  /// - Returns: false when `timeout` passed first.
  public func waitForEndedSessions(_ count: Int, timeout: Duration = .seconds(10)) -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
      if records.sessions.filter(\.ended).count >= count { return true }
      Thread.sleep(forTimeInterval: 0.01)
    }
    return false
  }

  /// The token endpoint's behaviour switches.
  public var tokenEndpointBehavior: TokenEndpointBehavior { authority.behavior }
  /// Changes the token endpoint's behaviour (takes effect at the next request).
  public func setTokenEndpointBehavior(_ behavior: TokenEndpointBehavior) {
    authority.behavior = behavior
  }
  /// The token endpoint's request counters.
  public var tokenEndpointStats: TokenEndpointStats { authority.stats }
  /// Makes XOAUTH2/OAUTHBEARER accept `token` from now on.
  public func addAccessToken(_ token: String) { authority.addAccessToken(token) }
  /// Makes the token endpoint accept `token` as a refresh token from now on.
  public func addRefreshToken(_ token: String) { authority.addRefreshToken(token) }
  /// Whether SMTP would accept this access token now (issued and unexpired, or configured).
  public func isValidAccessToken(_ token: String) -> Bool { authority.isValidAccessToken(token) }
  /// Makes the token endpoint accept jwt-bearer assertions signed by this service account.
  public func trustServiceAccount(_ account: TrustedServiceAccount) { oauthChecks.trust(account) }
  /// What the OAuth checks saw: jwt-bearer grants and their assertions, refused exchanges.
  public var oauthCheckStats: OAuthCheckStats { oauthChecks.stats }

  /// Stops listening, ends every session (stalled ones too) and waits for all threads.
  /// Calling it again does nothing.
  public func stop() {
    guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
    threads.requestStop()
    for (listener, _) in listeners { listener.close() }
    tokenEndpoint?.stop()
    httpsTokenEndpoint?.stop()
    threads.join()
  }

  deinit {
    stop()
  }

  // MARK: - Sessions

  private static let pollInterval = Duration.milliseconds(200)

  private func acceptLoop(_ listener: TCPListener, implicitTLS: Bool) {
    while let connection = try? listener.accept(connectionTimeout: Self.pollInterval) {
      threads.spawn("smtp-session") { [self] in
        serve(connection, implicitTLS: implicitTLS)
      }
    }
  }

  private func serve(_ connection: Connection, implicitTLS: Bool) {
    let replies = GmailReplies(sid: Self.makeSID(), mode: configuration.mode)
    let number = records.openSession(
      listener: implicitTLS ? "implicit-tls" : "starttls", sid: replies.sid, tls: implicitTLS)
    let log = configuration.log
    log?("session \(number): connect \(implicitTLS ? "implicit-tls" : "starttls")")
    let end = run(connection, implicitTLS: implicitTLS, replies: replies, number: number)
    connection.close()
    records.updateSession(number) {
      $0.ended = true
      $0.end = end
    }
    log?("session \(number): end \(end)")
  }

  /// Drives one session; returns how it ended.
  private func run(
    _ connection: Connection, implicitTLS: Bool, replies: GmailReplies, number: Int
  ) -> String {
    if implicitTLS && !handshake(connection, number) { return "tls-failed" }
    let policy = SubjectCheckingPolicy(
      inner: GmailPolicy(context: context, replies: replies, session: number),
      checks: oauthChecks)
    var sessionConfiguration = replies.configuration(
      maxMessageSize: configuration.maxMessageSize, clientAddress: "127.0.0.1")
    if configuration.scenarios.contains(.no8BitMIME) {
      sessionConfiguration.capabilities.removeAll { $0 == .eightBitMIME }
    }
    var session = SMTPServerSession(configuration: sessionConfiguration, policy: policy, tlsActive: implicitTLS)
    if let end = perform(session.start(), &session, connection, number) { return end }
    let dropAfter = configuration.scenarios.lazy.compactMap { scenario -> Int? in
      if case .dropMidData(let bytes) = scenario { return bytes }
      return nil
    }.first
    var messageBytes = 0
    var idle = Duration.zero
    var buffer: [UInt8] = []
    buffer.reserveCapacity(16_384)
    while true {
      buffer.removeAll(keepingCapacity: true)
      do {
        if try connection.read(into: &buffer) == 0 { return "closed" }
      } catch .timedOut {
        if threads.isStopping { return "server-stopped" }
        idle += Self.pollInterval
        if idle >= configuration.idleTimeout { return "timeout" }
        continue
      } catch {
        return "closed"
      }
      idle = .zero
      if session.phase == .receivingMessage, let dropAfter {
        messageBytes += buffer.count
        if messageBytes >= dropAfter { return "dropped" }
      } else {
        messageBytes = 0
      }
      if let end = perform(session.received(buffer), &session, connection, number) { return end }
    }
  }

  /// Performs actions; returns how the session ended, or nil while it goes on.
  private func perform(
    _ actions: [SMTPServerAction], _ session: inout SMTPServerSession, _ connection: Connection,
    _ number: Int
  ) -> String? {
    var lastReply: [UInt8] = []
    for action in actions {
      switch action {
      case .send(let bytes):
        lastReply = bytes
        do { try connection.write(bytes) } catch { return "closed" }
      case .startTLS:
        guard handshake(connection, number) else { return "tls-failed" }
        session.tlsEstablished()
        records.updateSession(number) { $0.tls = true }
      case .close:
        return Self.isQuitReply(lastReply) ? "quit" : "closed-by-server"
      }
    }
    return nil
  }

  private static func isQuitReply(_ bytes: [UInt8]) -> Bool {
    guard
      let start = bytes.dropLast(2).lastIndex(of: 10).map({ $0 + 1 }) ?? (bytes.isEmpty ? nil : 0)
    else { return false }
    return bytes[start...].starts(with: Array("221".utf8))
  }

  private func handshake(_ connection: Connection, _ number: Int) -> Bool {
    connection.timeout = .seconds(10)
    defer { connection.timeout = Self.pollInterval }
    do {
      try connection.startTLSServer(context: tlsContext)
      let resumed = connection.tlsSummary?.resumed ?? false
      records.updateSession(number) { $0.tlsResumed = resumed }
      configuration.log?("session \(number): tls \(resumed ? "resumed" : "full handshake")")
      return true
    } catch {
      configuration.log?("tls handshake failed: \(error)")
      return false
    }
  }

  /// An opaque session id shaped like Gmail's (`98e67ed59e1d1-3276f57b227sm30235195a91.6`).
  static func makeSID() -> String {
    let hex = Array("0123456789abcdef")
    let alnum = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    var generator = SystemRandomNumberGenerator()
    let head = String((0..<13).map { _ in hex[Int(generator.next() % 16)] })
    let tail = String((0..<21).map { _ in alnum[Int(generator.next() % 36)] })
    return "\(head)-\(tail).\(generator.next() % 10)"
  }
}
