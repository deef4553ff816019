// SPDX-License-Identifier: MIT
// `gsendmailctl config check`.
import ArgumentParser
import GSendmailCore
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
        let environment = Environment.current()
        let config = try ConfigLocator.load(configFile: global.configFile, environment: environment)
        print(config.resolvedDescription, terminator: "")
        // What sending would refuse is an error here too.
        let problems = config.secretFileProblems(environment: environment)
        for problem in problems.dropLast() { FileDescriptorSink(fd: 2).write("gsendmailctl: \(errorText(problem))\n") }
        if let last = problems.last { throw last }
      }
    }
  }
}
