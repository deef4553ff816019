// SPDX-License-Identifier: MIT
// The route `gmail-api`: a prepared message uploaded to the Gmail API's
// users.messages.send (https://developers.google.com/gmail/api/reference/rest/v1/users.messages/send)
// as message/rfc822, with an access token whose scope is gmail.send alone.
// The header is first made to name exactly the envelope recipients
// (APIRecipientReconciler): the API has no envelope. Messages up to 5 MB go in one
// request (uploadType=media); larger ones through a resumable session (the session is
// opened with a POST, the bytes follow in one PUT to the session URI). The bytes are
// pulled from the queue file as libcurl sends them: memory does not grow with the size.
// A refused token (401) is refreshed once and the upload tried once more.
// Failure policy: every outcome is a DeliveryFailure or a BadMessage, as for SMTP, so
// the queue treats both routes alike.

import GSendmailCore
import HTTPClient
import MailQueue
import MessageCore
import OAuth2
import TokenStore

package struct GmailAPIDelivery {
  package var environment: Environment
  package var config: Configuration
  package var transcript: ((String) -> Void)?
  /// The aliases, for local names the header gives (read only when there is one).
  package var aliases: () throws -> AliasTable

  package init(
    environment: Environment, config: Configuration, transcript: ((String) -> Void)?,
    aliases: (() throws -> AliasTable)? = nil
  ) {
    self.environment = environment
    self.config = config
    self.transcript = transcript
    self.aliases = aliases ?? { try config.loadAliases() }
  }

  /// The largest message sent with the simple upload; larger ones use a resumable session.
  static let simpleUploadLimit = 5 * 1024 * 1024

  /// What an upload achieved.
  package struct Sent {
    /// The id Gmail gave the sent message.
    package var id: String
    /// `host[ip]:port` for the log line.
    package var relay: String
  }

  /// Uploads one message.
  /// - Parameter relay: Set to `host[ip]:port` once the API answered.
  /// - Throws: `DeliveryFailure`, `BadMessage`, `ConfigError`.
  package func send(_ message: PreparedMessage, body: ByteSource, relay: inout String) throws -> Sent {
    let account = message.account
    let quotedPrintable = try isQuotedPrintable(message)
    let header = try uploadHeader(message, quotedPrintable: quotedPrintable)
    guard let chunks = body as? ChunkedBody else { preconditionFailure("the API route needs a body it can pull") }
    var length = header.count
    if quotedPrintable {
      let counter = UploadStream(header: [], chunks: try chunks.openChunks(), quotedPrintable: true)
      length += try counter.count()
    } else {
      length += message.body.normalizedByteCount
    }
    let credentials = Credentials(account: account, sender: message.sender, config: config, environment: environment)
    try credentials.checkSecretFiles()
    let client = HTTPClient(
      timeout: .seconds(config.timeout), caFile: account.tlsCAFile, userAgent: "gsendmail/\(gsendmailVersion)")
    let user = account.auth == .serviceAccount ? account.loginUser(sender: message.sender) : "me"
    let base = "\(account.apiURL)/upload/gmail/v1/users/\(Self.pathSegment(user))/messages/send"
    var forceRefresh = false
    while true {
      guard let token = try credentials.accessToken(forceRefresh: forceRefresh) else {
        throw DeliveryFailure(.authentication, .noAccessToken(account: account.name))
      }
      let stream = UploadStream(header: header, chunks: try chunks.openChunks(), quotedPrintable: quotedPrintable)
      let response = try upload(client: client, base: base, token: token, length: length, body: stream)
      relay = "\(account.host)[\(response.peerAddress ?? "?")]:\(response.peerPort ?? 443)"
      transcript?("API: HTTP \(response.status) from \(relay)")
      switch GmailAPIOutcome.classify(status: response.status, body: response.body, account: account.name, scope: account.oauthScope) {
      case .sent(let id):
        return Sent(id: id, relay: relay)
      case .invalidCredentials(let refusal):
        if forceRefresh { throw DeliveryFailure(.authentication, .gmailAPI(refusal)) }
        forceRefresh = true
      case .authentication(let refusal): throw DeliveryFailure(.authentication, .gmailAPI(refusal))
      // Gmail's limits: deferred with the queue's long backoff for limits.
      case .rateLimited(let limit, let refusal): throw DeliveryFailure(.limited(limit), .gmailAPI(refusal))
      case .temporary(let refusal): throw DeliveryFailure(.temporary, .gmailAPI(refusal))
      case .badMessage(let refusal): throw BadMessage("\(refusal)")
      case .rejected(let refusal): throw DeliveryFailure(.messageRejected(tooBig: false), .gmailAPI(refusal))
      }
    }
  }

  /// For an SMTP account whose token was granted a scope without `https://mail.google.com/`
  /// (a login made for the API route, gmail.send alone): the scope it has, which explains
  /// why SMTP refused it.
  static func scopeShortfall(_ account: Account, config: Configuration, environment: Environment)
    -> DeliveryFailure.ScopeShortfall?
  {
    guard account.auth == .oauth || account.auth == .serviceAccount,
      let scope = config.tokenStore(environment: environment).grantedScope(account: account.name),
      !scope.split(separator: " ").contains(Substring(GoogleOAuth.gmailScope))
    else { return nil }
    return DeliveryFailure.ScopeShortfall(account: account.name, granted: scope)
  }

  /// One upload: simple up to `simpleUploadLimit`, else a resumable session.
  private func upload(client: HTTPClient, base: String, token: String, length: Int, body: UploadStream) throws
    -> HTTPResponse
  {
    let authorization = HTTPHeader(name: "Authorization", value: "Bearer \(token)")
    let type = HTTPHeader(name: "Content-Type", value: "message/rfc822")
    let replyTimeout = Duration.seconds(config.timeout * 10)
    do {
      if length <= Self.simpleUploadLimit {
        transcript?("API: POST \(base)?uploadType=media (\(length) bytes)")
        return try client.upload(
          url: base + "?uploadType=media", method: "POST", headers: [authorization, type], length: length, body: body,
          replyTimeout: replyTimeout)
      }
      transcript?("API: POST \(base)?uploadType=resumable (\(length) bytes to follow)")
      let start = try client.upload(
        url: base + "?uploadType=resumable", method: "POST",
        headers: [
          authorization, HTTPHeader(name: "X-Upload-Content-Type", value: "message/rfc822"),
          HTTPHeader(name: "X-Upload-Content-Length", value: String(length)),
        ],
        length: 0, body: nil, replyTimeout: .seconds(config.timeout))
      guard start.status == 200 else { return start }
      guard let session = start.header("Location"), Self.sameOrigin(session, base) else {
        throw DeliveryFailure(.protocolViolation, .uploadSessionWithoutLocation)
      }
      transcript?("API: PUT the session URI (\(length) bytes)")
      // The session URI is the session's credential: the token is not sent again.
      return try client.upload(
        url: session, method: "PUT", headers: [type], length: length, body: body, replyTimeout: replyTimeout)
    } catch let error as HTTPError {
      if case .insecureURL = error { throw ConfigError.invalidValue(path: config.path, line: nil, key: "api_url", message: "\(error)") }
      throw DeliveryFailure(.temporary, .http(error))
    }
  }

  /// The prepared header (re-encoded when the body must go quoted-printable), made to
  /// name exactly the envelope recipients.
  /// - Throws: `BadMessage` when it cannot be.
  func uploadHeader(_ message: PreparedMessage, quotedPrintable: Bool) throws -> [UInt8] {
    let fields = quotedPrintable ? try Delivery.quotedPrintableFields(message.fields) : message.fields
    do {
      var resolved: [String: [String]] = [:]
      let names = try APIRecipientReconciler.localNames(in: fields)
      if !names.isEmpty {
        let submission = Submission(
          invocation: Invocation(), config: config, aliases: try aliases(), environment: environment)
        for name in names {
          resolved[name] = try? submission.resolvedRecipients(
            [Mailbox(localPart: name, domain: nil)], accountAddress: message.account.ownAddress(sender: message.sender))
        }
      }
      return try APIRecipientReconciler.reconcile(fields, envelope: message.recipients, localNames: resolved)
    } catch let refusal as APIRecipientReconciler.Refusal {
      throw BadMessage("not sent through the Gmail API: \(refusal)")
    }
  }

  /// Whether the body goes quoted-printable (lines over 998 octets); 8-bit data goes as it is.
  private func isQuotedPrintable(_ message: PreparedMessage) throws -> Bool {
    switch message.encoding(serverSupports8BitMIME: true) {
    case .refuse(let refusal): throw BadMessage(describeRefusal(refusal))
    case .quotedPrintable: return true
    case .sevenBit, .eightBitMIME: return false
    }
  }

  /// A path segment: unreserved characters and `@` as they are, the rest percent-encoded.
  static func pathSegment(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "@"):
        out.unicodeScalars.append(Unicode.Scalar(byte))
      default:
        let hex = Array("0123456789ABCDEF")
        out += "%\(hex[Int(byte >> 4)])\(hex[Int(byte & 15)])"
      }
    }
    return out
  }

  /// Whether `url` has the scheme, host and port of `base`: the bytes (and nothing of
  /// the account) go only where the API itself is.
  static func sameOrigin(_ url: String, _ base: String) -> Bool {
    func origin(_ u: String) -> String? {
      let lower = u.lowercased()
      let scheme: String
      if lower.hasPrefix("https://") {
        scheme = "https://"
      } else if lower.hasPrefix("http://") {
        scheme = "http://"
      } else {
        return nil
      }
      let authority = lower.dropFirst(scheme.count).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
      return scheme + String(authority)
    }
    guard let a = origin(url), let b = origin(base) else { return false }
    return a == b
  }
}

/// A body that can be read again from the start, piece by piece.
protocol ChunkedBody {
  /// A function returning the next piece, nil at the end.
  func openChunks() throws -> () throws -> [UInt8]?
}

extension EntryBody: ChunkedBody {
  func openChunks() throws -> () throws -> [UInt8]? {
    let reader = try store.openBody(of: entry, holding: lock)
    return { try reader.next() }
  }
}

extension MemoryByteSource: ChunkedBody {
  func openChunks() throws -> () throws -> [UInt8]? {
    var offset = 0
    let bytes = self.bytes
    return {
      guard offset < bytes.count else { return nil }
      let end = min(offset + 65536, bytes.count)
      defer { offset = end }
      return Array(bytes[offset..<end])
    }
  }
}

/// The header, then the body (optionally quoted-printable encoded) as libcurl asks for it.
final class UploadStream: UploadBody {
  private var pending: [UInt8]
  private var offset = 0
  private let next: () throws -> [UInt8]?
  private var encoder: QuotedPrintableEncoder?
  private var finished = false

  init(header: [UInt8], chunks: @escaping () throws -> [UInt8]?, quotedPrintable: Bool) {
    pending = header
    next = chunks
    encoder = quotedPrintable ? QuotedPrintableEncoder() : nil
  }

  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    while offset == pending.count {
      if finished { return 0 }
      if let chunk = try next() {
        pending = encoder?.push(chunk) ?? chunk
      } else {
        pending = encoder?.finish() ?? []
        finished = true
      }
      offset = 0
    }
    let n = min(buffer.count, pending.count - offset)
    guard let target = buffer.baseAddress else { return 0 }
    pending.withUnsafeBytes { source in
      if let base = source.baseAddress { target.copyMemory(from: base + offset, byteCount: n) }
    }
    offset += n
    return n
  }

  /// The number of bytes the stream produces (reads it to the end).
  func count() throws -> Int {
    var total = 0
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = try buffer.withUnsafeMutableBytes { try read(into: $0) }
      if n == 0 { return total }
      total += n
    }
  }
}
