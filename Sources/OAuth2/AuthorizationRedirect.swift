// SPDX-License-Identifier: MIT
// Reads the redirect that ends the browser part of the loopback flow (RFC 6749 §4.1.2,
// §4.1.2.1): the request target the browser sends to the loopback listener
// (`/?state=…&code=…`), or the same URL pasted by the user. Pure.
// Failure policy: anything that is not a redirect carrying our `state` and a code throws
// a `RedirectError`; the state is checked before anything else is believed, so a
// forged or stale redirect cannot end the login. Error text never contains the code.

/// Why a redirect did not yield an authorization code.
public enum RedirectError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The request is for another path (a browser asking for `/favicon.ico`).
  case wrongPath
  /// The query is not valid percent-encoding, or there is no query at all.
  case malformed
  /// `state` is missing or is not the one this login sent: a stale tab or a forgery.
  case stateMismatch
  /// The user refused access (`error=access_denied`).
  case accessDenied
  /// The authorization server returned another error code (RFC 6749 §4.1.2.1).
  case authorizationError(code: String, description: String?)
  /// The state matched but there is no `code`.
  case missingCode

  public var description: String {
    switch self {
    case .wrongPath: return "not the OAuth redirect (wrong path)"
    case .malformed: return "not an OAuth redirect (no valid query string)"
    case .stateMismatch:
      return "the redirect's state does not match this login (an old browser tab, or a forged "
        + "request); finish the login in the tab opened for this run"
    case .accessDenied: return "access was denied in the browser (error=access_denied)"
    case .authorizationError(let code, let description):
      return "the authorization server returned \(code)" + (description.map { ": \($0)" } ?? "")
    case .missingCode: return "the redirect carries no authorization code"
    }
  }
}

/// Extracts the authorization code from a redirect.
public enum AuthorizationRedirect {
  /// Reads a redirect.
  /// - Parameters:
  ///   - target: A request target (`/?state=…&code=…`), a whole URL
  ///     (`http://127.0.0.1:PORT/?…`, as pasted from the browser's address bar), or a bare
  ///     query (`state=…&code=…`). Surrounding white space is ignored; a fragment is dropped.
  ///   - expectedState: The `state` sent in the authorization request.
  /// - Returns: The authorization code.
  /// - Throws: `RedirectError`.
  public static func code(from target: String, expectedState: String) throws(RedirectError)
    -> String
  {
    var rest = Substring(target.trimmingASCIIWhitespace())
    if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
    for scheme in ["http://", "https://"] where rest.lowercased().hasPrefix(scheme) {
      rest = rest.dropFirst(scheme.count)
      // Drop the authority: everything up to the path or the query.
      let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
      rest = rest[end...]
    }
    let query: Substring
    if let q = rest.firstIndex(of: "?") {
      guard rest[..<q] == "/" || rest[..<q].isEmpty else { throw .wrongPath }
      query = rest[rest.index(after: q)...]
    } else if rest.hasPrefix("/") {
      throw rest == "/" ? .malformed : .wrongPath
    } else {
      query = rest
    }
    guard let fields = FormEncoding.decode(query) else { throw .malformed }
    func field(_ name: String) -> String? { fields.last { $0.name == name }?.value }
    // Pasted junk or an unrelated query: say so rather than blame the state.
    guard field("state") != nil || field("code") != nil || field("error") != nil else {
      throw .malformed
    }

    guard let state = field("state"), constantTimeEqual(state, expectedState) else {
      throw .stateMismatch
    }
    if let error = field("error") {
      if error == "access_denied" { throw .accessDenied }
      throw .authorizationError(code: error, description: field("error_description"))
    }
    guard let code = field("code"), !code.isEmpty else { throw .missingCode }
    return code
  }

  /// Compares without an early exit, so timing does not reveal how much of a guess matched.
  static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<x.count { diff |= x[i] ^ y[i] }
    return diff == 0
  }
}

extension String {
  /// The string without leading and trailing spaces, tabs, CR and LF.
  func trimmingASCIIWhitespace() -> Substring {
    let isSpace: (Character) -> Bool = {
      $0 == " " || $0 == "\t" || $0 == "\r\n" || $0 == "\n" || $0 == "\r"
    }
    guard let first = firstIndex(where: { !isSpace($0) }),
      let last = lastIndex(where: { !isSpace($0) })
    else { return "" }
    return self[first...last]
  }
}
