// SPDX-License-Identifier: MIT
// Plain TCP over loopback: connect failures, per-wait timeouts, end of stream, resets,
// address fallback, and the listener's life cycle.

import Testing

@testable import Transport

#if canImport(Glibc)
  import Glibc
#endif

@Suite("TCP")
struct TCPTests {
  @Test("connecting to a closed port fails fast with ECONNREFUSED")
  func closedPort() throws {
    let port = try TCPListener().port  // released at once
    var thrown: TransportError?
    let ms = elapsedMilliseconds {
      do throws(TransportError) {
        _ = try TCPConnection.connect(host: "127.0.0.1", port: port, timeout: .seconds(5))
      } catch { thrown = error }
    }
    #expect(thrown == .connect(host: "127.0.0.1", port: port, errno: ECONNREFUSED))
    #expect(ms < 1000)
  }

  @Test("a name that cannot resolve is a resolve error")
  func unknownHost() {
    // Not a valid host name, so the resolver refuses it without sending a query.
    #expect {
      _ = try TCPConnection.connect(host: "no such host", port: 25, timeout: .seconds(5))
    } throws: { error in
      guard case .resolve(let host, let detail) = error as? TransportError else { return false }
      return host == "no such host" && !detail.isEmpty
    }
  }

  @Test("a connect that gets no answer times out within twice the timeout")
  func connectTimeout() throws {
    // A listener that never accepts, with the smallest backlog: once the queue is full
    // the kernel drops further SYNs, so a later connect hangs until its timeout.
    let listener = try TCPListener(host: "127.0.0.1", port: 0, backlog: 0)
    var held: [Connection] = []
    var thrown: TransportError?
    var ms: Int64 = 0
    for _ in 0..<16 where thrown == nil {
      ms = elapsedMilliseconds {
        do throws(TransportError) {
          held.append(
            try TCPConnection.connect(
              host: "127.0.0.1", port: listener.port, timeout: .milliseconds(200)))
        } catch { thrown = error }
      }
    }
    #expect(thrown == .timedOut(.connect))
    #expect(ms >= 150 && ms < 400)
  }

  @Test("localhost tries every address until one answers")
  func everyAddressIsTried() throws {
    // Listening on IPv4 only: if localhost resolves to ::1 first, that address is refused
    // and 127.0.0.1 must be tried next.
    let listener = try TCPListener(host: "127.0.0.1")
    let client = try TCPConnection.connect(
      host: "localhost", port: listener.port, timeout: .seconds(5))
    let server = try listener.accept(timeout: .seconds(5))
    try client.write(Array("ping".utf8))
    #expect(try readExactly(server, count: 4) == Array("ping".utf8))
  }

  /// A port on 127.0.0.1 whose connects hang: a listener that never accepts, with the
  /// smallest backlog, filled until the kernel drops further SYNs.
  static func hangingListener() throws -> (TCPListener, [Connection]) {
    let listener = try TCPListener(host: "127.0.0.1", port: 0, backlog: 0)
    var held: [Connection] = []
    for _ in 0..<16 {
      do throws(TransportError) {
        held.append(
          try TCPConnection.connect(host: "127.0.0.1", port: listener.port, timeout: .milliseconds(200)))
      } catch {
        return (listener, held)
      }
    }
    throw TransportError.connect(host: "127.0.0.1", port: listener.port, errno: 0)
  }

  /// Races [an address that never answers] + `middle` + [a listening one]; returns how
  /// long the connect took, after checking that the listening one got the connection.
  static func raceFromSilentAddress(through middle: [String], attemptDelay: Duration) throws -> Int64 {
    let (hanging, held) = try hangingListener()
    let good = try TCPListener()
    let addresses =
      try TCPConnection.resolve("127.0.0.1", port: hanging.port)
      + middle.flatMap { try TCPConnection.resolve($0, port: 1) }
      + TCPConnection.resolve("127.0.0.1", port: good.port)
    var client: Connection?
    let ms = elapsedMilliseconds {
      client = try? TCPConnection.connect(
        to: addresses, host: "example", port: 1, timeout: .seconds(10), attemptDelay: attemptDelay)
    }
    let server = try good.accept(timeout: .seconds(5))
    try #require(client).write(Array("ping".utf8))
    #expect(try readExactly(server, count: 4) == Array("ping".utf8))
    withExtendedLifetime(held) {}
    return ms
  }

  @Test("an address that does not answer holds up the next one for 250 ms, not the timeout (RFC 8305)")
  func staggeredAttempts() throws {
    let ms = try Self.raceFromSilentAddress(through: [], attemptDelay: TCPConnection.attemptDelay)
    #expect(ms >= 200 && ms < 2000, "\(ms) ms")
  }

  @Test("an address that fails at once makes way for the next at once, also while another attempt runs")
  func failedStartMakesWay() throws {
    // TCP to the broadcast address fails in connect(2) itself (ENETUNREACH): no packet leaves.
    let ms = try Self.raceFromSilentAddress(through: ["255.255.255.255"], attemptDelay: .milliseconds(400))
    // One delay (400 ms), not two (800 ms).
    #expect(ms >= 350 && ms < 700, "\(ms) ms")
  }

  /// A port on 127.0.0.1 that refuses connections and stays reserved while `fd` is open:
  /// bound, never listening (a port merely released could be taken by another test).
  static func refusingPort() throws -> (fd: Int32, port: UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard fd >= 0, bound else { throw TransportError.io(errno: errno) }
    return (fd, UInt16(bigEndian: address.sin_port))
  }

  @Test("a refused address makes way for the next at once; all refused is the last error")
  func refusedAddresses() throws {
    let closed = [try Self.refusingPort(), try Self.refusingPort()]
    defer { for port in closed { close(port.fd) } }
    let addresses = try closed.flatMap { try TCPConnection.resolve("127.0.0.1", port: $0.port) }
    var thrown: TransportError?
    let ms = elapsedMilliseconds {
      do throws(TransportError) {
        _ = try TCPConnection.connect(to: addresses, host: "example", port: 25, timeout: .seconds(5))
      } catch { thrown = error }
    }
    #expect(thrown == .connect(host: "example", port: 25, errno: ECONNREFUSED))
    #expect(ms < 200, "\(ms) ms")
    #expect(throws: TransportError.resolve(host: "example", detail: "no address")) {
      try TCPConnection.connect(to: [], host: "example", port: 25, timeout: .seconds(5))
    }
  }

  @Test("every attempt timing out is a connect timeout, after the last attempt's timeout")
  func allAddressesHang() throws {
    let (hanging, held) = try Self.hangingListener()
    let address = try TCPConnection.resolve("127.0.0.1", port: hanging.port)
    var thrown: TransportError?
    let ms = elapsedMilliseconds {
      do throws(TransportError) {
        _ = try TCPConnection.connect(
          to: address + address, host: "example", port: 25, timeout: .milliseconds(300),
          attemptDelay: .milliseconds(100))
      } catch { thrown = error }
    }
    #expect(thrown == .timedOut(.connect))
    // The second attempt starts at 100 ms and gets its own 300 ms.
    #expect(ms >= 350 && ms < 2000, "\(ms) ms")
    _ = held
  }

  @Test("address families alternate, starting with the resolver's first choice")
  func interleaving() {
    let resolved: [(Int32, String)] = [(10, "a"), (10, "b"), (2, "c"), (2, "d"), (10, "e")]
    #expect(TCPConnection.interleaved(resolved) { $0.0 }.map(\.1) == ["a", "c", "b", "d", "e"])
    #expect(TCPConnection.interleaved([(2, "x")]) { $0.0 }.map(\.1) == ["x"])
    #expect(TCPConnection.interleaved([(Int32, String)]()) { $0.0 }.isEmpty)
  }

  @Test("plain IPv6 loopback", .enabled(if: PKI.hasIPv6, "no IPv6 loopback"))
  func ipv6() throws {
    let listener = try TCPListener(host: "::1")
    let client = try TCPConnection.connect(host: "::1", port: listener.port, timeout: .seconds(5))
    let server = try listener.accept(timeout: .seconds(5))
    try server.write(Array("220 hi\r\n".utf8))
    #expect(try readExactly(client, count: 8) == Array("220 hi\r\n".utf8))
  }

  @Test("a server that accepts but never speaks times out the read within twice the timeout")
  func readTimeout() throws {
    let listener = try TCPListener()
    let client = try TCPConnection.connect(
      host: "127.0.0.1", port: listener.port, timeout: .milliseconds(300))
    let server = try listener.accept(timeout: .seconds(5))
    var buffer: [UInt8] = []
    var thrown: TransportError?
    let ms = elapsedMilliseconds {
      do throws(TransportError) { _ = try client.read(into: &buffer) } catch { thrown = error }
    }
    #expect(thrown == .timedOut(.read))
    #expect(ms >= 250 && ms < 600)
    server.close()
  }

  @Test("the timeout can change between calls")
  func timeoutChanges() throws {
    let listener = try TCPListener()
    let client = try TCPConnection.connect(
      host: "127.0.0.1", port: listener.port, timeout: .seconds(30))
    client.timeout = .milliseconds(100)
    var buffer: [UInt8] = []
    let ms = elapsedMilliseconds { _ = try? client.read(into: &buffer) }
    #expect(ms >= 80 && ms < 200)
  }

  @Test("the peer closing mid-read is end of stream after the bytes it sent")
  func peerClosesMidRead() throws {
    let listener = try TCPListener()
    let client = try TCPConnection.connect(
      host: "127.0.0.1", port: listener.port, timeout: .seconds(5))
    let server = try listener.accept(timeout: .seconds(5))
    try server.write(Array("250-PIPELINING\r\n250-SI".utf8))
    server.close()
    var got: [UInt8] = []
    while try client.read(into: &got) > 0 {}
    #expect(got == Array("250-PIPELINING\r\n250-SI".utf8))
    #expect(try client.read(into: &got) == 0)
  }

  @Test("a reset from the peer is connectionClosed")
  func peerResets() throws {
    let listener = try TCPListener()
    let client = try TCPConnection.connect(
      host: "127.0.0.1", port: listener.port, timeout: .seconds(5))
    let server = try listener.accept(timeout: .seconds(5))
    try client.write(Array("unread".utf8))
    usleep(50_000)
    server.close()  // closing with unread data sends RST
    var buffer: [UInt8] = []
    #expect(throws: TransportError.connectionClosed) { _ = try client.read(into: &buffer) }
  }

  @Test("writing to a closed peer throws instead of raising SIGPIPE")
  func writeToClosedPeer() throws {
    let listener = try TCPListener()
    let client = try TCPConnection.connect(
      host: "127.0.0.1", port: listener.port, timeout: .seconds(5))
    try listener.accept(timeout: .seconds(5)).close()
    let chunk = [UInt8](repeating: 0x41, count: 65536)
    #expect(throws: TransportError.connectionClosed) {
      for _ in 0..<1000 { try client.write(chunk) }
    }
  }

  @Test("a write that the peer never drains times out")
  func writeTimeout() throws {
    let listener = try TCPListener()
    let client = try TCPConnection.connect(
      host: "127.0.0.1", port: listener.port, timeout: .milliseconds(200))
    let server = try listener.accept(timeout: .seconds(5))
    let chunk = [UInt8](repeating: 0x41, count: 1 << 20)
    #expect(throws: TransportError.timedOut(.write)) {
      for _ in 0..<256 { try client.write(chunk) }
    }
    server.close()
  }

  @Test("a closed connection refuses reads and writes; close is idempotent")
  func closedConnection() throws {
    let listener = try TCPListener()
    let client = try TCPConnection.connect(
      host: "127.0.0.1", port: listener.port, timeout: .seconds(5))
    client.close()
    client.close()
    #expect(!client.isOpen)
    var buffer: [UInt8] = []
    #expect(throws: TransportError.connectionClosed) { _ = try client.read(into: &buffer) }
    #expect(throws: TransportError.connectionClosed) { try client.write([1]) }
  }

  @Test("accept times out, and close() from another thread ends a waiting accept")
  func listenerLifeCycle() throws {
    let listener = try TCPListener()
    #expect(listener.port != 0)
    #expect(throws: TransportError.timedOut(.accept)) {
      _ = try listener.accept(timeout: .milliseconds(50))
    }
    let outcome = Box<TransportError?>(nil)
    let waiter = TestThread {
      do throws(TransportError) { _ = try listener.accept() } catch { outcome.value = error }
    }
    usleep(100_000)
    listener.close()
    waiter.join()
    #expect(outcome.value == .connectionClosed)
  }

  @Test("binding a port in use is a listen error")
  func portInUse() throws {
    let first = try TCPListener()
    #expect {
      _ = try TCPListener(host: "127.0.0.1", port: first.port)
    } throws: { error in
      error as? TransportError == .listen(host: "127.0.0.1", port: first.port, errno: EADDRINUSE)
    }
  }

  @Test("error descriptions say what happened")
  func descriptions() {
    #expect(
      TransportError.connect(host: "smtp.gmail.com", port: 587, errno: ECONNREFUSED).description
        == "cannot connect to smtp.gmail.com port 587: Connection refused")
    #expect(TransportError.timedOut(.read).description == "timed out during a wait for the server")
    #expect(
      TransportError.certificate("certificate verify failed: hostname mismatch").description
        == "server certificate rejected: certificate verify failed: hostname mismatch")
  }
}
