// SPDX-License-Identifier: MIT
// `gsendmailctl queue list|flush|show|delete|retry`.
import ArgumentParser
import GSendmailAdmin
import GSendmailCore
import GSendmailKit

struct Queue: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Inspect and run the queue.",
    subcommands: [List.self, Flush.self, Show.self, Delete.self, Retry.self])

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the queue as mailq does, or failed/ with --failed.")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "List the messages kept in failed/.") var failed = false
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
      try runMapped {
        print(try Control(configFile: global.configFile).queueList(failed: failed, json: json), terminator: "")
      }
    }
  }

  struct Flush: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send what is due, as gsendmail -q does.")
    @OptionGroup var global: GlobalOptions
    @Flag(name: .shortAndLong, help: "Print the SMTP dialogue, secrets redacted.") var verbose = false

    func run() throws {
      try runMapped {
        try Control(configFile: global.configFile).queueFlush(verbose: verbose, stderr: FileDescriptorSink(fd: 2))
      }
    }
  }

  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print an entry: envelope, state, last error, message.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The queue ID.") var id: String

    func run() throws {
      try runMapped { FileDescriptorSink(fd: 1).write(try Control(configFile: global.configFile).queueShow(id)) }
    }
  }

  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete an entry from the queue or from failed/.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The queue ID.") var id: String

    func run() throws {
      try runMapped { try Control(configFile: global.configFile).queueDelete(id) }
    }
  }

  struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Make an entry due now (back from failed/ if it is there) and try to send it.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The queue ID.") var id: String
    @Flag(name: .shortAndLong, help: "Print the SMTP dialogue, secrets redacted.") var verbose = false

    func run() throws {
      try runMapped {
        try Control(configFile: global.configFile).queueRetry(id, verbose: verbose, stderr: FileDescriptorSink(fd: 2))
      }
    }
  }
}
