// SPDX-License-Identifier: MIT
// The interactive part of `gsendmailctl login` (RFC 8252 §7.3): a listener on 127.0.0.1
// (an ephemeral port, or the one asked for) for the browser's redirect, the authorization
// URL with PKCE and state, and the alternative of the redirect URL — or the bare code —
// pasted on standard input (a server without a browser, or a tunnel that was not set up).
//
// Failure policy. A request that is not our redirect (wrong path, no query, wrong or
// missing state, no code) gets an error page and is reported through `notice`, and the
// wait goes on: a stale tab or a stray request must not end the login. A redirect with
// our state and `error=access_denied` (or another error code) ends it with
// `TokenError.login`. The same holds for pasted lines. The code is never printed.

import Codecs
import OAuth2
import Transport

#if canImport(Glibc)
  import Glibc
#endif

/// One login attempt: listener, PKCE, state and URL.
public final class LoginSession {
  /// The listener's port: the redirect URI is `http://127.0.0.1:PORT/`.
  public let port: UInt16
  /// The URL for the user's browser.
  public let authorizationURL: String
  /// The redirect URI sent in the URL, needed again for the code exchange.
  public let redirectURI: String
  /// The PKCE verifier, needed for the code exchange.
  public let codeVerifier: String

  private let state: String
  private let listener: TCPListener

  /// Opens the listener and builds the authorization URL.
  /// - Parameters:
  ///   - client: The OAuth client.
  ///   - loginHint: The Google account to preselect (the account's `user` or `from`).
  ///   - port: The listener's port; 0 for an ephemeral one.
  ///   - scope: The scope to ask for (`https://mail.google.com/` for SMTP, `gmail.send`
  ///     alone for the Gmail API).
  ///   - randomBytes: The randomness source (default: getrandom(2)).
  /// - Throws: `TokenError.login` when the listener cannot be opened or there is no
  ///   randomness, `.signing` when SHA-256 is unavailable.
  public init(
    client: OAuthClient, loginHint: String?, port: UInt16 = 0, scope: String = GoogleOAuth.gmailScope,
    randomBytes: (Int) throws(CryptoError) -> [UInt8] = { (n: Int) throws(CryptoError) -> [UInt8] in
      try Crypto.randomBytes(count: n)
    }
  ) throws(TokenError) {
    let pkce: PKCE
    do {
      state = AuthorizationState.make(
        randomBytes: try randomBytes(AuthorizationState.recommendedRandomByteCount))
      pkce = try PKCE(randomBytes: try randomBytes(PKCE.recommendedRandomByteCount)) {
        (input: [UInt8]) throws(CryptoError) -> [UInt8] in try Crypto.sha256(input)
      }
    } catch {
      throw .signing("cannot make the PKCE verifier: \(error)")
    }
    do {
      listener = try TCPListener(host: "127.0.0.1", port: port)
    } catch {
      throw .login(
        "cannot listen on 127.0.0.1\(port == 0 ? "" : " port \(port)") for the browser's redirect: \(error)"
          + (port == 0 ? "" : "; choose another --port"))
    }
    self.port = listener.port
    codeVerifier = pkce.verifier
    let request = AuthorizationRequest(
      endpoint: client.authorizationURL, clientID: client.clientID, port: listener.port,
      state: state, pkce: pkce, loginHint: loginHint, scope: scope)
    redirectURI = request.redirectURI
    authorizationURL = request.url
  }

  deinit { listener.close() }

  /// The command that forwards the port from a desktop to this host over SSH.
  /// - Parameter destination: `USER@FQDN` of this host.
  public func sshHint(destination: String) -> String {
    "ssh -L \(port):127.0.0.1:\(port) \(destination)"
  }

  /// Reads a pasted redirect URL (or its query), or a bare authorization code.
  /// - Throws: `RedirectError`.
  public func code(fromPasted line: String) throws(RedirectError) -> String {
    if let code = Self.bareCode(line) { return code }
    return try AuthorizationRedirect.code(from: line, expectedState: state)
  }

  /// A code pasted on its own (Google's `4/0A…`, or `4%2F0A…` as copied from the address
  /// bar), or nil for anything else. It carries no state to check; PKCE still binds it to
  /// this login, as the verifier goes with the exchange.
  static func bareCode(_ line: String) -> String? {
    var text = Substring(line)
    while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
    while let last = text.last, last == " " || last == "\t" || last == "\r" { text = text.dropLast() }
    let allowed: (Character) -> Bool = {
      $0.isASCII && ($0.isLetter || $0.isNumber || "-._~/%".contains($0))
    }
    guard text.count >= 8, text.first != "/", text.allSatisfy(allowed) else { return nil }
    return FormEncoding.percentDecode(text)
  }

  /// Waits for the authorization code: from the browser's redirect to the listener, or
  /// from a redirect URL pasted as one line on `input`.
  /// - Parameters:
  ///   - timeout: How long to wait in all.
  ///   - input: A descriptor to read pasted lines from (standard input), or nil. End of
  ///     file there only stops reading it.
  ///   - notice: Told about each refused request or line (what was wrong, never a code).
  /// - Returns: The authorization code.
  /// - Throws: `TokenError.login` on timeout, denial, or an authorization error.
  public func waitForCode(
    timeout: Duration, input: Int32? = nil, notice: (String) -> Void = { _ in }
  ) throws(TokenError) -> String {
    let deadline = MonotonicClock.now() + timeout
    var input = input
    var pending: [UInt8] = []
    while MonotonicClock.now() < deadline {
      // Pasted lines.
      if let fd = input {
        switch readLines(fd: fd, pending: &pending) {
        case .endOfFile: input = nil
        case .lines(let lines):
          for line in lines where !line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) {
            do {
              return try code(fromPasted: line)
            } catch {
              try endIfFinal(error)
              notice("pasted text refused: \(error)")
            }
          }
        }
      }
      // Browser redirects.
      let connection: Connection
      do {
        connection = try listener.accept(
          timeout: .milliseconds(200), connectionTimeout: .seconds(5))
      } catch {
        if case .timedOut = error { continue }
        throw .login("the redirect listener failed: \(error)")
      }
      if let code = try serve(connection, notice: notice) { return code }
    }
    throw .login("no redirect arrived within \(timeout.components.seconds) s; run the login again")
  }

  /// A denial or an authorization error with our state ends the login.
  private func endIfFinal(_ error: RedirectError) throws(TokenError) {
    switch error {
    case .accessDenied, .authorizationError: throw .loginRefused("login failed: \(error)")
    case .wrongPath, .malformed, .stateMismatch, .missingCode: return
    }
  }

  /// Answers one browser request. Returns the code, or nil to keep waiting.
  private func serve(_ connection: Connection, notice: (String) -> Void) throws(TokenError)
    -> String?
  {
    defer { connection.close() }
    guard let target = readRequestTarget(connection) else {
      respond(connection, status: "400 Bad Request", text: "This is not an HTTP GET request.")
      return nil
    }
    do {
      let code = try AuthorizationRedirect.code(from: target, expectedState: state)
      respond(
        connection, status: "200 OK",
        text: "gsendmail is now authorized. You can close this window and return to the terminal.")
      return code
    } catch {
      switch error {
      case .wrongPath:
        respond(connection, status: "404 Not Found", text: "Not found.")
        return nil
      case .accessDenied, .authorizationError:
        respond(
          connection, status: "200 OK", text: "Login failed: \(error). You can close this window.")
        try endIfFinal(error)
        return nil
      case .malformed, .stateMismatch, .missingCode:
        respond(connection, status: "400 Bad Request", text: "Refused: \(error).")
        notice("browser request refused: \(error)")
        return nil
      }
    }
  }

  /// Reads the request line and headers (at most 16 KiB) and returns the target of a GET.
  private func readRequestTarget(_ connection: Connection) -> String? {
    var head: [UInt8] = []
    while !head.containsHeaderEnd() {
      guard head.count < 16 * 1024, let n = try? connection.read(into: &head), n > 0 else {
        return nil
      }
    }
    guard let lineEnd = head.firstIndex(of: 0x0D) ?? head.firstIndex(of: 0x0A) else { return nil }
    let parts = head[..<lineEnd].split(separator: 0x20)
    guard parts.count == 3, Array(parts[0]) == Array("GET".utf8),
      parts[2].starts(with: Array("HTTP/1.".utf8))
    else { return nil }
    return String(decoding: parts[1], as: UTF8.self)
  }

  private func respond(_ connection: Connection, status: String, text: String) {
    let escaped = text.replacingText("&", with: "&amp;").replacingText("<", with: "&lt;")
      .replacingText(">", with: "&gt;")
    let body = Array(
      ("<!doctype html><html><head><meta charset=\"utf-8\"><title>gsendmail login</title></head>"
        + "<body><p>\(escaped)</p></body></html>\n").utf8)
    let head =
      "HTTP/1.1 \(status)\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: \(body.count)\r\n"
      + "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
    try? connection.write(Array(head.utf8) + body)
  }

  private enum ReadResult {
    case lines([String])
    case endOfFile
  }

  /// Reads what is available on `fd` without blocking and returns complete lines.
  private func readLines(fd: Int32, pending: inout [UInt8]) -> ReadResult {
    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&poller, 1, 0) > 0 else { return .lines([]) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n <= 0 {
      if n < 0 && errno == EINTR { return .lines([]) }
      let last = pending
      pending = []
      return last.isEmpty ? .endOfFile : .lines([String(decoding: last, as: UTF8.self)])
    }
    pending += buffer[0..<n]
    if pending.count > 64 * 1024 { pending.removeAll() }  // not a URL: drop it
    var lines: [String] = []
    while let newline = pending.firstIndex(of: 0x0A) {
      lines.append(String(decoding: pending[..<newline], as: UTF8.self))
      pending.removeSubrange(...newline)
    }
    return .lines(lines)
  }
}

extension [UInt8] {
  fileprivate func containsHeaderEnd() -> Bool {
    let crlf: [UInt8] = [13, 10, 13, 10]
    guard count >= 2 else { return false }
    for i in 0..<(count - 1) {
      if self[i] == 10 && self[i + 1] == 10 { return true }
      if i + 3 < count && Array(self[i...(i + 3)]) == crlf { return true }
    }
    return false
  }
}

