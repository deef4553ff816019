// SPDX-License-Identifier: MIT
// gsendmailctl: management commands. Each subcommand is thin; the work is in
// GSendmailKit, and errors map to exit codes through ExitStatus.
import ArgumentParser
import GSendmailKit

#if canImport(Glibc)
import Glibc
#endif

@main
struct GSendmailCtl: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gsendmailctl",
    abstract: "Manage gsendmail: configuration, accounts and tokens, the queue.",
    version: "gsendmail \(gsendmailVersion)",
    subcommands: [Config.self, DoctorCommand.self])
}

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
  @Option(name: [.customShort("C"), .customLong("config")], help: "Use this config file.")
  var configFile: String?
}

/// Runs a body, printing `gsendmailctl: ERROR` and exiting with gsendmail's code on failure.
func runMapped(_ body: () throws -> Void) throws {
  do {
    try body()
  } catch {
    FileDescriptorSink(fd: 2).write("gsendmailctl: \(error)\n")
    throw ExitCode(ExitStatus.code(for: error).rawValue)
  }
}

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
