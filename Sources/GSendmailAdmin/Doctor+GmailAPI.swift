// SPDX-License-Identifier: MIT
// The doctor's checks of a route "gmail-api" account: the API host reached over HTTPS
// with a verified certificate (any HTTP answer will do; nothing is sent), the granted
// scope (gmail.send is all it needs; more is a warning), and the test message uploaded
// as delivery uploads it.

import GSendmailCore
import GSendmailKit
import HTTPClient
import OAuth2
import TokenStore

extension Doctor {
  /// `https` in place of the SMTP session's tcp, tls and smtp checks.
  func apiReachability(_ account: Account, config: Configuration) -> DoctorCheck {
    let client = HTTPClient(timeout: .seconds(config.timeout), caFile: account.tlsCAFile, userAgent: "gsendmail/\(gsendmailVersion)")
    do {
      let response = try client.get(url: account.apiURL + "/upload/gmail/v1/users/me/messages/send")
      return DoctorCheck("https", .ok, "\(account.apiURL) answered (HTTP \(response.status)) over verified TLS")
    } catch {
      return DoctorCheck(
        "https", .fail, "\(error)",
        fix: "this machine must reach \(account.apiURL) on its port (443 by default); check api_url and any firewall")
    }
  }

  /// What to say of a granted scope for a gmail-api account: nil when it is gmail.send alone.
  static func apiScopeCheck(_ account: Account, scope: String, detail: String) -> DoctorCheck? {
    let scopes = scope.split(separator: " ").map(String.init)
    let login = account.auth == .oauth
      ? "run gsendmailctl login \(account.name) (it asks for \(GoogleOAuth.gmailSendScope) alone)"
      : "in the Admin console (Security > API controls > Domain-wide delegation), give the service account's client ID the scope \(GoogleOAuth.gmailSendScope)"
    if !scopes.contains(GoogleOAuth.gmailSendScope) && !scopes.contains(GoogleOAuth.gmailScope) {
      return DoctorCheck("credentials", .fail, detail + ", without \(GoogleOAuth.gmailSendScope), which the Gmail API needs", fix: login)
    }
    if scopes.contains(where: { $0 != GoogleOAuth.gmailSendScope && $0 != "openid" && $0 != "email" }) {
      return DoctorCheck(
        "credentials", .warn, detail + ": more than the Gmail API route needs (gmail.send can send and nothing else)",
        fix: login)
    }
    return nil
  }

  /// For an SMTP account whose token carries `https://mail.google.com/`: a warning that the
  /// token opens the whole mailbox, and that the API route would send with gmail.send alone.
  func apiRouteAdvice(_ account: Account, config: Configuration) -> DoctorCheck? {
    guard account.route != .gmailAPI, account.auth == .oauth || account.auth == .serviceAccount,
      let scope = config.tokenStore(environment: environment).grantedScope(account: account.name),
      scope.split(separator: " ").contains(Substring(GoogleOAuth.gmailScope))
    else { return nil }
    return DoctorCheck(
      "scope", .warn,
      "the token's scope \(GoogleOAuth.gmailScope) (which SMTP needs) can read, change and delete the whole mailbox",
      fix: "route = \"gmail-api\" sends over HTTPS with \(GoogleOAuth.gmailSendScope) alone (see gsendmail.conf(5)); "
        + "then run gsendmailctl login \(account.name)")
  }

  /// Uploads the test message as delivery would.
  func apiSendTest(_ message: PreparedMessage, body: [UInt8], recipient: String, config: Configuration) -> DoctorCheck {
    var relay = ""
    do {
      let sent = try GmailAPIDelivery(environment: environment, config: config, transcript: nil)
        .send(message, body: MemoryByteSource(bytes: body), relay: &relay)
      return DoctorCheck("send-test", .ok, "sent from \(message.sender) to \(recipient) through the Gmail API; id \(sent.id)")
    } catch {
      return DoctorCheck("send-test", .fail, "not sent to \(recipient): \(errorText(error))")
    }
  }
}
