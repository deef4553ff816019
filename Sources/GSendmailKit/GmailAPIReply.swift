// SPDX-License-Identifier: MIT
// What a reply of the Gmail API's users.messages.send means for a delivery: the sent
// message's id, or an outcome of the exit-code table with what Google said. Google's
// error body is `{"error":{"code":403,"message":"…","errors":[{"reason":"…",…}],
// "status":"PERMISSION_DENIED"}}` (https://developers.google.com/gmail/api/guides/handle-errors).
// Pure: status and body in, outcome out.

import Codecs
import GSendmailCore
import OAuth2
import SMTPCore

/// A reply of the Gmail API that refused the message: what Google said, and what it
/// means. The text is made in DeliveryFailure+Text.swift.
public struct GmailAPIRefusal: Equatable, Sendable {
  /// What the reply means.
  public enum Verdict: Equatable, Sendable {
    /// 2xx without a message id.
    case noMessageID
    /// One of Gmail's sending or rate limits.
    case limit(SendingLimit)
    /// 401: the access token was refused.
    case tokenRefused
    /// 403: the token lacks this scope.
    case missingScope(String)
    /// 403 `domainPolicy`: the domain's administrator does not allow the app.
    case domainPolicy
    /// Another 403: most often the Gmail API not enabled in the project.
    case forbidden
    /// Anything else.
    case refused
  }

  /// The HTTP status.
  public var status: Int
  /// The first `errors[].reason`, else Google's `status`, when the body had one.
  public var reason: String?
  /// Google's message on one line (empty when there was none).
  public var message: String
  public var verdict: Verdict
  /// The account, for the advice.
  public var account: String
}

/// The meaning of one reply to an upload.
enum GmailAPIOutcome: Equatable {
  /// 200: sent; the message id Gmail gave it.
  case sent(id: String)
  /// 401: the access token was refused (refresh it and try once more).
  case invalidCredentials(GmailAPIRefusal)
  /// The account cannot send this way until someone acts (`gsendmailctl login`, the Admin
  /// console): an authentication failure.
  case authentication(GmailAPIRefusal)
  /// 429 and the 403 limit reasons: Gmail's sending or rate limits.
  case rateLimited(SendingLimit, GmailAPIRefusal)
  /// 5xx and anything else worth another try later.
  case temporary(GmailAPIRefusal)
  /// 400 `invalidArgument`/`badRequest`, 413: the message itself is refused (65).
  case badMessage(GmailAPIRefusal)
  /// Any other permanent refusal (69).
  case rejected(GmailAPIRefusal)

  /// Classifies a reply.
  /// - Parameter scope: The scope the account's token is asked with, for the message of a
  ///   scope refusal.
  static func classify(status: Int, body: [UInt8], account: String, scope: String) -> GmailAPIOutcome {
    let json = try? JSON.parse(body, maximumBytes: 64 * 1024)
    if status / 100 == 2 {
      guard let id = json?["id"]?.stringValue, !id.isEmpty else {
        return .temporary(
          GmailAPIRefusal(status: status, reason: nil, message: "", verdict: .noMessageID, account: account))
      }
      return .sent(id: id)
    }
    let error = json?["error"]
    let message = (error?["message"]?.stringValue).map(oneLine) ?? ""
    var reasons: [String] = []
    if case .array(let items)? = error?["errors"] {
      reasons = items.compactMap { $0["reason"]?.stringValue }
    }
    let googleStatus = error?["status"]?.stringValue
    func refusal(_ verdict: GmailAPIRefusal.Verdict) -> GmailAPIRefusal {
      GmailAPIRefusal(
        status: status, reason: reasons.first ?? googleStatus, message: message, verdict: verdict, account: account)
    }
    // Google's limits (https://developers.google.com/gmail/api/guides/handle-errors).
    let limit =
      status == 429
      ? SendingLimit.named(httpStatus: 429, reason: reasons.first)
      : reasons.lazy.compactMap { SendingLimit.named(httpStatus: status, reason: $0) }.first
    if let limit { return .rateLimited(limit, refusal(.limit(limit))) }
    switch status {
    case 401:
      return .invalidCredentials(refusal(.tokenRefused))
    case 403 where reasons.contains("insufficientPermissions") || googleStatus == "PERMISSION_DENIED" && reasons.isEmpty:
      return .authentication(refusal(.missingScope(scope)))
    case 403 where reasons.contains("domainPolicy"):
      return .rejected(refusal(.domainPolicy))
    case 403:
      return .authentication(refusal(.forbidden))
    case 400 where reasons.contains("failedPrecondition") || googleStatus == "FAILED_PRECONDITION":
      return .rejected(refusal(.refused))
    case 400, 413:
      return .badMessage(refusal(.refused))
    case 408, 500...599:
      return .temporary(refusal(.refused))
    default:
      return .rejected(refusal(.refused))
    }
  }

  /// Google's message on one line, at most 300 characters.
  private static func oneLine(_ text: String) -> String {
    let flat = String(text.map { $0.isNewline || $0 == "\t" ? " " : $0 })
    return flat.count > 300 ? String(flat.prefix(300)) + "…" : flat
  }
}
