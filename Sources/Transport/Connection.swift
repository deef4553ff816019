// SPDX-License-Identifier: MIT
// A connected TCP socket, optionally upgraded to TLS in place (STARTTLS, or right after
// connecting for implicit TLS). The socket is non-blocking; every wait for the peer is a
// poll(2) bounded by `timeout`, so a silent server can never hang the caller.
// Failure policy: every failure throws a `TransportError`; a failed TLS upgrade closes
// the connection, so no byte can be sent in clear after a refused handshake. Writes use
// MSG_NOSIGNAL (directly, or through CShim's socket BIO under TLS): a peer that closed
// raises `connectionClosed`, never SIGPIPE. At the end, the summary of a handshake.

import CShim

#if canImport(Glibc)
  import Glibc
#endif

/// A TCP connection, plain or TLS.
///
/// Use it from one thread at a time. It may be handed to another thread (for example
/// a server's per-connection thread), hence `@unchecked Sendable`.
public final class Connection: @unchecked Sendable {
  /// How long each wait for the peer may last: one connect attempt, one handshake step,
  /// one read, one write that cannot make progress. Change it between calls (gsendmail.conf(5):
  /// ten times longer for the reply to the end of DATA).
  public var timeout: Duration

  private var fd: Int32
  private var tls: OpaquePointer?
  private var scratch: UnsafeMutableRawBufferPointer?

  /// Wraps a connected socket. The connection owns and closes it.
  init(socket: Int32, timeout: Duration) {
    self.fd = socket
    self.timeout = timeout
    setNoDelay(socket)
  }

  deinit {
    close()
    scratch?.deallocate()
  }

  /// True once `startTLS` or `startTLSServer` has completed.
  public var isTLS: Bool { tls != nil }

  /// True until `close()` (or a failed TLS upgrade) closes the socket.
  public var isOpen: Bool { fd >= 0 }

  /// The peer's IP address as text (`192.0.2.1`, `2001:db8::1`), for logs; nil when closed.
  /// The corresponding C function is `getpeername`.
  public var peerAddress: String? {
    guard fd >= 0 else { return nil }
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let rc = withUnsafeMutablePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
    }
    guard rc == 0 else { return nil }
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    let family = Int32(storage.ss_family)
    let ok: Bool = withUnsafePointer(to: &storage) { pointer in
      switch family {
      case AF_INET:
        return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
          var address = sin.pointee.sin_addr
          return inet_ntop(AF_INET, &address, &text, socklen_t(text.count)) != nil
        }
      case AF_INET6:
        return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
          var address = sin6.pointee.sin6_addr
          return inet_ntop(AF_INET6, &address, &text, socklen_t(text.count)) != nil
        }
      default:
        return false
      }
    }
    return ok ? string(fromCString: text) : nil
  }

  /// The negotiated TLS protocol and cipher, or nil on a plain connection.
  public var tlsSummary: TLSSummary? {
    guard let tls else { return nil }
    var peer = [CChar](repeating: 0, count: 512)
    let hasPeer = gs_tls_peer_summary(tls, &peer, peer.count) == 0
    return TLSSummary(
      version: String(cString: gs_tls_version(tls)),
      cipher: String(cString: gs_tls_cipher(tls)),
      peerCertificate: hasPeer ? string(fromCString: peer) : nil,
      serverName: gs_tls_requested_server_name(tls).map { String(cString: $0) },
      resumed: gs_tls_session_reused(tls) != 0)
  }

  // MARK: TLS

  /// Upgrades the connection to TLS as a client (RFC 3207 STARTTLS, or implicit TLS right
  /// after connecting), verifying the server's certificate and host name.
  ///
  /// TLS 1.2 is the minimum. The certificate must chain to the system store, or, when
  /// `caFile` is given, to the certificates of that PEM file only; and it must be valid for
  /// `serverName` (a DNS name, sent as SNI, or an IP literal, matched against iPAddress
  /// names). There is no way to skip verification.
  ///
  /// A saved session (`takeTLSSession()` of an earlier connection) is offered for
  /// resumption (RFC 8446 §2.2) when it was made for `serverName` and has not expired at
  /// `now`; a server that resumes it sends no certificate, since the session was verified
  /// when it was made. Otherwise, or when the server declines, the handshake is a full one.
  /// - Parameters:
  ///   - serverName: The host name (or IP literal) the certificate must match.
  ///   - caFile: A PEM file to trust in place of the system store (`tls_ca_file`).
  ///   - session: A session to offer, or nil; one that cannot be used is ignored.
  ///   - now: Seconds since the epoch, to tell whether `session` has expired.
  /// - Throws: `.certificate` when verification fails, `.tlsHandshake`,
  ///   `.tlsConfiguration` (unreadable CA file; empty name or a NUL in a name),
  ///   `.tlsLibraryUnavailable`,
  ///   `.timedOut(.tlsHandshake)`, `.connectionClosed`, `.io`. On any failure the
  ///   connection is closed.
  public func startTLS(
    serverName: String, caFile: String? = nil, session: [UInt8]? = nil, now: Int64 = 0
  ) throws(TransportError) {
    guard fd >= 0 else { throw .connectionClosed }
    precondition(tls == nil, "startTLS on a connection that is already TLS")
    // A NUL would silently shorten the name that C checks the certificate against.
    guard !serverName.isEmpty, !serverName.utf8.contains(0), caFile?.utf8.contains(0) != true
    else {
      close()
      throw .tlsConfiguration("invalid TLS server name or CA file name")
    }
    var err = [CChar](repeating: 0, count: 512)
    var status: Int32 = 0
    let created = (session ?? []).withUnsafeBufferPointer { saved in
      gs_tls_client_new(
        fd, serverName, caFile, saved.baseAddress, saved.count, now, &status, &err, err.count)
    }
    guard let created else {
      close()
      let detail = string(fromCString: err)
      switch status {
      case GS_TLS_UNAVAILABLE.rawValue: throw .tlsLibraryUnavailable(detail)
      case GS_TLS_CA_FILE.rawValue: throw .tlsConfiguration(detail)
      default: throw .tlsHandshake(detail)
      }
    }
    try handshake(created)
  }

  /// Takes the newest session the server gave for resumption on this connection, if any
  /// since the last call: its certificate was verified. TLS 1.3 servers send it after the
  /// handshake, so it is there once the first reply after the handshake has been read.
  ///
  /// The bytes are a secret (they let a peer that has them pass for the server to whoever
  /// resumes them): store them as privately as a credential and never log them.
  /// - Returns: The session (DER), or nil.
  public func takeTLSSession() -> [UInt8]? {
    guard let tls else { return nil }
    var buffer = [UInt8](repeating: 0, count: Int(GS_TLS_SESSION_MAX))
    let n = gs_tls_take_session(tls, &buffer, buffer.count)
    guard n > 0 else { return nil }
    return Array(buffer[0..<n])
  }

  /// Upgrades an accepted connection to TLS as the server.
  /// - Throws: `.tlsHandshake`, `.timedOut(.tlsHandshake)`, `.connectionClosed`, `.io`.
  ///   On any failure the connection is closed.
  public func startTLSServer(context: TLSServerContext) throws(TransportError) {
    guard fd >= 0 else { throw .connectionClosed }
    precondition(tls == nil, "startTLSServer on a connection that is already TLS")
    var err = [CChar](repeating: 0, count: 512)
    guard let session = gs_tls_server_new(context.context, fd, &err, err.count) else {
      close()
      throw .tlsHandshake(string(fromCString: err))
    }
    try handshake(session)
  }

  private func handshake(_ session: OpaquePointer) throws(TransportError) {
    do throws(TransportError) {
      while true {
        let status = gs_tls_handshake(session)
        switch status {
        case GS_TLS_OK.rawValue:
          tls = session
          return
        case GS_TLS_WANT_READ.rawValue:
          try wait(for: Int16(POLLIN), phase: .tlsHandshake)
        case GS_TLS_WANT_WRITE.rawValue:
          try wait(for: Int16(POLLOUT), phase: .tlsHandshake)
        default:
          throw failure(session, status: status, handshake: true)
        }
      }
    } catch {
      gs_tls_free(session)
      close()
      throw error
    }
  }

  private func failure(_ session: OpaquePointer, status: Int32, handshake: Bool) -> TransportError {
    let detail = String(cString: gs_tls_error(session))
    switch status {
    case GS_TLS_CERTIFICATE.rawValue: return .certificate(detail)
    case GS_TLS_CLOSED.rawValue: return .connectionClosed
    case GS_TLS_IO.rawValue: return ioError(gs_tls_errno(session))
    case GS_TLS_CA_FILE.rawValue: return .tlsConfiguration(detail)
    default: return handshake ? .tlsHandshake(detail) : .tlsProtocol(detail)
    }
  }

  // MARK: Reading

  /// Reads what the peer has sent, waiting at most `timeout` for something to arrive.
  /// - Parameter buffer: Where to put the bytes.
  /// - Returns: The number of bytes read, 1...buffer.count; 0 means the peer closed its
  ///   side (end of stream).
  /// - Throws: `.timedOut(.read)`, `.connectionClosed` (reset, or already closed),
  ///   `.tlsProtocol`, `.io`.
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TransportError) -> Int {
    guard fd >= 0 else { throw .connectionClosed }
    guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
    if let tls {
      while true {
        var n = 0
        let status = gs_tls_read(tls, base, buffer.count, &n)
        switch status {
        case GS_TLS_OK.rawValue: return n
        case GS_TLS_CLOSED.rawValue: return 0
        case GS_TLS_WANT_READ.rawValue: try wait(for: Int16(POLLIN), phase: .read)
        case GS_TLS_WANT_WRITE.rawValue: try wait(for: Int16(POLLOUT), phase: .read)
        default: throw failure(tls, status: status, handshake: false)
        }
      }
    }
    while true {
      let n = recv(fd, base, buffer.count, 0)
      if n >= 0 { return n }
      switch errno {
      case EINTR: continue
      case EAGAIN, EWOULDBLOCK: try wait(for: Int16(POLLIN), phase: .read)
      case let code: throw ioError(code)
      }
    }
  }

  /// Reads what the peer has sent and appends it to `buffer`, waiting at most `timeout`.
  /// - Parameters:
  ///   - buffer: The bytes are appended here.
  ///   - maxBytes: The most to append in this call (at most 16 KiB, one TLS record).
  /// - Returns: The number of bytes appended; 0 means the peer closed its side.
  /// - Throws: As `read(into:)` with a raw buffer.
  public func read(into buffer: inout [UInt8], maxBytes: Int = 16384) throws(TransportError)
    -> Int
  {
    let count = max(1, min(maxBytes, 16384))
    let space: UnsafeMutableRawBufferPointer
    if let scratch {
      space = scratch
    } else {
      space = UnsafeMutableRawBufferPointer.allocate(byteCount: 16384, alignment: 1)
      scratch = space
    }
    let part = UnsafeMutableRawBufferPointer(rebasing: space[0..<count])
    let n = try read(into: part)
    buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: part[0..<n]))
    return n
  }

  // MARK: Writing

  /// Writes all of `bytes`, waiting at most `timeout` each time the peer stops accepting.
  ///
  /// Large payloads are streamed by calling this once per chunk (for example 64 KiB read
  /// from a file and transformed); nothing is buffered here beyond the kernel and one TLS
  /// record, so memory does not grow with the message.
  /// - Throws: `.timedOut(.write)`, `.connectionClosed` (the peer closed or reset),
  ///   `.tlsProtocol`, `.io`.
  public func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError) {
    guard fd >= 0 else { throw .connectionClosed }
    guard var next = bytes.baseAddress else { return }
    var left = bytes.count
    while left > 0 {
      if let tls {
        var n = 0
        let status = gs_tls_write(tls, next, left, &n)
        switch status {
        case GS_TLS_OK.rawValue:
          next += n
          left -= n
        case GS_TLS_WANT_READ.rawValue: try wait(for: Int16(POLLIN), phase: .write)
        case GS_TLS_WANT_WRITE.rawValue: try wait(for: Int16(POLLOUT), phase: .write)
        default: throw failure(tls, status: status, handshake: false)
        }
        continue
      }
      let n = send(fd, next, left, Int32(MSG_NOSIGNAL))
      if n >= 0 {
        next += n
        left -= n
        continue
      }
      switch errno {
      case EINTR: continue
      case EAGAIN, EWOULDBLOCK: try wait(for: Int16(POLLOUT), phase: .write)
      case let code: throw ioError(code)
      }
    }
  }

  /// Writes all of `bytes`; see `write(_:)` with a raw buffer.
  public func write(_ bytes: [UInt8]) throws(TransportError) {
    // withUnsafeBytes rethrows untyped errors; carry the typed one through a Result.
    let result = bytes.withUnsafeBytes { raw in
      Result { () throws(TransportError) in try write(raw) }
    }
    try result.get()
  }

  /// Writes all of `bytes`; see `write(_:)` with a raw buffer.
  public func write(_ bytes: ArraySlice<UInt8>) throws(TransportError) {
    // withUnsafeBytes rethrows untyped errors; carry the typed one through a Result.
    let result = bytes.withUnsafeBytes { raw in
      Result { () throws(TransportError) in try write(raw) }
    }
    try result.get()
  }

  // MARK: Closing

  /// Closes the connection: sends TLS close_notify (best effort, no wait) and closes the
  /// socket. Further reads and writes throw `.connectionClosed`. Calling it again does nothing.
  public func close() {
    if let tls {
      gs_tls_shutdown(tls)
      gs_tls_free(tls)
      self.tls = nil
    }
    if fd >= 0 {
      _ = Glibc.close(fd)
      fd = -1
    }
  }

  // MARK: Waiting

  /// Waits until the socket is ready for `events`, for at most `timeout`.
  private func wait(for events: Int16, phase: TransportError.Phase) throws(TransportError) {
    try waitForSocket(fd, events: events, timeout: timeout, phase: phase)
  }
}

// MARK: - Handshake summary

// What a TLS handshake negotiated, for logs, `-v` output and the doctor. Pure data.

/// The outcome of a TLS handshake, for logs and `-v` output.
public struct TLSSummary: Equatable, Sendable, CustomStringConvertible {
  /// The protocol, e.g. "TLSv1.3".
  public let version: String
  /// The cipher suite, e.g. "TLS_AES_256_GCM_SHA384".
  public let cipher: String
  /// "subject=…; issuer=…" of the peer's certificate, when it sent one; nil after a
  /// resumed handshake (sessions are saved without it).
  public let peerCertificate: String?
  /// The SNI host name: the one sent (client side) or asked for by the client (server
  /// side); nil when none was sent, as for IP literals.
  public let serverName: String?
  /// Whether the handshake resumed an earlier session (the certificate was verified then).
  public var resumed: Bool = false

  /// "TLSv1.3 TLS_AES_256_GCM_SHA384", and ", session resumed" when it was.
  public var description: String { "\(version) \(cipher)" + (resumed ? ", session resumed" : "") }
}
