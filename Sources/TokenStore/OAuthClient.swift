// SPDX-License-Identifier: MIT
// How an account gets new access tokens: an installed-app OAuth client with a refresh
// token, or a service-account key (SPEC §5, §6). Pure data, plus loading the files.
// Failure policy: a missing or malformed credentials file throws
// `TokenError.credentials` naming the path and the problem (never its content).

import OAuth2

/// An OAuth client and its endpoints.
public struct OAuthClient: Equatable, Sendable, CustomStringConvertible {
  public var clientID: String
  public var clientSecret: String?
  public var authorizationURL: String
  public var tokenURL: String
  public var revokeURL: String

  public init(
    clientID: String, clientSecret: String?,
    authorizationURL: String = GoogleOAuth.authorizationURL,
    tokenURL: String = GoogleOAuth.tokenURL, revokeURL: String = GoogleOAuth.revokeURL
  ) {
    self.clientID = clientID
    self.clientSecret = clientSecret
    self.authorizationURL = authorizationURL
    self.tokenURL = tokenURL
    self.revokeURL = revokeURL
  }

  /// The client id, never the secret.
  public var description: String { "OAuth client \(clientID)" }

  /// Reads Google's client-secret file. The configuration's `auth_url`/`token_url`/
  /// `revoke_url` are passed in and win over the file's `auth_uri`/`token_uri`, which
  /// Google fills with its own endpoints anyway.
  /// - Throws: `TokenError.credentials`.
  public static func load(
    clientSecretFile path: String, authorizationURL: String = GoogleOAuth.authorizationURL,
    tokenURL: String = GoogleOAuth.tokenURL, revokeURL: String = GoogleOAuth.revokeURL
  ) throws(TokenError) -> OAuthClient {
    let file = try CredentialsReader.read(path)
    do {
      let parsed = try ClientSecret.parse(file)
      return OAuthClient(
        clientID: parsed.clientID, clientSecret: parsed.clientSecret,
        authorizationURL: authorizationURL, tokenURL: tokenURL, revokeURL: revokeURL)
    } catch {
      throw .credentials(path: path, problem: error.description)
    }
  }
}

/// How new access tokens are obtained for an account.
public enum TokenGrant: Equatable, Sendable {
  /// A refresh token (from `gsendmailctl login`) exchanged with the client's credentials.
  case refreshToken(OAuthClient)
  /// A JWT signed with a service-account key, impersonating `subject` (`user`), asking for
  /// `scope`, sent to `tokenURL` (which is also the JWT's `aud`).
  case serviceAccount(ServiceAccountKey, subject: String?, tokenURL: String, scope: String)

  /// Whether this is a service account's signed assertion (no refresh token involved).
  public var isServiceAccount: Bool {
    if case .serviceAccount = self { return true }
    return false
  }

  /// The grant of a service-account key file.
  /// - Parameters:
  ///   - path: The key file (`service_account_file`).
  ///   - subject: The Workspace user to impersonate.
  ///   - tokenURL: The configuration's `token_url`, if set; else the key file's `token_uri`.
  ///   - scope: The scope the JWT asks for.
  /// - Throws: `TokenError.credentials`.
  public static func serviceAccount(
    keyFile path: String, subject: String?, tokenURL: String?, scope: String = GoogleOAuth.gmailScope
  ) throws(TokenError) -> TokenGrant {
    let file = try CredentialsReader.read(path)
    do {
      let key = try ServiceAccountKey.parse(file)
      return .serviceAccount(key, subject: subject, tokenURL: tokenURL ?? key.tokenURI, scope: scope)
    } catch {
      throw .credentials(path: path, problem: error.description)
    }
  }
}

enum CredentialsReader {
  static func read(_ path: String) throws(TokenError) -> [UInt8] {
    do throws(TokenError) {
      guard let bytes = try CacheFiles.read(path, followingSymlinks: true) else {
        throw .credentials(path: path, problem: "no such file")
      }
      return bytes
    } catch {
      switch error {
      case .cacheUnreadable(_, let reason): throw .credentials(path: path, problem: reason)
      case .cacheCorrupt(_, let reason): throw .credentials(path: path, problem: reason)
      default: throw error
      }
    }
  }
}
