// SPDX-License-Identifier: MIT
// The server half of TLS, for the local Gmail look-alike: a certificate chain and key
// loaded once and shared by every accepted connection.
// Failure policy: an unreadable or mismatched certificate or key throws
// `.tlsConfiguration` with the file and OpenSSL's reason; nothing is retried.

import CShim

/// A TLS server configuration (TLS 1.2 minimum). Safe to share between threads.
public final class TLSServerContext: @unchecked Sendable {
  let context: OpaquePointer

  /// Loads a PEM certificate chain (leaf first) and its PEM private key.
  /// - Parameter sessionLifetime: How many seconds a client may resume a session for, with
  ///   the session tickets it is given (TLS 1.3 NewSessionTicket, as smtp.gmail.com sends
  ///   them; RFC 5077 under TLS 1.2) under keys that live as long as this context; nil for
  ///   no resumption at all. 7200 is OpenSSL's default.
  /// - Throws: `.tlsLibraryUnavailable`, `.tlsConfiguration`.
  public init(certificateFile: String, privateKeyFile: String, sessionLifetime: Int? = 7200)
    throws(TransportError)
  {
    try TLSLibrary.load()
    var err = [CChar](repeating: 0, count: 512)
    guard
      let context = gs_tls_server_ctx_new(
        certificateFile, privateKeyFile, sessionLifetime.map { max(1, $0) } ?? 0, &err, err.count)
    else { throw .tlsConfiguration(string(fromCString: err)) }
    self.context = context
  }

  deinit {
    gs_tls_server_ctx_free(context)
  }
}
