// SPDX-License-Identifier: MIT
// Helpers of the token commands (login, logout): running a body with token errors
// mapped to exit codes, and unbuffered output for the login prompt.
// Failure policy: token errors print one line and exit 75, 77 or 78 by their kind.

import ArgumentParser
import GSendmailCore
import GSendmailKit
import TokenStore

#if canImport(Glibc)
  import Glibc
#endif

/// Runs a body. A `TokenError` prints `gsendmailctl: ERROR` and exits by its kind, a
/// `ValidationError` exits 64, an `ExitCode` is passed on; other errors go through
/// `runMapped`.
func runTokenCommand(_ body: () throws -> Void) throws {
  var exit: ExitCode?
  try runMapped {
    do {
      try body()
    } catch let code as ExitCode {
      exit = code
    } catch let error as ValidationError {
      printError("gsendmailctl: \(error.message)")
      exit = ExitCode(SysExit.usage.rawValue)
    } catch let error as TokenError {
      printError("gsendmailctl: \(errorText(error))")
      exit = ExitCode(ExitStatus.code(for: error).rawValue)
    }
  }
  if let exit { throw exit }
}

/// Writes a line to standard output at once (not buffered: the login URL must show
/// while the command waits).
func say(_ text: String = "") {
  FileDescriptorSink(fd: 1).write(text + "\n")
}

/// Writes a line to standard error.
func printError(_ text: String) {
  FileDescriptorSink(fd: 2).write(text + "\n")
}
