// SPDX-License-Identifier: MIT
// Opening TCP connections: resolve with getaddrinfo, then race the addresses as RFC 8305
// ("Happy Eyeballs" v2) describes, without its DNS part: the families interleaved
// starting with the resolver's first choice, a new attempt started every 250 ms (or at
// once when the previous one failed) while earlier ones stay in flight, the first
// connected socket kept and the others closed. A host whose IPv6 route silently drops
// packets is thus reached over IPv4 a quarter of a second later, not after a timeout.
// Failure policy: a name that does not resolve throws `.resolve`; when every address
// fails, the last failure is thrown (`.connect`, or `.timedOut(.connect)` when an attempt
// ran out of time). Each attempt is bounded by the timeout. Name resolution itself is not
// (getaddrinfo is blocking; the system resolver has its own timeouts).
// Below: the socket helpers Connection shares (poll waits, errno mapping, TCP_NODELAY) and
// the monotonic clock their deadlines are measured on.

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
    try connect(to: resolve(host, port: port), host: host, port: port, timeout: timeout)
  }

  /// The addresses of `host` (TCP), in the resolver's order.
  /// - Throws: `.resolve`.
  static func resolve(_ host: String, port: UInt16) throws(TransportError) -> [SocketAddress] {
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
    var addresses: [SocketAddress] = []
    var entry = list
    while let info = entry?.pointee {
      entry = info.ai_next
      if let address = SocketAddress(info) { addresses.append(address) }
    }
    return addresses
  }

  /// How long an attempt runs alone before the next address is tried beside it (RFC 8305's
  /// recommended Connection Attempt Delay).
  static let attemptDelay: Duration = .milliseconds(250)

  /// Races connections to `addresses` (in the order given, families interleaved).
  /// - Throws: `.resolve` for an empty list, else the last attempt's failure.
  static func connect(
    to addresses: [SocketAddress], host: String, port: UInt16, timeout: Duration,
    attemptDelay: Duration = attemptDelay
  ) throws(TransportError) -> Connection {
    var waiting = interleaved(addresses, family: \.family)[...]
    var inFlight: [(fd: Int32, deadline: Duration)] = []
    defer { for attempt in inFlight { _ = close(attempt.fd) } }
    var lastError = TransportError.resolve(host: host, detail: "no address")
    var nextStart = MonotonicClock.now()
    while true {
      let now = MonotonicClock.now()
      if let address = waiting.first, inFlight.isEmpty || now >= nextStart {
        waiting = waiting.dropFirst()
        nextStart = now + attemptDelay
        switch start(address) {
        case .connected(let fd): return Connection(socket: fd, timeout: timeout)
        case .inProgress(let fd): inFlight.append((fd, now + timeout))
        case .failed(let error):
          lastError = Self.named(error, host: host, port: port)
          nextStart = now  // the next address at once (RFC 8305 §5)
        }
        continue
      }
      if inFlight.isEmpty { throw lastError }
      // Wait for a socket to finish connecting, the next start, or the first deadline.
      var until = inFlight.map(\.deadline).min()!
      if !waiting.isEmpty { until = min(until, nextStart) }
      var fds = inFlight.map { pollfd(fd: $0.fd, events: Int16(POLLOUT), revents: 0) }
      let rc = poll(&fds, nfds_t(fds.count), milliseconds(until - now))
      if rc < 0 && errno != EINTR { throw .io(errno: errno) }
      let after = MonotonicClock.now()
      var index = 0
      while index < inFlight.count {
        let fd = inFlight[index].fd
        if fds[index].revents != 0 {
          var soError: Int32 = 0
          var length = socklen_t(MemoryLayout<Int32>.size)
          if getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) != 0 { soError = errno }
          if soError == 0 {
            inFlight.remove(at: index)
            return Connection(socket: fd, timeout: timeout)
          }
          lastError = .connect(host: host, port: port, errno: soError)
        } else if after >= inFlight[index].deadline {
          lastError = .timedOut(.connect)
        } else {
          index += 1
          continue
        }
        _ = close(fd)
        inFlight.remove(at: index)
        fds.remove(at: index)
        // A failed attempt makes room for the next address at once (RFC 8305 §5).
        nextStart = after
      }
    }
  }

  /// The addresses with the families alternating, starting with the first one's family
  /// (RFC 8305 §4); within a family the resolver's order is kept.
  static func interleaved<Address>(_ addresses: [Address], family: (Address) -> Int32) -> [Address] {
    guard let first = addresses.first.map(family) else { return [] }
    let preferred = addresses.filter { family($0) == first }
    let others = addresses.filter { family($0) != first }
    var out: [Address] = []
    for index in 0..<max(preferred.count, others.count) {
      if index < preferred.count { out.append(preferred[index]) }
      if index < others.count { out.append(others[index]) }
    }
    return out
  }

  private enum Attempt {
    case connected(Int32)
    case inProgress(Int32)
    case failed(TransportError)
  }

  /// Opens a non-blocking socket and starts connect(2) to `address`.
  private static func start(_ address: SocketAddress) -> Attempt {
    let fd = socket(
      address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    if fd < 0 { return .failed(.io(errno: errno)) }
    var rc: Int32
    repeat {
      rc = address.withSockaddr { Glibc.connect(fd, $0, $1) }
    } while rc != 0 && errno == EINTR
    if rc == 0 { return .connected(fd) }
    // EINTR above can leave the connect running: it completes like EINPROGRESS.
    if errno == EINPROGRESS || errno == EALREADY { return .inProgress(fd) }
    let code = errno
    _ = close(fd)
    return .failed(.io(errno: code))
  }

  private static func named(_ error: TransportError, host: String, port: UInt16) -> TransportError {
    if case .io(let code) = error { return .connect(host: host, port: port, errno: code) }
    return error
  }
}

/// One resolved address: a copy of getaddrinfo's sockaddr.
struct SocketAddress {
  let family: Int32
  private var storage = sockaddr_storage()
  private let length: socklen_t

  init?(_ info: addrinfo) {
    guard let address = info.ai_addr, Int(info.ai_addrlen) <= MemoryLayout<sockaddr_storage>.size else {
      return nil
    }
    family = info.ai_family
    length = info.ai_addrlen
    withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(length))) }
  }

  func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    withUnsafeBytes(of: storage) { raw in
      body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
    }
  }
}

// MARK: - Socket helpers

/// Waits with poll(2) until `fd` is ready for `events` or `timeout` has passed.
/// Readiness includes errors and hang-ups: the next socket call reports them.
func waitForSocket(_ fd: Int32, events: Int16, timeout: Duration?, phase: TransportError.Phase)
  throws(TransportError)
{
  let deadline = timeout.map { MonotonicClock.now() + $0 }
  while true {
    var ms: Int32 = -1
    if let deadline {
      ms = milliseconds(deadline - MonotonicClock.now())
    }
    var pfd = pollfd(fd: fd, events: events, revents: 0)
    let rc = poll(&pfd, 1, ms)
    if rc > 0 { return }
    if rc == 0 { throw .timedOut(phase) }
    if errno != EINTR { throw .io(errno: errno) }
  }
}

/// A duration as poll(2) milliseconds, rounded up, clamped to 0...Int32.max.
func milliseconds(_ d: Duration) -> Int32 {
  let (seconds, attoseconds) = d.components
  if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
  if seconds >= Int64(Int32.max / 1000) { return Int32.max }
  let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
  return Int32(ms)
}

/// Maps a socket errno: a reset or broken pipe is the peer closing; anything else is I/O.
func ioError(_ code: Int32) -> TransportError {
  switch code {
  case ECONNRESET, EPIPE: return .connectionClosed
  default: return .io(errno: code)
  }
}

/// Turns TCP_NODELAY on: SMTP writes are already batched by the caller, and Nagle plus
/// delayed ACK would otherwise cost tens of milliseconds per command round trip.
func setNoDelay(_ fd: Int32) {
  var on: Int32 = 1
  // Failure only costs latency; the connection still works.
  _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
}

/// The text of a NUL-terminated C buffer.
func string(fromCString buffer: [CChar]) -> String {
  String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

// MARK: - Deadlines

// Deadlines for socket waits, lock polling and the login wait. ContinuousClock reads the
// same clock (CLOCK_BOOTTIME on Linux: it keeps counting while the machine sleeps), but
// it lives in the concurrency runtime, which a sendmail that never uses tasks would
// otherwise load and initialise on every message.

/// CLOCK_BOOTTIME, as a duration since an arbitrary start.
public enum MonotonicClock {
  /// The current reading.
  public static func now() -> Duration {
    var ts = timespec()
    clock_gettime(CLOCK_BOOTTIME, &ts)
    return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
  }
}
