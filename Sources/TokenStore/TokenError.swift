// SPDX-License-Identifier: MIT
// The errors of getting, storing and revoking tokens, and how each counts in gsendmail(8), "QUEUE" and "EXIT STATUS":
// temporary (queue and retry), authentication (deferred until `gsendmailctl login`), or
// configuration (exit 78). Failure policy: the text names the account, file or endpoint
// and what to do; it never contains a token, a code, a client secret or a key, nor what
// becomes of a message (the caller says whether it stays queued).

import HTTPClient
import OAuth2

/// Why no access token could be had, or tokens could not be stored.
public enum TokenError: Error, Equatable, Sendable, CustomStringConvertible {
  /// How a failure counts for delivery.
  public enum Kind: Equatable, Sendable {
    /// Try again later (network, 5xx, an unusable reply, a busy lock, a full disk).
    case temporary
    /// The account cannot authenticate until someone runs `gsendmailctl login`.
    case authentication
    /// A setting or file is wrong.
    case configuration
  }

  /// No cache, or a cache without a refresh token.
  case notLoggedIn(account: String)
  /// The token endpoint answered with an error or an unusable reply.
  case endpoint(account: String, TokenEndpointError)
  /// The token endpoint could not be reached.
  case http(HTTPError)
  /// The cache file exists but cannot be read.
  case cacheUnreadable(path: String, reason: String)
  /// The cache file is not a token cache.
  case cacheCorrupt(path: String, reason: String)
  /// The cache (or its directory or lock) cannot be written.
  case cacheWrite(path: String, reason: String)
  /// Another process held the account's lock for longer than the lock timeout.
  case lockTimeout(path: String)
  /// An account name that cannot be a file name.
  case invalidAccountName(String)
  /// A credentials file (client secret, service-account key) is unusable.
  case credentials(path: String, problem: String)
  /// The service-account key could not sign, or the crypto library is missing.
  case signing(String)
  /// The login's loopback listener or browser redirect failed.
  case login(String)
  /// The user refused access in the browser, or Google returned an error to the redirect.
  case loginRefused(String)

  /// How this failure counts for delivery.
  public var kind: Kind {
    switch self {
    case .notLoggedIn, .cacheCorrupt, .loginRefused: return .authentication
    case .endpoint(_, let error): return error.isTemporary ? .temporary : .authentication
    case .http(let error): return error.isTemporary ? .temporary : .configuration
    case .cacheWrite, .lockTimeout, .login: return .temporary
    case .cacheUnreadable, .invalidAccountName, .credentials, .signing: return .configuration
    }
  }

  public var description: String {
    switch self {
    case .notLoggedIn(let account):
      return "no OAuth token for account '\(account)'; run 'gsendmailctl login \(account)'"
    case .endpoint(let account, let error):
      return "account '\(account)': " + error.explanation(account: account)
    case .http(let error):
      return "token endpoint unreachable: \(error)"
    case .cacheUnreadable(let path, let reason): return "cannot read token cache \(path): \(reason)"
    case .cacheCorrupt(let path, let reason):
      let account = path.split(separator: "/").last.map { String($0.dropLast(5)) } ?? "ACCOUNT"
      return "\(path): \(reason); run 'gsendmailctl login \(account)' to replace it"
    case .cacheWrite(let path, let reason): return "cannot write token cache \(path): \(reason)"
    case .lockTimeout(let path):
      return "token cache lock \(path) is held by another process"
    case .invalidAccountName(let name):
      return "account name '\(name)' cannot be used as a token cache file name"
    case .credentials(let path, let problem): return "\(path): \(problem)"
    case .signing(let detail): return "cannot sign the service-account assertion: \(detail)"
    case .login(let detail), .loginRefused(let detail): return detail
    }
  }
}
