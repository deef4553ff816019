// SPDX-License-Identifier: MIT
// Google's OAuth client file, as downloaded from the Cloud Console:
// `{"installed":{"client_id":…,"client_secret":…,"auth_uri":…,"token_uri":…}}` for a
// Desktop client, `{"web":{…}}` for a Web client (docs/design.md, "Gmail on the wire"). Pure.
// Failure policy: throws `CredentialsFileError` naming the missing or wrong field.

import Codecs

/// An OAuth client: id, secret and endpoints.
public struct ClientSecret: Equatable, Sendable, CustomStringConvertible {
  /// The kind of client, from the file's top-level key.
  public enum Kind: String, Equatable, Sendable {
    /// A "Desktop app" client: the one to use (loopback redirects are allowed).
    case installed
    /// A "Web application" client: works only if `http://127.0.0.1` redirects were added.
    case web
  }

  public var kind: Kind
  public var clientID: String
  /// Desktop clients have one too (it is not confidential, but it is sent).
  public var clientSecret: String?
  /// `auth_uri`, when the file gives one.
  public var authURI: String?
  /// `token_uri`, when the file gives one.
  public var tokenURI: String?

  public init(
    kind: Kind = .installed, clientID: String, clientSecret: String?, authURI: String? = nil,
    tokenURI: String? = nil
  ) {
    self.kind = kind
    self.clientID = clientID
    self.clientSecret = clientSecret
    self.authURI = authURI
    self.tokenURI = tokenURI
  }

  /// The client id and kind, never the secret.
  public var description: String { "\(kind.rawValue) client \(clientID)" }

  /// Reads a client-secret file.
  /// - Parameter bytes: The file's content.
  /// - Throws: `CredentialsFileError`.
  public static func parse(_ bytes: [UInt8]) throws(CredentialsFileError) -> ClientSecret {
    let json: JSONValue
    do {
      json = try JSON.parse(bytes, maximumBytes: 64 * 1024)
    } catch {
      throw .notJSON(error)
    }
    let expected = "a Google OAuth client file ({\"installed\":{…}} or {\"web\":{…}})"
    guard case .object = json else { throw .wrongKind(expected: expected) }
    let kind: Kind
    let inner: JSONValue
    if let installed = json["installed"] {
      kind = .installed
      inner = installed
    } else if let web = json["web"] {
      kind = .web
      inner = web
    } else if json["type"]?.stringValue == "service_account" {
      throw .wrongKind(
        expected: expected + "; this is a service-account key, use service_account_file")
    } else {
      throw .wrongKind(expected: expected)
    }
    guard case .object = inner else {
      throw .wrongType(field: kind.rawValue, expected: "an object")
    }
    return ClientSecret(
      kind: kind, clientID: try inner.requiredString("client_id", in: kind.rawValue),
      clientSecret: try inner.optionalString("client_secret", in: kind.rawValue),
      authURI: try inner.optionalString("auth_uri", in: kind.rawValue),
      tokenURI: try inner.optionalString("token_uri", in: kind.rawValue))
  }
}
