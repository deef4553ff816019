// SPDX-License-Identifier: MIT
// The Gmail API's users.messages.send upload endpoints, served by the token endpoint's
// HTTP server (https://developers.google.com/gmail/api/guides/uploads):
//   POST /upload/gmail/v1/users/{me|user}/messages/send?uploadType=media   (the message)
//   POST …?uploadType=resumable  (X-Upload-Content-Length; empty body) → 200 + Location
//   PUT  the Location            (the whole message, or chunks with Content-Range; 308 +
//                                 Range until the last one)
// The bearer token is checked against those the token authority issued: unknown or
// expired → 401, a scope users.messages.send does not accept → 403
// insufficientPermissions, a service account's token for another user → 403. The
// recipients are those Gmail derives (To, Cc, Bcc); none → 400. A message is recorded
// like an SMTP one (route "api", the bytes as uploaded). `api-error` scenarios play
// Google's error replies.
// Failure policy: a malformed request gets a 400 JSON error; nothing here crashes.

import Foundation
import MessageCore
import Synchronization

/// The upload side of the fake Gmail API.
final class GmailAPIEndpoint: Sendable {
  /// Every path of the API starts so.
  static let pathPrefix = "/upload/gmail/v1/users/"

  private struct Session {
    var user: String
    var token: String
    var length: Int
    var received: [UInt8] = []
  }

  private struct State {
    var sessions: [String: Session] = [:]
    /// How many times each `api-error` scenario (by index) has been played.
    var played: [Int: Int] = [:]
    var uploads = 0
  }

  private let authority: TokenAuthority
  private let checks: OAuthChecks
  private let records: RecordStore
  private let scenarios: [GmailScenario]
  private let maxMessageSize: Int
  private let state = Mutex(State())

  init(authority: TokenAuthority, checks: OAuthChecks, records: RecordStore, scenarios: [GmailScenario], maxMessageSize: Int) {
    self.authority = authority
    self.checks = checks
    self.records = records
    self.scenarios = scenarios
    self.maxMessageSize = maxMessageSize
  }

  /// Requests that reached the API (each POST and PUT).
  var uploads: Int { state.withLock { $0.uploads } }

  typealias Request = TokenEndpoint.Request
  typealias Response = TokenEndpoint.Response

  func handle(_ request: Request, baseURL: String) -> Response {
    state.withLock { $0.uploads += 1 }
    let rest = request.path.dropFirst(Self.pathPrefix.count)
    let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[1] == "messages", parts[2] == "send", !parts[0].isEmpty,
      let user = String(parts[0]).removingPercentEncoding
    else { return error(404, "notFound", "Requested entity was not found.", status: "NOT_FOUND") }
    switch (request.method, request.query["uploadType"]) {
    case ("PUT", _) where request.query["upload_id"] != nil:
      return resume(request, id: request.query["upload_id"] ?? "")
    case ("POST", "media"):
      if let refusal = authorize(request, user: user) { return refusal }
      guard request.headers["content-type"]?.lowercased().hasPrefix("message/") == true else {
        return error(400, "badContent", "Media type 'application/octet-stream' is not supported.", status: "INVALID_ARGUMENT")
      }
      return deliver(request.body, user: user)
    case ("POST", "resumable"):
      if let refusal = authorize(request, user: user) { return refusal }
      guard let length = request.headers["x-upload-content-length"].flatMap({ Int($0) }), length > 0 else {
        return error(400, "badRequest", "X-Upload-Content-Length is required.", status: "INVALID_ARGUMENT")
      }
      guard length <= maxMessageSize else {
        return error(413, "uploadTooLarge", "Request Entity Too Large", status: "INVALID_ARGUMENT")
      }
      let id = "AEnB2U" + TokenAuthority.randomToken(40)
      let token = Self.bearer(request) ?? ""
      state.withLock { $0.sessions[id] = Session(user: user, token: token, length: length) }
      let location = "\(baseURL)\(request.path)?uploadType=resumable&upload_id=\(id)"
      return Response(status: 200, reason: "OK", headers: [("Location", location), ("Content-Length", "0")])
    default:
      return error(400, "badRequest", "Invalid upload request.", status: "INVALID_ARGUMENT")
    }
  }

  /// A PUT to a session URI: the whole message, or one chunk of it.
  private func resume(_ request: Request, id: String) -> Response {
    enum Step {
      case missing
      case incomplete(Int)
      case complete(Session)
      case bad(String)
    }
    let step: Step = state.withLock { state in
      guard var session = state.sessions[id] else { return .missing }
      if let range = request.headers["content-range"] {
        // bytes a-b/N
        let spec = range.replacingOccurrences(of: "bytes ", with: "")
        let pieces = spec.split(whereSeparator: { $0 == "-" || $0 == "/" }).compactMap { Int($0) }
        guard pieces.count == 3, pieces[0] == session.received.count, pieces[1] - pieces[0] + 1 == request.body.count,
          pieces[2] == session.length
        else { return .bad("Content-Range \(range) does not continue the upload") }
      } else if request.body.count != session.length {
        return .bad("the body is not X-Upload-Content-Length bytes")
      }
      session.received += request.body
      if session.received.count < session.length {
        state.sessions[id] = session
        return .incomplete(session.received.count)
      }
      state.sessions[id] = nil
      return .complete(session)
    }
    switch step {
    case .missing: return error(404, "notFound", "No such upload session.", status: "NOT_FOUND")
    case .bad(let why): return error(400, "badRequest", why, status: "INVALID_ARGUMENT")
    case .incomplete(let count):
      return Response(status: 308, reason: "Resume Incomplete", headers: [("Range", "bytes=0-\(count - 1)")])
    case .complete(let session):
      guard authority.isValidAccessToken(session.token) else { return invalidCredentials() }
      return deliver(session.received, user: session.user)
    }
  }

  /// The token checks of Google: valid, scoped for send, and (a service account's) for this user.
  private func authorize(_ request: Request, user: String) -> Response? {
    if let played = play(phase: .auth) { return played }
    guard let token = Self.bearer(request), authority.isValidAccessToken(token) else { return invalidCredentials() }
    guard authority.allowsSend(token) else {
      return error(
        403, "insufficientPermissions", "Request had insufficient authentication scopes.", status: "PERMISSION_DENIED")
    }
    guard user == "me" || checks.permits(token: token, user: user) else {
      return error(403, "forbidden", "Delegation denied for \(user)", status: "PERMISSION_DENIED")
    }
    return nil
  }

  /// Sends the message: recipients from To, Cc and Bcc, recorded as Gmail would deliver it.
  private func deliver(_ data: [UInt8], user: String) -> Response {
    if let played = play(phase: .send) { return played }
    guard data.count <= maxMessageSize else {
      return error(413, "uploadTooLarge", "Request Entity Too Large", status: "INVALID_ARGUMENT")
    }
    var scanner = MessageScanner(options: .init(dotTerminates: false, maxMessageBytes: maxMessageSize))
    let recipients: [String]
    let from: String
    do {
      try scanner.push(data)
      let fields = try scanner.finish().fields
      recipients = try Self.recipients(fields)
      from = fields.first { $0.hasName("From") }
        .flatMap { try? AddressParser.parseAddressList($0.rawValue).flatMap(\.mailboxes).first?.addrSpec } ?? user
    } catch {
      return Self.error(400, "invalidArgument", "Invalid To header", status: "INVALID_ARGUMENT")
    }
    guard !recipients.isEmpty else {
      return error(400, "invalidArgument", "Recipient address required", status: "INVALID_ARGUMENT")
    }
    let id = String(format: "18%014llx", UInt64.random(in: 0..<(1 << 56)))
    _ = records.addMessage(
      { number in
        MessageRecord(
          number: number, session: 0, mailFrom: from, mailParameters: [], recipients: recipients, helloName: nil,
          tls: true, authMechanism: "API", authUser: user, size: data.count, replyCode: 200, file: nil, route: "api",
          apiMessageID: id)
      }, data: data)
    let body = #"{"id":"\#(id)","threadId":"\#(id)","labelIds":["SENT"]}"#
    return Response(
      status: 200, reason: "OK", headers: [("Content-Type", "application/json; charset=UTF-8")], body: Array(body.utf8))
  }

  /// To, Cc and Bcc, without duplicates (case-insensitive), in order.
  static func recipients(_ fields: [HeaderField]) throws -> [String] {
    var out: [String] = []
    var seen: Set<String> = []
    for field in fields where ["To", "Cc", "Bcc"].contains(where: field.hasName) {
      for mailbox in try AddressParser.parseAddressList(field.rawValue).flatMap(\.mailboxes) {
        guard !mailbox.isLocal else { throw AddressError.badDomain(near: mailbox.localPart) }
        if seen.insert(mailbox.addrSpec.lowercased()).inserted { out.append(mailbox.addrSpec) }
      }
    }
    return out
  }

  private enum Phase { case auth, send }

  /// The reply of the first `api-error` scenario due at this phase (401 at the token
  /// check, the others when the message would be sent), counting its plays.
  private func play(phase: Phase) -> Response? {
    for (index, scenario) in scenarios.enumerated() {
      guard case .apiError(let status, let reason, let times) = scenario, (status == 401) == (phase == .auth) else {
        continue
      }
      let due = state.withLock { state -> Bool in
        let count = state.played[index, default: 0]
        if let times, count >= times { return false }
        state.played[index] = count + 1
        return true
      }
      guard due else { continue }
      return Self.errorReply(status: status, reason: reason)
    }
    return nil
  }

  /// Google's error for a status and reason.
  static func errorReply(status: Int, reason: String?) -> Response {
    switch (status, reason) {
    case (401, _): return invalidCredentials()
    case (429, let r):
      return error(429, r ?? "rateLimitExceeded", "Too many concurrent requests for user.", status: "RESOURCE_EXHAUSTED")
    case (403, let r):
      let reason = r ?? "userRateLimitExceeded"
      let message =
        switch reason {
        case "dailyLimitExceeded": "Daily Limit Exceeded"
        case "insufficientPermissions": "Request had insufficient authentication scopes."
        case "domainPolicy": "The domain administrators have disabled Gmail apps."
        default: "User-rate limit exceeded."
        }
      return error(403, reason, message, status: "PERMISSION_DENIED")
    case (400, let r):
      let reason = r ?? "invalidArgument"
      return error(
        400, reason, reason == "failedPrecondition" ? "Precondition check failed." : "Invalid To header",
        status: reason == "failedPrecondition" ? "FAILED_PRECONDITION" : "INVALID_ARGUMENT")
    default:
      return error(status, reason ?? "backendError", "Backend Error", status: "UNAVAILABLE")
    }
  }

  private static func invalidCredentials() -> Response {
    var response = error(401, "authError", "Invalid Credentials", status: "UNAUTHENTICATED")
    response.headers.append(("WWW-Authenticate", #"Bearer realm="https://accounts.google.com/""#))
    return response
  }

  private func invalidCredentials() -> Response { Self.invalidCredentials() }

  private func error(_ code: Int, _ reason: String, _ message: String, status: String) -> Response {
    Self.error(code, reason, message, status: status)
  }

  /// `{"error":{"code":…,"message":…,"errors":[{"message":…,"domain":"global","reason":…}],"status":…}}`.
  static func error(_ code: Int, _ reason: String, _ message: String, status: String) -> Response {
    let object: [String: Any] = [
      "error": [
        "code": code, "message": message,
        "errors": [["message": message, "domain": "global", "reason": reason]], "status": status,
      ] as [String: Any]
    ]
    let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return Response(
      status: code, reason: code == 429 ? "Too Many Requests" : "Error",
      headers: [("Content-Type", "application/json; charset=UTF-8")], body: Array(body))
  }

  private static func bearer(_ request: Request) -> String? {
    guard let value = request.headers["authorization"], value.hasPrefix("Bearer ") else { return nil }
    return String(value.dropFirst(7))
  }
}
