// SPDX-License-Identifier: MIT
// `gsendmailctl config check`.
import ArgumentParser
import GSendmailAdmin
import GSendmailCore
import GSendmailKit
import TokenStore

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
        // An OAuth client file that is not there yet: sending waits for it and for a login.
        for account in config.accounts {
          guard let missing = account.missingClientSecretFile else { continue }
          FileDescriptorSink(fd: 2).write(
            "gsendmailctl: warning: [account.\(account.name)] client_secret_file \(missing) does not exist; "
              + "gsendmailctl login \(account.name) prints how to create it\n")
        }
        // A system account whose files group gsendmail cannot use works for root only.
        if config.isSystem {
          let doctor = Doctor(environment: environment)
          for account in config.accounts {
            guard let check = doctor.systemAccessCheck(account, config: config), check.status != .ok else { continue }
            FileDescriptorSink(fd: 2).write(
              "gsendmailctl: warning: [account.\(account.name)] \(check.detail)"
                + (check.fix.map { "; fix: \($0)" } ?? "") + "\n")
          }
        }
        // The scope each OAuth account's cached token was granted (what the token endpoint said).
        let tokens = config.tokenStore(environment: environment)
        for account in config.accounts where account.auth == .oauth || account.auth == .serviceAccount {
          print("# [account.\(account.name)] granted scope: \(tokens.grantedScope(account: account.name) ?? "none recorded")")
        }
        // What sending would refuse is an error here too.
        let problems = config.secretFileProblems(environment: environment)
        for problem in problems.dropLast() { FileDescriptorSink(fd: 2).write("gsendmailctl: \(errorText(problem))\n") }
        if let last = problems.last { throw last }
      }
    }
  }
}
