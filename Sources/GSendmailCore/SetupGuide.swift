// SPDX-License-Identifier: MIT
// What to tell someone setting an account up: where its secret files go and how to
// install them (per-user: private to the user; system: root:gsendmail 0640, so that
// the set-group-ID gsendmail reads them for every local user), the Google Cloud steps
// of an OAuth client, the app-password steps, and the Admin console entry of a
// service account. Texts only; docs/setup.md says the same at length.

import OAuth2

/// Advice for setting up accounts of one configuration.
public struct SetupGuide {
  /// Whether the configuration is the system one (`/etc/gsendmail/config.toml`).
  public var isSystem: Bool
  /// The configuration file.
  public var configPath: String

  public init(config: Configuration) {
    isSystem = config.isSystem
    configPath = config.path
  }

  /// The example configuration the package installs.
  public static let exampleConfig = "/usr/share/doc/gsendmail/examples/config.toml"
  /// What a user outside group `gsendmail` is told who needs the system account's files.
  public static let groupAccessHint = "run this as root (sudo), or add this user to group gsendmail"
  /// Where the mode-by-mode guide is installed.
  public static let setupDoc = "/usr/share/doc/gsendmail/setup.md"

  /// Where a secret file named `name` belongs.
  public func secretPath(_ name: String) -> String {
    isSystem ? "/etc/gsendmail/\(name)" : "~/.config/gsendmail/\(name)"
  }

  /// The shell lines that put `source` in place as the secret file `name`.
  public func installLines(from source: String, as name: String) -> [String] {
    if isSystem { return ["install -m 640 -o root -g gsendmail \(source) \(secretPath(name))"] }
    return ["mkdir -p ~/.config/gsendmail", "install -m 600 \(source) \(secretPath(name))"]
  }

  /// The fix for a secret file that the caller cannot read.
  /// - Parameters:
  ///   - uid: The caller's user id.
  ///   - userName: The caller's login name, for the `adduser` line.
  public func unreadableFix(_ path: String, uid: UInt32, userName: String) -> String {
    guard isSystem else { return "make it yours and private: chmod 600 \(path)" }
    if uid == 0 { return "let the gsendmail group read it: chown root:gsendmail \(path) && chmod 640 \(path)" }
    return Self.groupAccessHint + " (adduser \(userName) gsendmail)"
  }

  /// The Google Cloud steps for an OAuth client, and the config line that names it.
  /// - Parameter apiRoute: The account sends through the Gmail API (`gmail.send` alone, and
  ///   the Gmail API enabled), not SMTP (`https://mail.google.com/`, no API).
  public func oauthClientSteps(account: String, apiRoute: Bool = false) -> String {
    let scopeStep =
      apiRoute
      ? """
        3. APIs & Services > Library: enable the Gmail API. Data Access > Add or remove
           scopes: add \(GoogleOAuth.gmailSendScope) (a sensitive scope: it can
           send and nothing else).
      """
      : """
        3. Data Access > Add or remove scopes: add \(GoogleOAuth.gmailScope) by hand (a
           restricted scope; SMTP accepts no narrower one). Enable no API for SMTP.
      """
    var text = """
      Create a "Desktop app" OAuth client once (docs: \(Self.setupDoc)):

        1. Open https://console.cloud.google.com/ and create or choose a project.
        2. Google Auth Platform > Branding (OAuth consent screen): app name and your
           address; Audience: user type "External" (or "Internal" for a Workspace
           domain); while the app is in "Testing", add your address under Test users.
      \(scopeStep)
        4. Clients > Create client > Application type "Desktop app"; download its JSON.
        5. Store it readable only by gsendmail:

      """
    for line in installLines(from: "~/Downloads/client_secret_*.json", as: "client_secret.json") {
      text += "       \(line)\n"
    }
    text += """
        6. In \(configPath), under [account.\(account)], add:
             client_secret_file = "\(secretPath("client_secret.json"))"
        7. Run: \(isSystem ? "sudo " : "")gsendmailctl login \(account)

      While the app's publishing status is "Testing", Google expires the login after 7 days;
      set it to "In production" (Audience > Publish app) to avoid signing in every week.

      """
    return text
  }

  /// What to do about a password account whose password was refused.
  public static let appPasswordAdvice =
    "use an app password: turn on 2-Step Verification for the account, create one at "
    + "https://myaccount.google.com/apppasswords and put it in password_file (spaces as Google shows them are ignored)"

  /// Where a Workspace administrator lets a service account send as the domain's users.
  public static let delegationPlace =
    "Admin console > Security > Access and data control > API controls > Domain-wide delegation > Add new"
}
