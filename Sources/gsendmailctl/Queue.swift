// SPDX-License-Identifier: MIT
// `gsendmailctl queue list|flush|show|delete|retry`.
import ArgumentParser
import GSendmailAdmin
import GSendmailCore
import GSendmailKit

#if canImport(Glibc)
import Glibc
#endif

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
        let control = try Control(configFile: global.configFile)
        try control.queueList(failed: failed, json: json, to: FileDescriptorSink(fd: 1), stderr: FileDescriptorSink(fd: 2))
      }
    }
  }

  struct Flush: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Try every queued message now, as gsendmail -q does (--due: only what is due).")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Only the messages whose retry time has come (the timer's run).") var due = false
    @Flag(name: .shortAndLong, help: "Print the SMTP dialogue, secrets redacted.") var verbose = false

    func run() throws {
      try runMapped {
        // The summary line is for a person at a terminal, not for the timer's journal.
        let summary: OutputSink? = isatty(1) == 1 ? FileDescriptorSink(fd: 1) : nil
        try Control(configFile: global.configFile).queueFlush(
          force: !due, verbose: verbose, stderr: FileDescriptorSink(fd: 2), summary: summary)
      }
    }
  }

  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print an entry: envelope, state, last error, message.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The queue ID.", completion: .custom(Completions.queueIDs)) var id: String

    func run() throws {
      try runMapped { FileDescriptorSink(fd: 1).write(try Control(configFile: global.configFile).queueShow(id)) }
    }
  }

  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete an entry from the queue or from failed/.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The queue ID.", completion: .custom(Completions.queueIDs)) var id: String

    func run() throws {
      try runMapped { try Control(configFile: global.configFile).queueDelete(id) }
    }
  }

  struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Make an entry due now (back from failed/ if it is there) and try to send it.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The queue ID.", completion: .custom(Completions.queueIDs)) var id: String
    @Flag(name: .shortAndLong, help: "Print the SMTP dialogue, secrets redacted.") var verbose = false

    func run() throws {
      try runMapped {
        try Control(configFile: global.configFile).queueRetry(id, verbose: verbose, stderr: FileDescriptorSink(fd: 2))
      }
    }
  }
}
