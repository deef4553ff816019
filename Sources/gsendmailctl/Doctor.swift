// SPDX-License-Identifier: MIT
// `gsendmailctl doctor [ACCOUNT] [--send-test ADDRESS]`: runs GSendmailKit's Doctor and
// exits 0 when no check failed, 1 when one did (gsendmailctl(8)).
import ArgumentParser
import GSendmailAdmin
import GSendmailCore
import GSendmailKit

struct DoctorCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "doctor",
    abstract: "Check the configuration, credentials, connection and DNS records of the accounts.",
    discussion: "Each check prints ok, warn, fail or skip, with the fix. Exits 0 when no check failed, 1 otherwise.")

  @OptionGroup var global: GlobalOptions

  @Argument(help: "The account to check (default: every account).", completion: .custom(Completions.accounts))
  var account: String?

  @Option(name: .customLong("send-test"), help: ArgumentHelp("Also send a short test message to this address.", valueName: "address"))
  var sendTest: String?

  func run() throws {
    let doctor = Doctor(environment: .current(), configFile: global.configFile, accountName: account, sendTestTo: sendTest)
    let sections = doctor.run(output: FileDescriptorSink(fd: 1))
    if DoctorReport.failed(sections) { throw ExitCode(1) }
  }
}
