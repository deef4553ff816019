// SPDX-License-Identifier: MIT
// `gsendmailctl status`.
import ArgumentParser
import GSendmailAdmin
import GSendmailCore
import GSendmailKit

struct Status: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Accounts, route, authentication, token state and queue counts. Never prints a secret.")
  @OptionGroup var global: GlobalOptions
  @Argument(help: "Only this account.", completion: .custom(Completions.accounts)) var account: String?
  @Flag(help: "Print JSON.") var json = false

  func run() throws {
    try runMapped {
      print(try Control(configFile: global.configFile).status(account: account, json: json), terminator: "")
    }
  }
}
