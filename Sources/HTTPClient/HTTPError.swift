// SPDX-License-Identifier: MIT
// The errors of one HTTP request. Failure policy: every case but `insecureURL` is a
// temporary failure in SPEC §7 terms (the endpoint may answer later); `insecureURL` is
// a configuration problem. The text never contains a request body.

/// Why an HTTP request got no response.
public enum HTTPError: Error, Equatable, Sendable, CustomStringConvertible {
  /// libcurl.so.4 could not be loaded (or is older than 7.85).
  case libraryUnavailable(String)
  /// The URL is not `https://`, nor `http://` on a loopback host (SPEC §5).
  case insecureURL(String)
  /// The whole request took longer than its timeout.
  case timedOut(url: String, seconds: Int)
  /// The host could not be resolved, or refused the connection.
  case connect(url: String, detail: String)
  /// TLS failed: handshake, or the certificate did not verify.
  case tls(url: String, detail: String)
  /// The response body is larger than the limit.
  case tooLarge(url: String, limit: Int)
  /// Any other failure of the transfer (reset, malformed HTTP).
  case transport(url: String, detail: String)
  /// An upload's body could not be read (the local file, not the network).
  case bodyUnreadable(url: String, detail: String)

  /// Whether a later attempt may succeed (everything but a refused URL).
  public var isTemporary: Bool {
    if case .insecureURL = self { return false }
    return true
  }

  public var description: String {
    switch self {
    case .libraryUnavailable(let detail): return detail
    case .insecureURL(let url):
      return "\(url): only https:// URLs are allowed (http:// on 127.0.0.1, ::1 or localhost)"
    case .timedOut(let url, let seconds): return "\(url): no complete response within \(seconds) s"
    case .connect(let url, let detail): return "\(url): cannot connect: \(detail)"
    case .tls(let url, let detail): return "\(url): TLS failed: \(detail)"
    case .tooLarge(let url, let limit): return "\(url): response larger than \(limit) bytes"
    case .transport(let url, let detail): return "\(url): \(detail)"
    case .bodyUnreadable(let url, let detail): return "\(url): cannot read the message to upload: \(detail)"
    }
  }
}
