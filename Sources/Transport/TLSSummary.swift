// SPDX-License-Identifier: MIT
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
