// SPDX-License-Identifier: MIT
// `gsendmailctl status [ACCOUNT] [--json]` (SPEC §9): each account's route, auth and
// token state. Never prints a secret: only whether tokens exist and when the access
// token expires. (Queue counts are added by the queue's owner.)
// Failure policy: an unreadable cache is shown as such, not fatal.

import ArgumentParser
import GSendmailKit
import OAuth2
import TokenStore

struct Status: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show accounts, routes, authentication and token state.")

  @OptionGroup var global: GlobalOptions

  @Argument(help: "Only this account.")
  var account: String?

  @Flag(help: "Print JSON.")
  var json = false

  func run() throws {
    try runTokenCommand {
      let env = Environment.current()
      let config = try ConfigLocator.load(configFile: global.configFile, environment: env)
      let accounts =
        try account.map { name throws(ConfigError) in [try config.chooseForCommand(name)] }
        ?? config.accounts
      let store = config.tokenStore(environment: env)
      let now = env.now().seconds
      var objects: [JSONValue] = []
      for account in accounts {
        let token = Self.tokenState(account: account, store: store, now: now)
        if json {
          var members: [(key: String, value: JSONValue)] = [
            ("account", .string(account.name)), ("from", .string(account.from)),
            ("route", .string(account.route.rawValue)),
            ("host", .string("\(account.host):\(account.port)")),
            ("auth", .string(account.auth.rawValue)), ("token", .string(token.state)),
          ]
          if let expiry = token.expiresAt {
            members.append(("access_token_expires_at", .number(String(expiry))))
          }
          objects.append(.object(members))
        } else {
          print("\(account.name)\(config.defaultAccount == account.name ? " (default)" : "")")
          print("  from:  \(account.from)")
          print("  route: \(account.route.rawValue) (\(account.host):\(account.port))")
          print("  auth:  \(account.auth.rawValue)")
          print("  token: \(token.text)")
        }
      }
      if json { print(JSON.serialize(.array(objects))) }
    }
  }

  /// The token state: a short machine word, a sentence, and the expiry.
  static func tokenState(account: Account, store: TokenStore, now: Int)
    -> (state: String, text: String, expiresAt: Int?)
  {
    guard account.auth == .oauth || account.auth == .serviceAccount else {
      return ("not-used", "not used (auth = \(account.auth.rawValue))", nil)
    }
    switch store.status(account: account.name) {
    case .none:
      if account.auth == .serviceAccount {
        return ("none", "none cached yet (fetched on the first send)", nil)
      }
      return ("missing", "not logged in; run 'gsendmailctl login \(account.name)'", nil)
    case .unusable(let reason):
      return ("unusable", reason, nil)
    case .present(let hasRefresh, let valid, let expiresAt):
      let expiry = expiresAt.map { formatUTC($0) } ?? "unknown"
      if account.auth == .oauth && !hasRefresh {
        return ("missing", "no refresh token; run 'gsendmailctl login \(account.name)'", expiresAt)
      }
      let access =
        valid
        ? "access token valid until \(expiry)" : "access token expired (renewed on the next send)"
      return ("ok", (hasRefresh ? "refresh token present; " : "") + access, expiresAt)
    }
  }
}
