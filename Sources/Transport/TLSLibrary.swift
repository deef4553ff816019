// SPDX-License-Identifier: MIT
// The state of the lazily loaded OpenSSL libraries. gsendmail never links libssl or
// libcrypto at load time; they are opened by the first TLS or crypto call.
// Failure policy: a missing library is reported as `.tlsLibraryUnavailable`.

import CShim

/// libssl.so.3 / libcrypto.so.3, opened on first use.
public enum TLSLibrary {
  /// True once OpenSSL has been loaded into this process.
  public static var isLoaded: Bool { gs_openssl_is_loaded() != 0 }

  /// Loads OpenSSL now (it is otherwise loaded by the first TLS or crypto call).
  /// - Throws: `.tlsLibraryUnavailable` with the dynamic loader's reason.
  public static func load() throws(TransportError) {
    var err = [CChar](repeating: 0, count: 512)
    if gs_openssl_load(&err, err.count) != 0 {
      throw .tlsLibraryUnavailable(string(fromCString: err))
    }
  }
}
