// SPDX-License-Identifier: MIT
// `gsendmailctl config check`.
import ArgumentParser
import GSendmailKit

struct Config: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Inspect the configuration.", subcommands: [Check.self])

  struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Validate the configuration and print it resolved, secrets masked.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
      try runMapped {
        let config = try ConfigLocator.load(configFile: global.configFile, environment: .current())
        print(config.resolvedDescription, terminator: "")
      }
    }
  }
}
