// SPDX-License-Identifier: MIT
// Where `auth = "password"` gets its secret (docs/design.md, "Token cache"): the first line of
// `password_file`, or the first line of what `password_command` prints. A
// command that fails is a temporary failure whose reason carries its stderr;
// the password itself never appears in an error.

import GSendmailCore
import CShim
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

package enum PasswordSource {
  /// Reads the password configured for an account.
  /// - Throws: `ConfigError` for a missing or unsafe file, `DeliveryFailure.temporary` for a
  ///   failing command.
  package static func password(for account: Account, asCaller: Bool, timeout: Int = 60, setgid: Bool = false) throws -> String {
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
    let result = try run(command, timeout: timeout, setgid: setgid)
    guard result.status == 0 else {
      let err = firstLine(String(decoding: result.stderr, as: UTF8.self))
      throw DeliveryFailure.temporary(
        "password_command failed (exit \(result.status))" + (err.isEmpty ? "" : ": \(err)"))
    }
    let line = firstLine(String(decoding: result.stdout, as: UTF8.self))
    guard !line.isEmpty else { throw DeliveryFailure.temporary("password_command printed nothing") }
    printed.withLock { $0[command] = withoutGoogleSpaces(line) }
    return withoutGoogleSpaces(line)
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

  /// Runs `/bin/sh -c command`, collecting at most 64 KiB of stdout and stderr each.
  /// - Parameters:
  ///   - timeout: Seconds; a command still running then is killed (temporary failure).
  ///   - setgid: Running set-group-ID: the command gets a fixed `PATH` and nothing else from
  ///     the caller's environment, so a user cannot redirect it (gsendmail.conf(5)).
  package static func run(_ command: String, timeout: Int = 60, setgid: Bool = false) throws
    -> (status: Int32, stdout: [UInt8], stderr: [UInt8])
  {
    var outPipe: [Int32] = [0, 0]
    var errPipe: [Int32] = [0, 0]
    guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
      throw DeliveryFailure.temporary("password_command: cannot create a pipe")
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
    for fd in outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }
    // Nothing else of ours reaches the command (sockets, queue files, the caller's pipes).
    gs_spawn_file_actions_closefrom(&actions, 3)
    // Its own process group, so that a command that times out is killed with its children.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attributes, 0)
    var pid = pid_t()
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
    defer { for p in argv { free(p) } }
    let safeEnvironment: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nil]
    defer { for p in safeEnvironment { free(p) } }
    let rc = setgid
      ? posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, safeEnvironment)
      : posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
    close(outPipe[1])
    close(errPipe[1])
    defer {
      close(outPipe[0])
      close(errPipe[0])
    }
    guard rc == 0 else { throw DeliveryFailure.temporary("password_command: cannot run /bin/sh") }
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
        throw DeliveryFailure.temporary("password_command did not finish within \(timeout)s")
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
