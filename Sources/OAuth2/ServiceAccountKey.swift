// SPDX-License-Identifier: MIT
// A Google service-account key file: `type`, `client_email`, `private_key` (PEM),
// `private_key_id`, `token_uri`, `client_id`. Pure.
// Failure policy: throws `CredentialsFileError` naming the missing or wrong field; the
// key itself never appears in any text.

import Codecs

/// The parts of a service-account key that the JWT grant needs.
public struct ServiceAccountKey: Equatable, Sendable, CustomStringConvertible {
  /// The service account's address: the JWT's `iss`.
  public var clientEmail: String
  /// The RSA private key in PEM.
  public var privateKeyPEM: String
  /// The key's id: the JWT header's `kid`.
  public var privateKeyID: String?
  /// The token endpoint named by the file (Google's when absent).
  public var tokenURI: String
  /// The service account's numeric client ID (`client_id`): what the Workspace Admin
  /// console's domain-wide delegation asks for. Not a secret.
  public var clientID: String?

  public init(
    clientEmail: String, privateKeyPEM: String, privateKeyID: String?, tokenURI: String, clientID: String? = nil
  ) {
    self.clientEmail = clientEmail
    self.privateKeyPEM = privateKeyPEM
    self.privateKeyID = privateKeyID
    self.tokenURI = tokenURI
    self.clientID = clientID
  }

  /// The account and key id, never the key.
  public var description: String {
    "service account \(clientEmail)" + (privateKeyID.map { " (key \($0))" } ?? "")
  }

  /// Reads a key file.
  /// - Throws: `CredentialsFileError`.
  public static func parse(_ bytes: [UInt8]) throws(CredentialsFileError) -> ServiceAccountKey {
    let json: JSONValue
    do {
      json = try JSON.parse(bytes, maximumBytes: 64 * 1024)
    } catch {
      throw .notJSON(error)
    }
    guard case .object = json else { throw .wrongKind(expected: "a service-account key file") }
    if json["installed"] != nil || json["web"] != nil {
      throw .wrongKind(
        expected: "a service-account key file; this is an OAuth client file, use client_secret_file"
      )
    }
    let type = try json.requiredString("type")
    guard type == "service_account" else {
      throw .invalidValue(field: "type", reason: "is \"\(type)\", not \"service_account\"")
    }
    let email = try json.requiredString("client_email")
    guard email.contains("@") else {
      throw .invalidValue(field: "client_email", reason: "is not an email address")
    }
    let pem = try json.requiredString("private_key")
    guard pem.containsText("-----BEGIN") && pem.containsText("PRIVATE KEY-----") else {
      throw .invalidValue(field: "private_key", reason: "is not a PEM private key")
    }
    return ServiceAccountKey(
      clientEmail: email, privateKeyPEM: pem,
      privateKeyID: try json.optionalString("private_key_id"),
      tokenURI: try json.optionalString("token_uri") ?? GoogleOAuth.tokenURL,
      clientID: try json.optionalString("client_id"))
  }
}
