// SPDX-License-Identifier: MIT
// The resolved configuration as TOML text for `gsendmailctl config check`.
// Secrets (client_secret) are masked; paths to secret files are shown, never
// their content.

import Codecs

extension Configuration {
  /// The configuration with every default filled in, as TOML, secrets masked.
  public var resolvedDescription: String {
    var out = ["# \(path)"]
    func q(_ s: String) -> String {
      "\"" + s.replacingText("\\", with: "\\\\").replacingText("\"", with: "\\\"") + "\""
    }
    if let d = defaultAccount { out.append("default = \(q(d))") }
    if let a = aliasesFile { out.append("aliases = \(q(a))") }
    if let l = localRecipient { out.append("local_recipient = \(q(l))") }
    out.append("max_message_size = \(maxMessageSize)")
    out.append("queue = \(queue)")
    out.append("queue_lifetime = \(q("\(queueLifetime)s"))")
    out.append("failed_lifetime = \(q("\(failedLifetime)s"))")
    switch log {
    case .syslog: out.append("log = \"syslog\"")
    case .none: out.append("log = \"none\"")
    case .file(let p): out.append("log = \(q("file:" + p))")
    }
    out.append("timeout = \(q("\(timeout)s"))")
    out.append("delivery = \(deliversInBackground ? "\"background\"" : "\"interactive\"")")
    for a in accounts {
      out.append("")
      out.append("[account.\(a.name)]")
      out.append("from = \(q(a.from))")
      if let n = a.displayName { out.append("name = \(q(n))") }
      out.append("route = \(q(a.route.rawValue))")
      out.append("auth = \(q(a.auth.rawValue))")
      if a.route == .gmailAPI {
        out.append("api_url = \(q(a.apiURL))")
      } else {
        out.append("host = \(q(a.host))")
        out.append("port = \(a.port)")
        out.append("tls = \(q(a.tls.rawValue))")
      }
      if let f = a.tlsCAFile { out.append("tls_ca_file = \(q(f))") }
      if let h = a.helo, a.route != .gmailAPI { out.append("helo = \(q(h))") }
      if a.auth == .oauth || a.auth == .serviceAccount {
        if a.route != .gmailAPI { out.append("mechanism = \(q(a.mechanism.rawValue))") }
        out.append("token_url = \(q(a.tokenURL))")
        out.append("# token scope: \(a.oauthScope)")
      }
      if a.auth == .oauth {
        if let f = a.clientSecretFile { out.append("client_secret_file = \(q(f))") }
        if let c = a.clientID { out.append("client_id = \(q(c))") }
        if a.clientSecret != nil { out.append("client_secret = \"********\"") }
        out.append("auth_url = \(q(a.authURL))")
        out.append("revoke_url = \(q(a.revokeURL))")
      }
      if let f = a.serviceAccountFile { out.append("service_account_file = \(q(f))") }
      if a.auth != .none { out.append("user = \(q(a.user ?? (a.isPattern ? "(the envelope sender)" : a.from)))") }
      if let f = a.passwordFile { out.append("password_file = \(q(f))") }
      if let c = a.passwordCommand { out.append("password_command = \(q(c))") }
      if let n = a.maxMessagesPerDay { out.append("max_messages_per_day = \(n)") }
      if let n = a.maxRecipientsPerDay { out.append("max_recipients_per_day = \(n)") }
      if let n = a.maxMessagesPerMinute { out.append("max_messages_per_minute = \(n)") }
    }
    return out.joined(separator: "\n") + "\n"
  }
}
