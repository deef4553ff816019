// SPDX-License-Identifier: MIT
// Google's OAuth endpoints and the Gmail scope (reference/gmail.md §0, §6.1). Pure data.

/// Google's defaults; every one can be overridden by the configuration.
public enum GoogleOAuth {
  /// The authorization endpoint.
  public static let authorizationURL = "https://accounts.google.com/o/oauth2/v2/auth"
  /// The token endpoint (code exchange, refresh, jwt-bearer).
  public static let tokenURL = "https://oauth2.googleapis.com/token"
  /// The revocation endpoint (POST `token=…`).
  public static let revokeURL = "https://oauth2.googleapis.com/revoke"
  /// The only scope SMTP accepts (`gmail.send` is refused by smtp.gmail.com).
  public static let gmailScope = "https://mail.google.com/"
  /// Send only: the scope of the Gmail API route (`users.messages.send`).
  public static let gmailSendScope = "https://www.googleapis.com/auth/gmail.send"
}
