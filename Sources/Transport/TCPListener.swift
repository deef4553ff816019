// SPDX-License-Identifier: MIT
// A listening TCP socket for the local test server: bind (port 0 picks a free port),
// listen, accept connections as `Connection`s.
// Failure policy: setup failures throw `.listen`/`.resolve`; `accept` throws
// `.connectionClosed` once the listener is closed (also from another thread), so a
// server loop can end cleanly.

import CShim

#if canImport(Glibc)
  import Glibc
#endif

/// A listening TCP socket.
///
/// `accept` may run on one thread while another calls `close()` to stop it.
public final class TCPListener: @unchecked Sendable {
  /// The address listened on, as given.
  public let host: String
  /// The bound port (the kernel's choice when 0 was asked).
  public let port: UInt16

  private let fd: Int32

  /// Binds and listens.
  /// - Parameters:
  ///   - host: A numeric address: "127.0.0.1", "::1", "0.0.0.0".
  ///   - port: The port, or 0 for an ephemeral one (read it back from `port`).
  ///   - backlog: The listen(2) queue length.
  /// - Throws: `.resolve` (not a numeric address), `.listen` (bind or listen failed), `.io`.
  public init(host: String = "127.0.0.1", port: UInt16 = 0, backlog: Int32 = 128)
    throws(TransportError)
  {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE
    var list: UnsafeMutablePointer<addrinfo>?
    let rc = getaddrinfo(host, String(port), &hints, &list)
    guard rc == 0, let info = list?.pointee else {
      throw .resolve(host: host, detail: String(cString: gai_strerror(rc)))
    }
    defer { freeaddrinfo(list) }
    let fd = socket(
      info.ai_family, info.ai_socktype | Int32(SOCK_NONBLOCK.rawValue)
        | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
    guard fd >= 0 else { throw .io(errno: errno) }
    var on: Int32 = 1
    _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let ok =
      bind(fd, info.ai_addr, info.ai_addrlen) == 0 && listen(fd, backlog) == 0
      && withUnsafeMutablePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
      } == 0
    guard ok else {
      let code = errno
      _ = Glibc.close(fd)
      throw .listen(host: host, port: port, errno: code)
    }
    self.fd = fd
    self.host = host
    self.port = withUnsafePointer(to: &storage) { raw in
      raw.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> UInt16 in
        if sa.pointee.sa_family == sa_family_t(AF_INET6) {
          return sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
            UInt16(bigEndian: $0.pointee.sin6_port)
          }
        }
        return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
          UInt16(bigEndian: $0.pointee.sin_port)
        }
      }
    }
  }

  deinit {
    _ = Glibc.close(fd)
  }

  /// Waits for a client and returns its connection (non-blocking, TCP_NODELAY on).
  /// - Parameters:
  ///   - timeout: How long to wait for a client; nil waits until one comes or `close()`.
  ///   - connectionTimeout: The `timeout` of the returned connection.
  /// - Throws: `.timedOut(.accept)`, `.connectionClosed` after `close()`, `.io`.
  public func accept(timeout: Duration? = nil, connectionTimeout: Duration = .seconds(60))
    throws(TransportError) -> Connection
  {
    while true {
      let client = gs_accept_nonblocking(fd)
      if client >= 0 { return Connection(socket: client, timeout: connectionTimeout) }
      switch errno {
      case EINTR, ECONNABORTED: continue
      case EAGAIN, EWOULDBLOCK:
        try waitForSocket(fd, events: Int16(POLLIN), timeout: timeout, phase: .accept)
      case EINVAL: throw .connectionClosed  // shut down by close()
      case let code: throw .io(errno: code)
      }
    }
  }

  /// Stops listening: new clients are refused, and a pending or later `accept` throws
  /// `.connectionClosed`. The descriptor itself is released when the listener is freed,
  /// so a thread still inside `accept` never polls a reused descriptor.
  public func close() {
    _ = shutdown(fd, Int32(SHUT_RDWR))
  }
}
