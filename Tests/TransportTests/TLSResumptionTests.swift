// SPDX-License-Identifier: MIT
// TLS session resumption on the Transport API: a session taken from one connection is
// resumed by the next only for the same host name, before it expires, and never from
// bytes that do not decode; the trust store is loaded only for a full handshake.

import Testing
import Transport

#if canImport(Glibc)
  import Glibc
#endif

@Suite("TLS session resumption")
struct TLSResumptionTests {
  let pki: PKI

  init() throws {
    pki = try #require(PKI.shared, "openssl CLI could not make the test certificates")
  }

  private var now: Int64 { Int64(time(nil)) }

  /// Connects to a server sharing `context` (so its ticket keys), offers `session`, echoes
  /// a line, and returns whether the handshake resumed and the session the server gave.
  private func exchange(
    _ context: TLSServerContext, serverName: String = "localhost", session: [UInt8]? = nil,
    now: Int64? = nil
  ) throws -> (resumed: Bool, session: [UInt8]?) {
    let server = try OneShotTLSServer(certificate: pki.cert("good"), key: pki.key("good"), context: context)
    defer { server.finish() }
    let client = try TCPConnection.connect(host: "127.0.0.1", port: server.port, timeout: .seconds(5))
    defer { client.close() }
    try client.startTLS(serverName: serverName, caFile: pki.caFile, session: session, now: now ?? self.now)
    try client.write(Array("EHLO x\r\n".utf8))
    #expect(try readExactly(client, count: 8) == Array("EHLO x\r\n".utf8))
    let resumed = try #require(client.tlsSummary).resumed
    return (resumed, client.takeTLSSession())
  }

  private func context(lifetime: Int? = 7200) throws -> TLSServerContext {
    try TLSServerContext(certificateFile: pki.cert("good"), privateKeyFile: pki.key("good"), sessionLifetime: lifetime)
  }

  @Test("a session taken after the first reply is resumed by the next connection, once taken")
  func resumes() throws {
    let context = try context()
    let first = try exchange(context)
    #expect(!first.resumed)
    let saved = try #require(first.session)
    let second = try exchange(context, session: saved)
    #expect(second.resumed)
    // The server gives a new ticket on resumption, which can be resumed in turn.
    let third = try exchange(context, session: second.session)
    #expect(third.resumed)
  }

  @Test("a session another server cannot resume (its ticket keys differ): a full, verified handshake")
  func refusedByServer() throws {
    let saved = try #require(try exchange(try context()).session)
    let other = try context()
    let fallback = try exchange(other, session: saved)
    #expect(!fallback.resumed)
    // The session of the full handshake replaces the refused one and resumes in turn.
    #expect(try exchange(other, session: fallback.session).resumed)
  }

  @Test("a session is not offered under another name: a full, verified handshake instead")
  func otherName() throws {
    let context = try context()
    let saved = try #require(try exchange(context).session)
    #expect(try !exchange(context, serverName: "127.0.0.1", session: saved).resumed)
    let fromIP = try #require(try exchange(context, serverName: "127.0.0.1").session)
    #expect(try !exchange(context, serverName: "localhost", session: fromIP).resumed)
    #expect(try exchange(context, serverName: "127.0.0.1", session: fromIP).resumed)
  }

  @Test("an expired session, or one from the future, is not offered")
  func expiry() throws {
    let context = try context(lifetime: 600)
    let saved = try #require(try exchange(context).session)
    #expect(try !exchange(context, session: saved, now: now + 601).resumed)
    #expect(try !exchange(context, session: saved, now: now - 400).resumed)
    #expect(try exchange(context, session: saved, now: now + 500).resumed)
  }

  @Test("bytes that do not decode as a session are ignored", arguments: [[], [0x30, 0x03, 0x02, 0x01, 0x01], Array(repeating: 0x41, count: 300)])
  func garbage(bytes: [UInt8]) throws {
    let context = try context()
    #expect(try !exchange(context, session: bytes).resumed)
  }

  @Test("a session with trailing bytes is ignored")
  func trailing() throws {
    let context = try context()
    let saved = try #require(try exchange(context).session)
    #expect(try !exchange(context, session: saved + [0]).resumed)
  }

  @Test("a server without tickets gives no session to keep")
  func noTickets() throws {
    let context = try context(lifetime: nil)
    let first = try exchange(context)
    #expect(first.session == nil && !first.resumed)
  }

  @Test("TLS 1.2 (openssl s_server, RFC 5077 tickets): the session is kept at the end of the handshake and resumed")
  func tls12() throws {
    let port = try TCPListener().port  // a free port, released at once
    let pid = spawn([
      "openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-tls1_2", "-cert", pki.cert("good"),
      "-key", pki.key("good"), "-naccept", "2", "-quiet",
    ])
    defer { stop(pid) }
    func connect(session: [UInt8]?) throws -> (resumed: Bool, session: [UInt8]?) {
      var client: Connection?
      for _ in 0..<100 where client == nil {
        client = try? TCPConnection.connect(host: "127.0.0.1", port: port, timeout: .seconds(5))
        if client == nil { usleep(20_000) }
      }
      let connection = try #require(client, "openssl s_server did not start")
      defer { connection.close() }
      try connection.startTLS(serverName: "localhost", caFile: pki.caFile, session: session, now: now)
      let summary = try #require(connection.tlsSummary)
      #expect(summary.version == "TLSv1.2")
      return (summary.resumed, connection.takeTLSSession())
    }
    let first = try connect(session: nil)
    #expect(!first.resumed)
    let saved = try #require(first.session)
    #expect(try connect(session: saved).resumed)
  }

  @Test("a CA file that is not PEM is a configuration error at the first full handshake")
  func unparsableCAFile() throws {
    let bad = pki.dir + "/not-a-ca.pem"
    let fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    _ = write(fd, "not a certificate\n", 18)
    close(fd)
    let server = try OneShotTLSServer(certificate: pki.cert("good"), key: pki.key("good"))
    defer { server.finish() }
    let client = try TCPConnection.connect(host: "127.0.0.1", port: server.port, timeout: .seconds(5))
    #expect {
      try client.startTLS(serverName: "localhost", caFile: bad)
    } throws: { error in
      guard case .tlsConfiguration(let detail) = error as? TransportError else { return false }
      return detail.contains("cannot load CA file") && detail.contains("not-a-ca.pem")
    }
    #expect(!client.isOpen)
  }
}
