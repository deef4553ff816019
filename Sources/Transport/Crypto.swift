// SPDX-License-Identifier: MIT
// Crypto primitives for the OAuth layer: SHA-256 (PKCE), random bytes (state, PKCE
// verifier), RS256 signatures (service-account JWTs). OpenSSL is loaded on first use, as
// for TLS; random bytes come from getrandom(2) and need no OpenSSL.
// Failure policy: errors name what failed and never contain key material.

import CShim

/// What went wrong in a crypto call.
public enum CryptoError: Error, Equatable, Sendable {
  /// libcrypto.so.3 could not be loaded.
  case libraryUnavailable(String)
  /// The kernel's random source failed with this errno.
  case randomUnavailable(errno: Int32)
  /// The key could not be read or used to sign (the reason never includes the key).
  case signing(String)
}

/// SHA-256, random bytes and RSA-SHA256 signatures.
public enum Crypto {
  /// The SHA-256 digest of `bytes` (32 bytes).
  /// - Throws: `.libraryUnavailable`.
  public static func sha256(_ bytes: [UInt8]) throws(CryptoError) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: 32)
    let rc = bytes.withUnsafeBytes { gs_sha256($0.baseAddress, $0.count, &digest) }
    guard rc == 0 else { throw .libraryUnavailable(loadError()) }
    return digest
  }

  /// `count` bytes from the kernel's CSPRNG (getrandom(2)).
  /// - Throws: `.randomUnavailable`.
  public static func randomBytes(count: Int) throws(CryptoError) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    let rc = bytes.withUnsafeMutableBytes { gs_random_bytes($0.baseAddress, $0.count) }
    guard rc == 0 else { throw .randomUnavailable(errno: rc) }
    return bytes
  }

  /// The RSASSA-PKCS1-v1_5 SHA-256 signature of `data` (JWT "RS256", RFC 7518 §3.3).
  /// - Parameters:
  ///   - data: The bytes to sign (a JWT's `header.payload`).
  ///   - privateKeyPEM: An RSA key in PEM ("PRIVATE KEY" as in Google's service-account
  ///     JSON, or "RSA PRIVATE KEY"); an encrypted key is refused.
  /// - Returns: The signature (as long as the key's modulus).
  /// - Throws: `.libraryUnavailable`, `.signing`.
  public static func rsaSHA256Signature(of data: [UInt8], privateKeyPEM: [UInt8])
    throws(CryptoError) -> [UInt8]
  {
    var signature = [UInt8](repeating: 0, count: 1024)
    var length = signature.count
    var err = [CChar](repeating: 0, count: 512)
    let rc = privateKeyPEM.withUnsafeBytes { pem in
      data.withUnsafeBytes { input in
        gs_rsa_sha256_sign_pem(
          pem.baseAddress?.assumingMemoryBound(to: CChar.self), pem.count, input.baseAddress,
          input.count, &signature, &length, &err, err.count)
      }
    }
    if rc == GS_TLS_UNAVAILABLE.rawValue { throw .libraryUnavailable(string(fromCString: err)) }
    guard rc == 0 else { throw .signing(string(fromCString: err)) }
    return Array(signature[0..<length])
  }

  private static func loadError() -> String {
    var err = [CChar](repeating: 0, count: 512)
    _ = gs_openssl_load(&err, err.count)
    return string(fromCString: err)
  }
}
