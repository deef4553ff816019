// SPDX-License-Identifier: MIT
// The errors of the transport layer: resolving, connecting, TLS, reading and writing.
// Failure policy: every case is a temporary failure in gsendmail(8), "QUEUE" and "EXIT STATUS" terms (the server may be
// reachable and its certificate fixed later), except `tlsConfiguration` (a bad
// `tls_ca_file` or server key), which is a configuration problem. The front end decides
// what each means for the exit code; nothing here exits or logs.

#if canImport(Glibc)
  import Glibc
#endif

/// What went wrong while talking to the network.
public enum TransportError: Error, Equatable, Sendable {
  /// The wait that ran out of time.
  public enum Phase: String, Equatable, Sendable {
    /// Establishing the TCP connection (each address gets the whole timeout).
    case connect
    /// The TLS handshake (each wait for the peer gets the whole timeout).
    case tlsHandshake
    /// Waiting for the peer to send.
    case read
    /// Waiting for the peer to accept more bytes.
    case write
    /// Waiting for a client to connect to a listener.
    case accept
  }

  /// The host name could not be resolved (`getaddrinfo` failed).
  case resolve(host: String, detail: String)
  /// Every address of the host refused or failed; `errno` is the last address's error.
  case connect(host: String, port: UInt16, errno: Int32)
  /// A listening socket could not be set up (`bind`/`listen` failed).
  case listen(host: String, port: UInt16, errno: Int32)
  /// A wait for the peer exceeded the connection's timeout.
  case timedOut(Phase)
  /// libssl.so.3 / libcrypto.so.3 could not be loaded.
  case tlsLibraryUnavailable(String)
  /// The CA file, or a server certificate or key, could not be loaded.
  case tlsConfiguration(String)
  /// The TLS handshake failed for a reason other than the certificate
  /// (no common protocol version or cipher, a non-TLS peer, an alert).
  case tlsHandshake(String)
  /// The peer's certificate failed verification: untrusted chain, expired, or issued for
  /// another host name. No application bytes were sent.
  case certificate(String)
  /// A TLS record could not be processed after the handshake.
  case tlsProtocol(String)
  /// The peer closed or reset the connection where more was expected
  /// (during the handshake, or while writing), or the connection was already closed.
  case connectionClosed
  /// A socket call failed with this errno.
  case io(errno: Int32)
}

extension TransportError: CustomStringConvertible {
  /// One line saying what happened, for the front end's message.
  public var description: String {
    switch self {
    case .resolve(let host, let detail):
      return "cannot resolve \(host): \(detail)"
    case .connect(let host, let port, let code):
      return "cannot connect to \(host) port \(port): \(errorText(code))"
    case .listen(let host, let port, let code):
      return "cannot listen on \(host) port \(port): \(errorText(code))"
    case .timedOut(let phase):
      return "timed out during \(phase.label)"
    case .tlsLibraryUnavailable(let detail):
      return "TLS is unavailable: \(detail)"
    case .tlsConfiguration(let detail):
      return "TLS configuration error: \(detail)"
    case .tlsHandshake(let detail):
      return "TLS handshake failed: \(detail)"
    case .certificate(let detail):
      return "server certificate rejected: \(detail)"
    case .tlsProtocol(let detail):
      return "TLS error: \(detail)"
    case .connectionClosed:
      return "connection closed by the peer"
    case .io(let code):
      return "network error: \(errorText(code))"
    }
  }
}

extension TransportError.Phase {
  fileprivate var label: String {
    switch self {
    case .connect: return "connect"
    case .tlsHandshake: return "the TLS handshake"
    case .read: return "a wait for the server"
    case .write: return "a write to the server"
    case .accept: return "a wait for a client"
    }
  }
}

/// The C library's text for an errno, e.g. "Connection refused".
func errorText(_ code: Int32) -> String {
  guard let text = strerror(code) else { return "error \(code)" }
  return String(cString: text)
}
