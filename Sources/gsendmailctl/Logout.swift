// SPDX-License-Identifier: MIT
// `gsendmailctl logout [ACCOUNT]` (gsendmailctl(8)): revoke the refresh token, delete the cache.
// Failure policy: a failed revocation is reported but the cache is still deleted; file
// errors exit by kind.

import ArgumentParser
import GSendmailCore
import GSendmailKit
import TokenStore

struct Logout: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Revoke an account's OAuth tokens and delete them from the cache.")

  @OptionGroup var global: GlobalOptions

  @Argument(
    help: "The account (default: the configuration's default account).", completion: .custom(Completions.accounts))
  var account: String?

  func run() throws {
    try runTokenCommand {
      let env = Environment.current()
      let config = try ConfigLocator.load(configFile: global.configFile, environment: env)
      let account = try config.chooseForCommand(self.account)
      // Service-account tokens are not revocable by the key holder; only the cache goes.
      let revokeURL = account.auth == .oauth ? account.revokeURL : nil
      let outcome = try config.tokenStore(environment: env).logout(
        account: account.name, revokeURL: revokeURL)
      guard outcome.hadTokens else {
        print("Account '\(account.name)' has no cached tokens.")
        return
      }
      switch outcome.revocation {
      case .revoked: print("Revoked the token of account '\(account.name)' and deleted it.")
      case .alreadyInvalid:
        print("The token of account '\(account.name)' was already invalid; deleted it.")
      case .notAttempted: print("Deleted the cached token of account '\(account.name)'.")
      case .failed(let reason):
        print("Deleted the cached token of account '\(account.name)'.")
        printError(
          "gsendmailctl: could not revoke it (\(reason)); remove gsendmail's access at "
            + "https://myaccount.google.com/permissions")
      }
    }
  }
}
