// SPDX-License-Identifier: MIT
// Opening TCP connections: resolve with getaddrinfo, then try every address in the order
// returned (IPv6 and IPv4 alike) with a non-blocking connect bounded by the timeout.
// Failure policy: a name that does not resolve throws `.resolve`; when every address
// fails, the last address's error is thrown (`.connect`, or `.timedOut(.connect)` when
// the last one timed out). Name resolution itself is not bounded by the timeout
// (getaddrinfo is blocking; the system resolver has its own timeouts).

#if canImport(Glibc)
  import Glibc
#endif

/// Opens client connections.
public enum TCPConnection {
  /// Connects to `host` on `port`, with TCP_NODELAY on.
  ///
  /// For implicit TLS (port 465), call `startTLS(serverName:caFile:)` on the result before
  /// reading the greeting.
  /// - Parameters:
  ///   - host: A DNS name or an IP literal (IPv6 without brackets).
  ///   - port: The TCP port.
  ///   - timeout: The limit for each address's connect, and the initial `timeout` of the
  ///     returned connection.
  /// - Returns: The connected socket, in non-blocking mode.
  /// - Throws: `.resolve`, `.connect`, `.timedOut(.connect)`, `.io` (no socket available).
  public static func connect(host: String, port: UInt16, timeout: Duration)
    throws(TransportError) -> Connection
  {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_NUMERICSERV
    var list: UnsafeMutablePointer<addrinfo>?
    let rc = getaddrinfo(host, String(port), &hints, &list)
    if rc != 0 {
      let detail = rc == EAI_SYSTEM ? errorText(errno) : String(cString: gai_strerror(rc))
      throw .resolve(host: host, detail: detail)
    }
    defer { freeaddrinfo(list) }

    var lastError = TransportError.resolve(host: host, detail: "no address")
    var entry = list
    while let info = entry?.pointee {
      entry = info.ai_next
      let fd = socket(
        info.ai_family, info.ai_socktype | Int32(SOCK_NONBLOCK.rawValue)
          | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
      if fd < 0 {
        lastError = .io(errno: errno)
        continue
      }
      do throws(TransportError) {
        try connectSocket(fd, to: info, timeout: timeout)
        return Connection(socket: fd, timeout: timeout)
      } catch {
        _ = close(fd)
        switch error {
        case .io(let code): lastError = .connect(host: host, port: port, errno: code)
        default: lastError = error
        }
      }
    }
    throw lastError
  }

  /// Non-blocking connect(2) of `fd` to one address, waiting at most `timeout`.
  private static func connectSocket(_ fd: Int32, to info: addrinfo, timeout: Duration)
    throws(TransportError)
  {
    var rc: Int32
    repeat {
      rc = Glibc.connect(fd, info.ai_addr, info.ai_addrlen)
    } while rc != 0 && errno == EINTR
    if rc == 0 { return }
    // EINTR above can leave the connect running: it completes like EINPROGRESS.
    guard errno == EINPROGRESS || errno == EALREADY else { throw .io(errno: errno) }
    try waitForSocket(fd, events: Int16(POLLOUT), timeout: timeout, phase: .connect)
    var soError: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    if getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) != 0 {
      throw .io(errno: errno)
    }
    if soError != 0 { throw .io(errno: soError) }
  }
}
