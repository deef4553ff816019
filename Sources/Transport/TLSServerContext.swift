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
  /// - Throws: `.tlsLibraryUnavailable`, `.tlsConfiguration`.
  public init(certificateFile: String, privateKeyFile: String) throws(TransportError) {
    try TLSLibrary.load()
    var err = [CChar](repeating: 0, count: 512)
    guard let context = gs_tls_server_ctx_new(certificateFile, privateKeyFile, &err, err.count)
    else { throw .tlsConfiguration(string(fromCString: err)) }
    self.context = context
  }

  deinit {
    gs_tls_server_ctx_free(context)
  }
}
