// SPDX-License-Identifier: MIT
// TLS client and server over loopback with a throwaway PKI: verification (chain, host
// name, IP literal, expiry), protocol floor, close handling, streaming.

import Testing
import Transport

#if canImport(Glibc)
  import Glibc
#endif

@Suite("TLS")
struct TLSTests {
  let pki: PKI

  init() throws {
    pki = try #require(PKI.shared, "openssl CLI could not make the test certificates")
  }

  private func connect(_ port: UInt16, host: String = "127.0.0.1") throws -> Connection {
    try TCPConnection.connect(host: host, port: port, timeout: .seconds(5))
  }

  /// Serves the test certificate `name` once and expects the client's handshake to fail
  /// with a certificate error whose detail satisfies `detail`.
  private func expectRefused(
    certificate name: String, serverName: String = "localhost", caFile: String?,
    detail: (String) -> Bool
  ) throws {
    let server = try OneShotTLSServer(certificate: pki.cert(name), key: pki.key(name))
    defer { server.finish() }
    let client = try connect(server.port)
    #expect {
      try client.startTLS(serverName: serverName, caFile: caFile)
    } throws: { error in
      guard case .certificate(let text) = error as? TransportError else { return false }
      return detail(text)
    }
  }

  // MARK: Success

  @Test("handshake with the CA file, then echo")
  func handshakeAndEcho() throws {
    let server = try OneShotTLSServer(certificate: pki.cert("good"), key: pki.key("good"))
    defer { server.finish() }
    let client = try connect(server.port)
    try client.startTLS(serverName: "localhost", caFile: pki.caFile)
    #expect(client.isTLS)
    let summary = try #require(client.tlsSummary)
    #expect(summary.version == "TLSv1.3")
    #expect(!summary.cipher.isEmpty)
    #expect(summary.peerCertificate?.contains("CN=localhost") == true)
    #expect(summary.serverName == "localhost")
    try client.write(Array("EHLO test\r\n".utf8))
    #expect(try readExactly(client, count: 11) == Array("EHLO test\r\n".utf8))
    client.close()
    server.finish()
    #expect(server.handshakeError.value == nil)
  }

  @Test("the server sees the SNI name the client sent")
  func serverSeesSNI() throws {
    let seen = Box<String?>(nil)
    let server = try OneShotTLSServer(certificate: pki.cert("good"), key: pki.key("good")) {
      seen.value = $0.tlsSummary?.serverName
    }
    defer { server.finish() }
    let client = try connect(server.port)
    try client.startTLS(serverName: "localhost", caFile: pki.caFile)
    server.finish()
    #expect(seen.value == "localhost")
  }

  @Test("an IP literal is matched against the certificate's IP addresses, without SNI")
  func ipLiteralServerName() throws {
    let seen = Box<TLSSummary?>(nil)
    let server = try OneShotTLSServer(certificate: pki.cert("good"), key: pki.key("good")) {
      seen.value = $0.tlsSummary
      OneShotTLSServer.echo($0)
    }
    defer { server.finish() }
    let client = try connect(server.port)
    try client.startTLS(serverName: "127.0.0.1", caFile: pki.caFile)
    try client.write([0x41])
    #expect(try readExactly(client, count: 1) == [0x41])
    client.close()
    server.finish()
    #expect(seen.value != nil)
    #expect(seen.value?.serverName == nil)
  }

  @Test("TLS over IPv6 loopback", .enabled(if: PKI.hasIPv6, "no IPv6 loopback"))
  func ipv6() throws {
    let server = try OneShotTLSServer(
      certificate: pki.cert("good"), key: pki.key("good"), host: "::1")
    defer { server.finish() }
    let client = try connect(server.port, host: "::1")
    try client.startTLS(serverName: "::1", caFile: pki.caFile)
    try client.write([1, 2, 3])
    #expect(try readExactly(client, count: 3) == [1, 2, 3])
  }

  // MARK: Verification failures

  @Test("a certificate for another host name is refused before any application byte")
  func wrongHostName() throws {
    let received = Box<[UInt8]>([])
    let server = try OneShotTLSServer(
      certificate: pki.cert("wrongname"), key: pki.key("wrongname")
    ) { connection in
      var buffer: [UInt8] = []
      _ = try? connection.read(into: &buffer)
      received.value = buffer
    }
    defer { server.finish() }
    let client = try connect(server.port)
    #expect {
      try client.startTLS(serverName: "localhost", caFile: pki.caFile)
    } throws: { error in
      guard case .certificate(let detail) = error as? TransportError else { return false }
      return detail.hasPrefix("certificate verify failed: hostname mismatch")
        && detail.contains("CN=wrong.example")
    }
    #expect(!client.isOpen)
    #expect(throws: TransportError.connectionClosed) { try client.write(Array("AUTH".utf8)) }
    server.finish()
    #expect(received.value.isEmpty)
    // The server saw the client abort the handshake.
    if case .tlsHandshake = server.handshakeError.value {
    } else {
      Issue.record("server handshake error: \(String(describing: server.handshakeError.value))")
    }
  }

  @Test("an IP literal that the certificate does not list is refused")
  func wrongIPAddress() throws {
    try expectRefused(certificate: "wrongname", serverName: "127.0.0.1", caFile: pki.caFile) {
      $0.contains("IP address mismatch")
    }
  }

  @Test("a certificate from an untrusted CA is refused")
  func untrustedCA() throws {
    try expectRefused(certificate: "untrusted", caFile: pki.caFile) {
      $0.contains("unable to get local issuer certificate")
    }
  }

  @Test("without a CA file the system store is used, which does not trust the test CA")
  func systemStoreRefusesTestCA() throws {
    try expectRefused(certificate: "good", caFile: nil) { _ in true }
  }

  @Test("an expired certificate is refused")
  func expired() throws {
    try #require(pki.hasExpired, "`openssl ca` could not back-date a certificate")
    try expectRefused(certificate: "expired", caFile: pki.caFile) { $0.contains("certificate has expired") }
  }

  @Test("a missing CA file is a configuration error naming the file")
  func missingCAFile() throws {
    let listener = try TCPListener()
    let client = try connect(listener.port)
    #expect {
      try client.startTLS(serverName: "localhost", caFile: pki.dir + "/absent.pem")
    } throws: { error in
      guard case .tlsConfiguration(let detail) = error as? TransportError else { return false }
      return detail.contains("absent.pem") && detail.contains("No such file or directory")
    }
  }

  @Test("a server name with a NUL or an empty one is refused before the handshake")
  func invalidServerName() throws {
    let listener = try TCPListener()
    for name in ["evil.example\u{0}.localhost", ""] {
      let client = try connect(listener.port)
      #expect(throws: TransportError.tlsConfiguration("invalid TLS server name or CA file name")) {
        try client.startTLS(serverName: name, caFile: pki.caFile)
      }
      #expect(!client.isOpen)
    }
  }

  @Test("a server certificate that does not match its key is refused at load")
  func mismatchedServerKey() {
    #expect {
      _ = try TLSServerContext(
        certificateFile: pki.cert("good"), privateKeyFile: pki.key("wrongname"))
    } throws: { error in
      guard case .tlsConfiguration = error as? TransportError else { return false }
      return true
    }
  }

  // MARK: Protocol

  @Test("a TLS 1.1-only server is refused")
  func tls11Refused() throws {
    let port = try TCPListener().port  // a free port, released at once
    let pid = spawn([
      "openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-tls1_1",
      "-cipher", "DEFAULT@SECLEVEL=0", "-cert", pki.cert("good"), "-key", pki.key("good"),
      "-naccept", "1", "-quiet",
    ])
    defer { stop(pid) }
    var client: Connection?
    for _ in 0..<100 where client == nil {
      client = try? connect(port)
      if client == nil { usleep(20_000) }
    }
    let connection = try #require(client, "openssl s_server did not start")
    #expect {
      try connection.startTLS(serverName: "localhost", caFile: pki.caFile)
    } throws: { error in
      guard case .tlsHandshake(let detail) = error as? TransportError else { return false }
      return detail.contains("protocol")
    }
  }

  @Test("a plain-text peer fails the handshake")
  func plainPeer() throws {
    let listener = try TCPListener()
    let peer = TestThread {
      guard let c = try? listener.accept(timeout: .seconds(5)) else { return }
      try? c.write(Array("220 not TLS at all\r\n".utf8))
      var sink: [UInt8] = []
      _ = try? c.read(into: &sink)
      c.close()
    }
    defer { peer.join() }
    let client = try connect(listener.port)
    #expect {
      try client.startTLS(serverName: "localhost", caFile: pki.caFile)
    } throws: { error in
      guard case .tlsHandshake = error as? TransportError else { return false }
      return true
    }
  }

  @Test("a silent server times out the handshake within twice the timeout")
  func handshakeTimeout() throws {
    let listener = try TCPListener()  // never accepts; the kernel completes the TCP handshake
    let client = try TCPConnection.connect(
      host: "127.0.0.1", port: listener.port, timeout: .milliseconds(300))
    var thrown: TransportError?
    let ms = elapsedMilliseconds {
      do throws(TransportError) {
        try client.startTLS(serverName: "localhost", caFile: pki.caFile)
      } catch { thrown = error }
    }
    #expect(thrown == .timedOut(.tlsHandshake))
    #expect(ms >= 250 && ms < 600)
  }

  @Test("close_notify from the server reads as end of stream")
  func serverCloses() throws {
    let server = try OneShotTLSServer(certificate: pki.cert("good"), key: pki.key("good")) {
      try? $0.write(Array("221 bye\r\n".utf8))
    }
    defer { server.finish() }
    let client = try connect(server.port)
    try client.startTLS(serverName: "localhost", caFile: pki.caFile)
    #expect(try readExactly(client, count: 100) == Array("221 bye\r\n".utf8))
    var buffer: [UInt8] = []
    #expect(try client.read(into: &buffer) == 0)
  }

  @Test("writing to a TLS peer that went away throws, without SIGPIPE")
  func writeAfterPeerClosed() throws {
    let server = try OneShotTLSServer(certificate: pki.cert("good"), key: pki.key("good")) {
      _ in
    }
    defer { server.finish() }
    let client = try connect(server.port)
    try client.startTLS(serverName: "localhost", caFile: pki.caFile)
    server.finish()
    let chunk = [UInt8](repeating: 0x2e, count: 65536)
    #expect {
      for _ in 0..<1000 { try client.write(chunk) }
    } throws: { error in
      error as? TransportError == .connectionClosed
    }
  }

  @Test("8 MiB streamed in 64 KiB chunks arrive intact")
  func streaming() throws {
    let total = 8 << 20
    let server = try OneShotTLSServer(certificate: pki.cert("good"), key: pki.key("good")) {
      connection in
      var sum: UInt64 = 0
      var count = 0
      var buffer: [UInt8] = []
      while count < total, let n = try? connection.read(into: &buffer), n > 0 {
        for b in buffer { sum = sum &* 31 &+ UInt64(b) }
        count += n
        buffer.removeAll(keepingCapacity: true)
      }
      try? connection.write(Array("\(count) \(sum)\n".utf8))
    }
    defer { server.finish() }
    let client = try connect(server.port)
    try client.startTLS(serverName: "localhost", caFile: pki.caFile)
    var expected: UInt64 = 0
    var chunk = [UInt8](repeating: 0, count: 65536)
    for i in 0..<(total / chunk.count) {
      for j in chunk.indices { chunk[j] = UInt8(truncatingIfNeeded: i &* 7 &+ j) }
      for b in chunk { expected = expected &* 31 &+ UInt64(b) }
      try client.write(chunk)
    }
    var reply: [UInt8] = []
    while !reply.contains(0x0a), try client.read(into: &reply) > 0 {}
    #expect(String(decoding: reply, as: UTF8.self) == "\(total) \(expected)\n")
  }

  // MARK: System store

  @Test("the hashed CA directory is the system store when no bundle file is set")
  func systemCertificateDirectory() throws {
    // A fresh process (this test binary, running only the child test below) whose
    // SSL_CERT_DIR holds nothing but the test CA, and no SSL_CERT_FILE.
    let hashed = pki.dir + "/hashed"
    let marker = pki.dir + "/child-verified"
    #expect(run(["sh", "-c", "mkdir -p '\(hashed)' && cp '\(pki.caFile)' '\(hashed)/'"]) == 0)
    #expect(run(["openssl", "rehash", hashed]) == 0)
    var environment = currentEnvironment().filter {
      !$0.hasPrefix("SSL_CERT_FILE=") && !$0.hasPrefix("SSL_CERT_DIR=")
    }
    environment += [
      "SSL_CERT_DIR=\(hashed)", "GSENDMAIL_TEST_CHILD_PKI=\(pki.dir)",
      "GSENDMAIL_TEST_CHILD_MARKER=\(marker)",
    ]
    let exe = try #require(readLink("/proc/self/exe"))
    let status = run(
      [exe, "--testing-library", "swift-testing", "--filter", "childVerifiesWithSystemStore"],
      environment: environment)
    #expect(status == 0)
    #expect(readFile(marker) == Array("verified".utf8))
  }

  // MARK: Lazy loading

  @Test("the test binary does not link libssl or libcrypto; the first TLS call maps them")
  func lazyLoading() throws {
    let out = pki.dir + "/needed.txt"
    #expect(run(["readelf", "-d", "/proc/self/exe"], output: out) == 0)
    let needed = String(decoding: readFile(out) ?? [], as: UTF8.self)
    #expect(needed.contains("(NEEDED)"))
    #expect(!needed.contains("libssl"))
    #expect(!needed.contains("libcrypto"))

    _ = try TLSServerContext(certificateFile: pki.cert("good"), privateKeyFile: pki.key("good"))
    #expect(TLSLibrary.isLoaded)
    let maps = String(decoding: readFile("/proc/self/maps") ?? [], as: UTF8.self)
    #expect(maps.contains("libssl.so.3"))
  }
}

/// Runs only inside the child process started by `systemCertificateDirectory`.
@Suite("TLS system store (child process)")
struct TLSSystemStoreChild {
  @Test(
    "a certificate from a CA in SSL_CERT_DIR verifies without a CA file",
    .enabled(if: getenv("GSENDMAIL_TEST_CHILD_PKI") != nil))
  func childVerifiesWithSystemStore() throws {
    let dir = String(cString: try #require(getenv("GSENDMAIL_TEST_CHILD_PKI")))
    let marker = String(cString: try #require(getenv("GSENDMAIL_TEST_CHILD_MARKER")))
    let server = try OneShotTLSServer(certificate: dir + "/good.pem", key: dir + "/good.key")
    defer { server.finish() }
    let client = try TCPConnection.connect(
      host: "127.0.0.1", port: server.port, timeout: .seconds(5))
    try client.startTLS(serverName: "localhost")
    try client.write([0x2e])
    #expect(try readExactly(client, count: 1) == [0x2e])
    writeFile(marker, Array("verified".utf8))
  }
}
