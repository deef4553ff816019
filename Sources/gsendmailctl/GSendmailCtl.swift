// SPDX-License-Identifier: MIT
// gsendmailctl: management commands. Each subcommand is thin; the work is in
// GSendmailKit, and errors map to exit codes through ExitStatus.
import ArgumentParser
import GSendmailCore
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
    subcommands: [Login.self, Logout.self, Status.self, DoctorCommand.self, Queue.self, Config.self])

  /// No subcommand: the usage on standard error and exit 64 (EX_USAGE), as for any other
  /// command line that says nothing to do.
  func run() throws {
    FileDescriptorSink(fd: 2).write(Self.helpMessage() + "\n")
    throw ExitCode(SysExit.usage.rawValue)
  }
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
    FileDescriptorSink(fd: 2).write("gsendmailctl: \(errorText(error))\n")
    throw ExitCode(ExitStatus.code(for: error).rawValue)
  }
}

