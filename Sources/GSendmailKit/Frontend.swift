// SPDX-License-Identifier: MIT
// The sendmail front end: argv[0] and options decide the mode, each mode runs,
// and every error ends here as one stderr line and the exit code that
// ExitStatus chooses.

import GSendmailCore

#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Runs one gsendmail invocation.
public struct Frontend {
  public var environment: Environment
  public var stdinFD: Int32
  public var stdout: OutputSink
  public var stderr: OutputSink

  public init(environment: Environment, stdinFD: Int32 = 0, stdout: OutputSink, stderr: OutputSink) {
    self.environment = environment
    self.stdinFD = stdinFD
    self.stdout = stdout
    self.stderr = stderr
  }

  /// The process entry point: runs with the real environment and exits.
  public static func main() -> Never {
    let args = CommandLine.arguments
    // Fast path: no environment, no config, nothing loaded.
    if args.count == 2 && args[1] == "--version" {
      FileDescriptorSink(fd: 1).write("gsendmail \(gsendmailVersion)\n")
      exit(0)
    }
    // Start-up is over: the relocation tables' pages are not needed again.
    _ = gs_release_relocation_tables()
    let stdinOpen = occupyClosedStandardDescriptors()
    let frontend = Frontend(
      environment: .current(), stdinFD: stdinOpen ? 0 : -1, stdout: FileDescriptorSink(fd: 1),
      stderr: FileDescriptorSink(fd: 2))
    // _exit: everything gsendmail writes goes out with write(2) as it happens and the
    // queue is synced, so exit handlers and library destructors have nothing to do but
    // cost time and touch pages.
    _exit(frontend.run(arguments: args).rawValue)
  }

  /// Opens /dev/null on whichever of descriptors 0, 1 and 2 the caller left closed, as
  /// Postfix's sendmail does: otherwise the next file opened (a queue file) would take its
  /// number, and be read as the message or written over by messages.
  /// - Returns: Whether standard input was open (a closed one cannot carry a message).
  static func occupyClosedStandardDescriptors() -> Bool {
    var stdinOpen = true
    for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
      if fd == 0 { stdinOpen = false }
      // The lowest free descriptor is this one: the ones below it are open by now.
      let null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
      // No /dev/null (a broken chroot): nothing is safe to open; the caller may retry.
      if null != fd { _exit(SysExit.temporaryFailure.rawValue) }
    }
    return stdinOpen
  }

  /// Runs with `arguments` (argv, including argv[0]).
  public func run(arguments: [String]) -> SysExit {
    let argv0 = arguments.first ?? "gsendmail"
    do {
      let invocation = try SendmailOptions.parse(Array(arguments.dropFirst()), mode: SendmailOptions.mode(forProgramName: argv0))
      return try run(invocation)
    } catch {
      return fail(error)
    }
  }

  /// Prints the one-line error and returns its exit code.
  func fail(_ error: any Error) -> SysExit {
    let code = ExitStatus.code(for: error)
    var text = errorText(error)
    if code == .usage { text += " (see gsendmail --help)" }
    stderr.write("gsendmail: \(text)\n")
    return code
  }

  func run(_ invocation: Invocation) throws -> SysExit {
    if invocation.dryRun && [.smtpServer, .runQueue, .listQueue].contains(invocation.mode) {
      throw UsageError("--dry-run goes with a message on standard input, not with -bs, -q or -bp")
    }
    switch invocation.mode {
    case .help:
      stdout.write(SendmailOptions.helpText(programName: "gsendmail"))
      return .ok
    case .version:
      stdout.write("gsendmail \(gsendmailVersion)\n")
      return .ok
    case .checkAliases:
      // Without any configuration there are no aliases to check: package scripts that
      // run newaliases after installing an MTA must not fail before it is configured.
      guard let config = try loadConfigIfAny(invocation) else { return .ok }
      try config.loadAliases().check()
      return .ok
    case .deliver, .verify, .listQueue, .runQueue, .smtpServer:
      return try runMessageModes(invocation)
    }
  }

  /// The configuration, or nil when none exists anywhere (`-C` naming a missing file is
  /// still an error).
  func loadConfigIfAny(_ invocation: Invocation) throws -> Configuration? {
    do {
      return try ConfigLocator.load(configFile: invocation.configFile, environment: environment)
    } catch .notFound {
      return nil
    }
  }
}
