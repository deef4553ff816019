// SPDX-License-Identifier: MIT
// PKCE (RFC 7636) and the `state` value of the authorization request (RFC 6749 §10.12).
// Pure: the random bytes and the SHA-256 function are passed in, so tests can pin them
// and this target needs no crypto library. Failure policy: a wrong number of random
// bytes is a programming error (precondition); a failing hash function's error is
// passed through unchanged.

import Codecs

/// A PKCE code verifier and its S256 challenge.
public struct PKCE: Equatable, Sendable {
  /// The `code_verifier` (43–128 characters of base64url), sent with the code exchange.
  public let verifier: String
  /// `BASE64URL(SHA256(verifier))`, sent in the authorization URL.
  public let challenge: String
  /// Always `S256`.
  public let method = "S256"

  /// The number of random bytes to ask for: 32 bytes make a 43-character verifier.
  public static let recommendedRandomByteCount = 32

  /// Makes a verifier from random bytes and derives its challenge.
  /// - Parameters:
  ///   - randomBytes: 32 to 96 unpredictable bytes; their base64url text (43 to 128
  ///     characters, RFC 7636 §4.1) is the verifier.
  ///   - sha256: The SHA-256 function (32-byte digest).
  /// - Throws: Whatever `sha256` throws.
  public init<E: Error>(randomBytes: [UInt8], sha256: ([UInt8]) throws(E) -> [UInt8]) throws(E) {
    precondition((32...96).contains(randomBytes.count), "PKCE needs 32 to 96 random bytes")
    verifier = Base64.encode(randomBytes, alphabet: .url)
    challenge = Base64.encode(try sha256(Array(verifier.utf8)), alphabet: .url)
  }
}

/// The `state` parameter: an unguessable value tying the redirect to this login.
public enum AuthorizationState {
  /// The number of random bytes to ask for (128 bits).
  public static let recommendedRandomByteCount = 16

  /// The base64url text of at least 16 random bytes.
  public static func make(randomBytes: [UInt8]) -> String {
    precondition(randomBytes.count >= 16, "state needs at least 16 random bytes")
    return Base64.encode(randomBytes, alphabet: .url)
  }
}
