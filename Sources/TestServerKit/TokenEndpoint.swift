// SPDX-License-Identifier: MIT
// A minimal HTTP/1.1 server on loopback imitating Google's OAuth endpoints:
// `GET /auth` (redirects with `code` and `state`), `POST /token` (refresh_token,
// authorization_code and jwt-bearer grants, checked as Google checks them: see
// OAuthChecks) and `POST /revoke`. One request per connection
// (`Connection: close`), one thread per connection. Plain HTTP (SPEC allows http:// on
// loopback), or HTTPS with the test CA's certificate, as Google serves it. Failure policy: a malformed request gets 400 and the connection closes;
// the endpoint never logs a token or a form body.

import Foundation
import Transport

/// The fake token endpoint's HTTP side.
final class TokenEndpoint: Sendable {
  private let listener: TCPListener
  private let authority: TokenAuthority
  private let checks: OAuthChecks
  private let threads: ServerThreads
  private let tls: TLSServerContext?
  private let log: (@Sendable (String) -> Void)?
  private let api: GmailAPIEndpoint

  /// The bound port.
  var port: UInt16 { listener.port }

  /// The endpoint's base URL: `http://127.0.0.1:PORT` or, with TLS, `https://…`.
  var baseURL: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)" }

  /// - Parameter tls: The server certificate to speak HTTPS with; nil for plain HTTP.
  init(
    port: UInt16, tls: TLSServerContext?, authority: TokenAuthority, checks: OAuthChecks,
    threads: ServerThreads, api: GmailAPIEndpoint, log: (@Sendable (String) -> Void)?
  ) throws(TransportError) {
    self.api = api
    self.listener = try TCPListener(host: "127.0.0.1", port: port)
    self.tls = tls
    self.authority = authority
    self.checks = checks
    self.threads = threads
    self.log = log
  }

  /// Starts the accept loop.
  func start() {
    threads.spawn("token-endpoint-accept") { [self] in
      while let connection = try? listener.accept(connectionTimeout: .milliseconds(200)) {
        threads.spawn("token-endpoint-request") { [self] in serve(connection) }
      }
    }
  }

  /// Stops accepting; the caller joins the threads.
  func stop() {
    listener.close()
  }

  // MARK: - One request

  struct Request {
    var method: String
    var path: String
    var query: [String: String]
    var form: [String: String]
    /// Header fields, names lowercased (the last one of a name wins).
    var headers: [String: String] = [:]
    /// The body as received (the Gmail API's uploads).
    var body: [UInt8] = []
  }

  struct Response {
    var status: Int
    var reason: String
    var headers: [(String, String)] = []
    var body: [UInt8] = []
  }

  private func serve(_ connection: Connection) {
    defer { connection.close() }
    if let tls {
      let poll = connection.timeout
      connection.timeout = .seconds(10)
      do {
        try connection.startTLSServer(context: tls)
      } catch {
        log?("https handshake failed: \(error)")
        return
      }
      connection.timeout = poll
    }
    guard let request = read(connection) else {
      send(json(400, ["error": "invalid_request"]), on: connection)
      return
    }
    authority.count { $0.requests += 1 }
    let response: Response
    switch (request.method, request.path) {
    case ("GET", "/auth"):
      response = authorize(request)
    case ("POST", "/token"):
      if let failure = authority.behavior.failure {
        if failure == .hang {
          while !threads.isStopping { Thread.sleep(forTimeInterval: 0.05) }
          return
        }
        response = fail(failure, request)
      } else {
        response = token(request)
      }
    case (_, let path) where path.hasPrefix(GmailAPIEndpoint.pathPrefix):
      response = api.handle(request, baseURL: baseURL)
    case ("POST", "/revoke"):
      authority.count { $0.revocations += 1 }
      let token = request.form["token"] ?? request.query["token"] ?? ""
      response =
        authority.revoke(token)
        ? json(200, [:])
        : json(400, ["error": "invalid_token", "error_description": "Token expired or revoked"])
    default:
      response = json(404, ["error": "not_found"])
    }
    log?("http \(request.method) \(request.path) -> \(response.status)")
    send(response, on: connection)
  }

  private func authorize(_ request: Request) -> Response {
    authority.count { $0.authorizations += 1 }
    guard let redirect = request.query["redirect_uri"], !redirect.isEmpty else {
      return json(400, ["error": "invalid_request", "error_description": "Missing redirect_uri"])
    }
    if let refusal = checks.checkAuthorization(request.query) { return json(400, refusal) }
    let code = authority.issueCode(scope: request.query["scope"])
    checks.bind(code: code, query: request.query)
    var items = [
      ("code", code),
      ("scope", request.query["scope"] ?? "https://mail.google.com/"),
    ]
    if let state = request.query["state"] { items.insert(("state", state), at: 0) }
    let query = items.map { "\($0.0)=\(Self.percentEncode($0.1))" }.joined(separator: "&")
    let location = redirect + (redirect.contains("?") ? "&" : "?") + query
    return Response(status: 302, reason: "Found", headers: [("Location", location)])
  }

  private func token(_ request: Request) -> Response {
    let grant: TokenAuthority.Grant
    switch request.form["grant_type"] {
    case "refresh_token":
      authority.count { $0.refreshGrants += 1 }
      grant = authority.refresh(request.form["refresh_token"] ?? "")
    case "authorization_code":
      authority.count { $0.authorizationCodeGrants += 1 }
      if let refusal = checks.checkExchange(request.form) { return json(400, refusal) }
      grant = authority.exchange(request.form["code"] ?? "")
    case "urn:ietf:params:oauth:grant-type:jwt-bearer":
      switch checks.checkAssertion(request.form["assertion"] ?? "", audience: tokenURL) {
      case .failure(let refusal): return json(400, refusal)
      case .success(let (subject, scope)):
        let access = "ya29.c.test-" + TokenAuthority.randomToken(40)
        let lifetime = authority.behavior.expiresIn
        authority.addAccessToken(access, scope: scope)
        checks.bind(accessToken: access, subject: subject, lifetime: lifetime)
        grant = .issued(access: access, refresh: nil, expiresIn: lifetime, scope: scope)
      }
    case let other:
      return json(
        400,
        [
          "error": "unsupported_grant_type",
          "error_description": "Invalid grant_type: \(other ?? "")",
        ])
    }
    switch grant {
    case .invalidGrant:
      return json(
        400, ["error": "invalid_grant", "error_description": "Token has been expired or revoked."])
    case .issued(let access, let refresh, let expiresIn, let scope):
      var body: [String: Any] = [
        "access_token": access, "expires_in": expiresIn, "scope": scope,
        "token_type": "Bearer",
      ]
      if let refresh { body["refresh_token"] = refresh }
      return json(200, body)
    }
  }

  private func fail(_ failure: TokenEndpointBehavior.Failure, _ request: Request) -> Response {
    switch failure {
    case .invalidGrant:
      return json(
        400, ["error": "invalid_grant", "error_description": "Token has been expired or revoked."])
    case .serverError:
      return json(500, ["error": "internal_failure", "error_description": "Backend Error"])
    case .unavailable:
      return json(
        503, ["error": "temporarily_unavailable", "error_description": "Try again later"])
    case .nonJSON, .hang:
      return Response(
        status: 200, reason: "OK", headers: [("Content-Type", "text/html; charset=utf-8")],
        body: Array("<html><body>Sign in to the network</body></html>".utf8))
    }
  }

  /// The URL of `POST /token`: what an assertion's `aud` must be.
  private var tokenURL: String { baseURL + "/token" }

  private func json(_ status: Int, _ refusal: OAuthRefusal) -> Response {
    json(status, ["error": refusal.error, "error_description": refusal.description])
  }

  private func json(_ status: Int, _ object: [String: Any]) -> Response {
    let body =
      (try? JSONSerialization.data(
        withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    let reason =
      switch status {
      case 200: "OK"
      case 400: "Bad Request"
      case 404: "Not Found"
      case 500: "Internal Server Error"
      default: "Service Unavailable"
      }
    return Response(
      status: status, reason: reason,
      headers: [
        ("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store"),
      ],
      body: Array(body))
  }

  private func send(_ response: Response, on connection: Connection) {
    var head = "HTTP/1.1 \(response.status) \(response.reason)\r\n"
    for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
    head += "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
    try? connection.write(Array(head.utf8) + response.body)
  }

  // MARK: - Parsing

  private static let maxRequestSize = 65_536
  /// The largest upload the API side takes (Gmail's limit is 35 MB).
  private static let maxUploadSize = 64 << 20

  /// Reads one request: head up to CRLFCRLF, then `Content-Length` bytes of body.
  private func read(_ connection: Connection) -> Request? {
    var buffer: [UInt8] = []
    var headEnd: Int?
    var waited = 0
    while true {
      if headEnd == nil, let end = Self.find([13, 10, 13, 10], in: buffer) { headEnd = end }
      if let headEnd {
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        return parse(head: head, body: buffer[(headEnd + 4)...], connection: connection)
      }
      guard buffer.count < Self.maxRequestSize else { return nil }
      do {
        if try connection.read(into: &buffer) == 0 { return nil }
      } catch .timedOut {
        waited += 1
        if threads.isStopping || waited > 50 { return nil }
      } catch {
        return nil
      }
    }
  }

  private func parse(head: String, body: ArraySlice<UInt8>, connection: Connection) -> Request? {
    let lines = head.components(separatedBy: "\r\n")
    let parts = lines[0].split(separator: " ")
    guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else { return nil }
    let limit = parts[1].hasPrefix(GmailAPIEndpoint.pathPrefix) ? Self.maxUploadSize : Self.maxRequestSize
    var length = 0
    var headers: [String: String] = [:]
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { return nil }
      let name = line[..<colon].lowercased()
      let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      headers[name] = value
      if name == "content-length" {
        guard let number = Int(value), number >= 0, number <= limit else { return nil }
        length = number
      }
    }
    var bodyBytes = Array(body)
    var waited = 0
    while bodyBytes.count < length {
      do {
        if try connection.read(into: &bodyBytes) == 0 { return nil }
      } catch .timedOut {
        waited += 1
        if threads.isStopping || waited > 50 { return nil }
      } catch {
        return nil
      }
    }
    let target = String(parts[1])
    let path: String
    var query: [String: String] = [:]
    if let mark = target.firstIndex(of: "?") {
      path = String(target[..<mark])
      query = Self.formDecode(String(target[target.index(after: mark)...]))
    } else {
      path = target
    }
    if bodyBytes.count > length { bodyBytes.removeLast(bodyBytes.count - length) }
    let isUpload = path.hasPrefix(GmailAPIEndpoint.pathPrefix)
    let form = isUpload ? [:] : Self.formDecode(String(decoding: bodyBytes, as: UTF8.self))
    return Request(
      method: String(parts[0]), path: path, query: query, form: form, headers: headers,
      body: isUpload ? bodyBytes : [])
  }

  private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for start in 0...(haystack.count - needle.count)
    where haystack[start..<start + needle.count].elementsEqual(needle) {
      return start
    }
    return nil
  }

  /// `application/x-www-form-urlencoded` (and query strings): `+` is a space.
  static func formDecode(_ text: String) -> [String: String] {
    var out: [String: String] = [:]
    for pair in text.split(separator: "&") {
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      let decode = { (part: Substring) in
        part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
      }
      out[decode(parts[0])] = parts.count == 2 ? decode(parts[1]) : ""
    }
    return out
  }

  static func percentEncode(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
  }
}
