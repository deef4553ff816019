// SPDX-License-Identifier: MIT
// Test helpers: temporary queue directories, raw file access to play the crash,
// a syscall fault injector over the real calls, a fixed random generator, and a
// way to run a program (the flock(1) CLI) as a second process.

#if canImport(Glibc)
import Glibc
#endif
import Synchronization
@testable import MailQueue

/// A fresh directory under /tmp, removed with everything in it when dropped.
final class TemporaryDirectory {
  let path: String

  init() {
    var template = Array("/tmp/mailqueue-test-XXXXXX".utf8CString)
    path = template.withUnsafeMutableBufferPointer { buffer in
      guard let base = buffer.baseAddress, let made = mkdtemp(base) else { return "/tmp/mailqueue-test-failed" }
      return String(cString: made)
    }
  }

  deinit { TemporaryDirectory.removeTree(path) }

  static func removeTree(_ path: String) {
    let (result, names) = Syscalls.real.listDirectory(path)
    if result == 0 {
      for name in names {
        let child = path + "/" + name
        if Syscalls.real.unlink(child) != 0 { removeTree(child) }
      }
      rmdir(path)
    }
  }
}

/// Raw file access for the tests (to damage queue files as a crash would).
enum RawFile {
  static func write(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return }
    _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    close(fd)
  }

  static func read(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
      let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n <= 0 { return out }
      out += buffer[0..<n]
    }
  }

  static func names(_ dir: String) -> [String] {
    let (result, names) = Syscalls.real.listDirectory(dir)
    return result == 0 ? names.sorted() : []
  }

  static func mode(_ path: String) -> UInt32 {
    var st = stat()
    return stat(path, &st) == 0 ? UInt32(st.st_mode) & 0o7777 : 0
  }
}

/// Forces errors on chosen system calls: the `nth` call of `operation` after arming
/// (1-based) fails with `code`, `times` times in a row.
final class FaultInjector: Sendable {
  struct Rule {
    var operation: QueueOperation
    var nth: Int
    var code: Int32
    var times: Int
  }

  private struct State {
    var armed = false
    var counts: [QueueOperation: Int] = [:]
    var rules: [Rule] = []
    var failures = 0
  }

  private let state = Mutex(State())

  /// Starts counting calls from zero with these rules.
  func arm(_ rules: [Rule]) {
    state.withLock { $0 = State(armed: true, counts: [:], rules: rules, failures: 0) }
  }

  /// Stops injecting; returns how many calls of each kind were seen while armed.
  @discardableResult
  func disarm() -> [QueueOperation: Int] {
    state.withLock { state in
      state.armed = false
      return state.counts
    }
  }

  /// How many failures were injected.
  var failures: Int { state.withLock { $0.failures } }

  /// The errno to fail this call with, if any.
  func check(_ operation: QueueOperation) -> Int32? {
    state.withLock { state in
      guard state.armed else { return nil }
      let n = state.counts[operation, default: 0] + 1
      state.counts[operation] = n
      for rule in state.rules where rule.operation == operation && n >= rule.nth && n < rule.nth + rule.times {
        state.failures += 1
        return rule.code
      }
      return nil
    }
  }

  /// The real system calls with this injector in front of them.
  var syscalls: Syscalls {
    let real = Syscalls.real
    var calls = real
    calls.open = { path, flags, mode in self.check(.open).map { -$0 } ?? real.open(path, flags, mode) }
    calls.write = { fd, bytes in self.check(.write).map { -Int($0) } ?? real.write(fd, bytes) }
    calls.fsync = { fd in self.check(.fsync).map { -$0 } ?? real.fsync(fd) }
    calls.rename = { from, to in self.check(.rename).map { -$0 } ?? real.rename(from, to) }
    calls.link = { from, to in self.check(.link).map { -$0 } ?? real.link(from, to) }
    calls.unlink = { path in self.check(.unlink).map { -$0 } ?? real.unlink(path) }
    calls.mkdir = { path, mode in self.check(.mkdir).map { -$0 } ?? real.mkdir(path, mode) }
    calls.flock = { fd, op in self.check(.lock).map { -$0 } ?? real.flock(fd, op) }
    return calls
  }
}

/// Runs a program and returns its exit status (or -1).
func runProgram(_ arguments: [String]) -> Int32 {
  var pid = pid_t()
  var cArgs: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
  defer { cArgs.forEach { free($0) } }
  let spawned = posix_spawn(&pid, arguments[0], nil, nil, &cArgs, environ)
  guard spawned == 0 else { return -1 }
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
}

/// A typical envelope and header for tests.
let sampleEnvelope = QueueEnvelope(
  sender: "alice@example.com", account: "work", recipients: ["bob@example.com", "carol@example.org"])
let sampleHeader = Array("From: alice@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\n".utf8)

/// A store over `dir` whose syscalls go through `faults` (or are real).
func makeStore(_ dir: TemporaryDirectory, faults: FaultInjector? = nil) -> FileQueueStore {
  FileQueueStore(
    directory: dir.path + "/queue", policy: .perUser, syscalls: faults?.syscalls ?? .real,
    clock: FileQueueStore.systemClock)
}

/// Commits a message with this body and returns the entry and its lock.
func commitSample(
  _ store: any QueueStore, body: [UInt8] = Array("Hello\r\n".utf8), arrival: Int = 1_709_632_800
) throws -> (entry: QueueEntry, lock: QueueLock) {
  let draft = try store.create()
  try draft.append(body)
  return try store.commit(draft, envelope: sampleEnvelope, header: sampleHeader, arrival: arrival)
}
