// SPDX-License-Identifier: MIT
// Where `auth = "password"` gets its secret: the first line of `password_file`,
// or the first line of what `password_command` prints. A command that fails is a
// temporary failure. Its error output may hold secrets or another user's
// details: for the system configuration it goes to the log only, and the reason
// (which mailq shows) says where to look; for a user's own configuration the
// reason carries its first line. The password itself never appears in an error.

import GSendmailCore
import CShim
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

package enum PasswordSource {
  /// Reads the password configured for an account.
  /// - Throws: `ConfigError` for a missing or unsafe file, a temporary `DeliveryFailure` for a
  ///   failing command.
  package static func password(for account: Account, asCaller: Bool, timeout: Int = 60, context: CommandContext = .init()) throws -> String {
    if let file = account.passwordFile {
      if let problem = Files.secretFileProblem(file) { throw problem }
      let text: String
      do {
        text = try Files.readText(file, asCaller: asCaller)
      } catch {
        throw ConfigError.unreadable(path: file, reason: error.reason)
      }
      let line = firstLine(text)
      guard !line.isEmpty else { throw ConfigError.badSecretFile(path: file, problem: "the first line is empty") }
      return withoutGoogleSpaces(line)
    }
    guard let command = account.passwordCommand else {
      throw ConfigError.missingKey(path: "config", table: "account.\(account.name)", key: "password_file")
    }
    // A command runs once per process: the doctor's check and its session, or a queue run
    // reopening a session, reuse what it printed (it may prompt, or be slow).
    if let known = printed.withLock({ $0[command] }) { return known }
    let result = try run(command, timeout: timeout, context: context)
    guard result.status == 0 else {
      let err = firstLine(String(decoding: result.stderr, as: UTF8.self))
      guard context.system else {
        throw DeliveryFailure(
          .temporary,
          .passwordCommand(.exited(account: account.name, status: result.status, detail: err.isEmpty ? nil : err, inLog: false)))
      }
      let failed = "password_command of account \(account.name) failed (exit \(result.status))"
      context.log(failed + (err.isEmpty ? ", printing nothing on standard error" : ": \(err)"))
      throw DeliveryFailure(
        .temporary, .passwordCommand(.exited(account: account.name, status: result.status, detail: nil, inLog: true)))
    }
    let line = firstLine(String(decoding: result.stdout, as: UTF8.self))
    guard !line.isEmpty else { throw DeliveryFailure(.temporary, .passwordCommand(.printedNothing)) }
    let password = withoutGoogleSpaces(line)
    printed.withLock { $0[command] = password }
    return password
  }

  /// An app password as Google shows it, four groups of four letters
  /// (`abcd efgh ijkl mnop`), without its spaces; any other password as it is.
  static func withoutGoogleSpaces(_ password: String) -> String {
    let groups = password.split(separator: " ", omittingEmptySubsequences: false)
    guard groups.count == 4, groups.allSatisfy({ $0.count == 4 && $0.allSatisfy { $0.isASCII && $0.isLetter } }) else {
      return password
    }
    return groups.joined()
  }

  /// Passwords the commands printed in this process, by command.
  private static let printed = Mutex<[String: String]>([:])

  package static func firstLine(_ text: String) -> String {
    var line = text.prefix { $0 != "\n" }
    if line.hasSuffix("\r") { line = line.dropLast() }
    return String(line)
  }

  /// How a password command runs.
  package struct CommandContext {
    /// The command comes from the system configuration (written by root).
    var system = false
    /// The process runs set-group-ID.
    var setgid = false
    /// The caller's home directory (from the password database under set-group-ID).
    var home = ""
    /// Where the command's error output is written for the system configuration.
    var log: (String) -> Void = { _ in }

    package init(system: Bool = false, setgid: Bool = false, home: String = "", log: @escaping (String) -> Void = { _ in }) {
      self.system = system
      self.setgid = setgid
      self.home = home
      self.log = log
    }

    /// The command's group: a system command keeps the set-group-ID group as its real group
    /// too (a shell would drop it otherwise); a user's own command runs with the caller's
    /// group only. Outside set-group-ID, unchanged (nil).
    var group: gid_t? { setgid ? (system ? getegid() : getgid()) : nil }

    /// The environment of the command: the caller's own for a user's command outside
    /// set-group-ID, else a fixed minimal one.
    var environment: [String]? {
      guard system || setgid else { return nil }
      return ["PATH=/usr/bin:/bin", "LANG=C"] + (home.hasPrefix("/") ? ["HOME=\(home)"] : [])
    }
  }

  /// Runs `/bin/sh -c command`, collecting at most 64 KiB of stdout and stderr each.
  /// - Parameters:
  ///   - timeout: Seconds; a command still running then is killed (temporary failure).
  ///   - context: The group and environment it runs with.
  package static func run(_ command: String, timeout: Int = 60, context: CommandContext = .init()) throws
    -> (status: Int32, stdout: [UInt8], stderr: [UInt8])
  {
    var outPipe: [Int32] = [0, 0]
    var errPipe: [Int32] = [0, 0]
    guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
      throw DeliveryFailure(.temporary, .passwordCommand(.noPipe))
    }
    // Not inherited by anything else this process starts.
    for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
    defer { for p in argv { free(p) } }
    let fixed: [UnsafeMutablePointer<CChar>?]? = context.environment.map { $0.map { strdup($0) } + [nil] }
    defer { for p in fixed ?? [] { free(p) } }
    let group = context.group
    let pid = fixed.map { gs_spawn_command("/bin/sh", argv, $0, outPipe[1], errPipe[1], group == nil ? 0 : 1, group ?? 0) }
      ?? gs_spawn_command("/bin/sh", argv, environ, outPipe[1], errPipe[1], group == nil ? 0 : 1, group ?? 0)
    close(outPipe[1])
    close(errPipe[1])
    defer {
      close(outPipe[0])
      close(errPipe[0])
    }
    guard pid > 0 else { throw DeliveryFailure(.temporary, .passwordCommand(.cannotStart)) }
    // The child makes its own process group too; whichever runs first, a kill of the group
    // on timeout finds it.
    _ = setpgid(pid, pid)
    var out: [UInt8] = []
    var err: [UInt8] = []
    var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
    var open = 2
    var buffer = [UInt8](repeating: 0, count: 4096)
    var deadline = timespec()
    clock_gettime(CLOCK_MONOTONIC, &deadline)
    deadline.tv_sec += timeout
    while open > 0 {
      var now = timespec()
      clock_gettime(CLOCK_MONOTONIC, &now)
      let left = Int(deadline.tv_sec - now.tv_sec) * 1000 + Int(deadline.tv_nsec - now.tv_nsec) / 1_000_000
      let ready = left > 0 ? poll(&fds, 2, Int32(min(left, Int(Int32.max)))) : 0
      if ready == 0 {
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        throw DeliveryFailure(.temporary, .passwordCommand(.timedOut(seconds: timeout)))
      }
      if ready < 0 {
        if errno == EINTR { continue }
        break
      }
      for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
        let n = buffer.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress, $0.count) }
        if n <= 0 {
          if n < 0 && errno == EINTR { continue }
          fds[i].fd = -1
          open -= 1
          continue
        }
        if i == 0 { if out.count < 65536 { out += buffer[0..<n] } } else if err.count < 65536 { err += buffer[0..<n] }
      }
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exited = status & 0x7f == 0
    return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), out, err)
  }
}
