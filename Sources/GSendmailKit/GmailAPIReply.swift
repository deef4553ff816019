// SPDX-License-Identifier: MIT
// What a reply of the Gmail API's users.messages.send means for a delivery: the sent
// message's id, or an outcome of the exit-code table with Google's own message. Google's
// error body is `{"error":{"code":403,"message":"…","errors":[{"reason":"…",…}],
// "status":"PERMISSION_DENIED"}}` (https://developers.google.com/gmail/api/guides/handle-errors).
// Pure: status and body in, outcome out.

import Codecs
import GSendmailCore
import OAuth2
import SMTPCore

/// The meaning of one reply to an upload.
enum GmailAPIOutcome: Equatable {
  /// 200: sent; the message id Gmail gave it.
  case sent(id: String)
  /// 401: the access token was refused (refresh it and try once more).
  case invalidCredentials(String)
  /// The account cannot send this way until someone acts (`gsendmailctl login`, the Admin
  /// console): an authentication failure.
  case authentication(String)
  /// 429 and the 403 limit reasons: Gmail's sending or rate limits.
  case rateLimited(SendingLimit, String)
  /// 5xx and anything else worth another try later.
  case temporary(String)
  /// 400 `invalidArgument`/`badRequest`, 413: the message itself is refused (65).
  case badMessage(String)
  /// Any other permanent refusal (69).
  case rejected(String)

  /// Classifies a reply.
  /// - Parameter scope: The scope the account's token is asked with, for the message of a
  ///   scope refusal.
  static func classify(status: Int, body: [UInt8], account: String, scope: String) -> GmailAPIOutcome {
    let json = try? JSON.parse(body, maximumBytes: 64 * 1024)
    if status / 100 == 2 {
      guard let id = json?["id"]?.stringValue, !id.isEmpty else {
        return .temporary("the Gmail API answered \(status) without a message id")
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
    var said = "HTTP \(status)"
    if let reason = reasons.first ?? googleStatus { said += " \(reason)" }
    if !message.isEmpty { said += ": \(message)" }
    let text = "the Gmail API refused the message (\(said))"
    // Google's limits (https://developers.google.com/gmail/api/guides/handle-errors).
    let limit =
      status == 429
      ? SendingLimit.named(httpStatus: 429, reason: reasons.first)
      : reasons.lazy.compactMap { SendingLimit.named(httpStatus: status, reason: $0) }.first
    if let limit {
      return .rateLimited(
        limit, "Gmail's sending \(limit == .daily ? "daily limit" : "rate limit") (\(said)); the message stays queued")
    }
    switch status {
    case 401:
      return .invalidCredentials("the Gmail API refused the access token (\(said)); run gsendmailctl login \(account)")
    case 403 where reasons.contains("insufficientPermissions") || googleStatus == "PERMISSION_DENIED" && reasons.isEmpty:
      return .authentication(
        "the account's token lacks the scope \(scope) (\(said)); run gsendmailctl login \(account)")
    case 403 where reasons.contains("domainPolicy"):
      return .rejected("\(text); the domain's administrator does not allow this app to use the Gmail API")
    case 403:
      return .authentication("\(text); check that the Gmail API is enabled in the project, then run gsendmailctl login \(account)")
    case 400 where reasons.contains("failedPrecondition") || googleStatus == "FAILED_PRECONDITION":
      return .rejected(text)
    case 400, 413:
      return .badMessage(text)
    case 408, 500...599:
      return .temporary(text)
    default:
      return .rejected(text)
    }
  }

  /// Google's message on one line, at most 300 characters.
  private static func oneLine(_ text: String) -> String {
    let flat = String(text.map { $0.isNewline || $0 == "\t" ? " " : $0 })
    return flat.count > 300 ? String(flat.prefix(300)) + "…" : flat
  }
}
