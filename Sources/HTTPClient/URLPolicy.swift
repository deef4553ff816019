// SPDX-License-Identifier: MIT
// Which URLs the OAuth endpoints may have (gsendmail.conf(5)): https://, or http:// on a loopback
// host (127.0.0.1, ::1, localhost) for tests. Pure string checks.

/// Decides whether a URL may be used for an OAuth endpoint.
public enum URLPolicy {
  /// True for `https://…`, and for `http://` whose host is 127.0.0.1, [::1] or localhost.
  /// User info (`user@`) is refused in either case.
  public static func isAllowed(_ url: String) -> Bool {
    let lower = url.lowercased()
    let rest: Substring
    let isHTTPS: Bool
    if lower.hasPrefix("https://") {
      rest = lower.dropFirst(8)
      isHTTPS = true
    } else if lower.hasPrefix("http://") {
      rest = lower.dropFirst(7)
      isHTTPS = false
    } else {
      return false
    }
    let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
    guard !authority.isEmpty, !authority.contains("@") else { return false }
    if isHTTPS { return true }
    let host: Substring
    if authority.hasPrefix("[") {
      guard let close = authority.firstIndex(of: "]") else { return false }
      host = authority[authority.index(after: authority.startIndex)..<close]
      let after = authority[authority.index(after: close)...]
      guard after.isEmpty || after.hasPrefix(":") else { return false }
    } else {
      host = authority.prefix { $0 != ":" }
    }
    return host == "127.0.0.1" || host == "::1" || host == "localhost"
  }
}
