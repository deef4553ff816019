// Runs the real binaries as a user would: argv, stdin, environment, and a
// deadline after which the process is killed and the test fails.
import Foundation
import Testing

/// The outcome of one process run.
struct RunResult: Sendable {
  var status: Int32
  var stdout: [UInt8]
  var stderr: String
  var timedOut: Bool
  var out: String { String(decoding: stdout, as: UTF8.self) }
}

enum Harness {
  /// The package root (three levels above this file).
  static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// The folder with the built products: `$GSENDMAIL_BIN_DIR`, else the debug build.
  static let binDir: URL = {
    if let dir = ProcessInfo.processInfo.environment["GSENDMAIL_BIN_DIR"] { return URL(fileURLWithPath: dir) }
    return root.appendingPathComponent(".build/debug")
  }()

  static func binary(_ name: String) -> String { binDir.appendingPathComponent(name).path }

  /// A fresh private directory under the system temp dir.
  static func tempDir(_ tag: String = "e2e") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("gsendmail-\(tag)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    return url
  }

  /// Runs `executable` with `arguments` (argv[0] can be set to pick a mode).
  static func run(
    _ executable: String, _ arguments: [String], argv0: String? = nil, stdin: [UInt8] = [],
    environment: [String: String] = [:], timeout: TimeInterval = 30
  ) throws -> RunResult {
    let process = Process()
    var exe = executable
    if let argv0 {
      // Run through a symlink named argv0, as the package's links do.
      let dir = try tempDir("argv0")
      let link = dir.appendingPathComponent(argv0)
      try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: executable)
      exe = link.path
    }
    process.executableURL = URL(fileURLWithPath: exe)
    process.arguments = arguments
    var env = ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C"]
    env.merge(environment) { $1 }
    process.environment = env
    let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
    process.standardInput = inPipe
    process.standardOutput = outPipe
    process.standardError = errPipe
    try process.run()
    let writer = Thread {
      // The process may exit without reading everything (e.g. a size limit): ignore EPIPE.
      signal(SIGPIPE, SIG_IGN)
      try? inPipe.fileHandleForWriting.write(contentsOf: stdin)
      try? inPipe.fileHandleForWriting.close()
    }
    writer.start()
    let outBox = DataBox(), errBox = DataBox()
    let g = DispatchGroup()
    for (pipe, box) in [(outPipe, outBox), (errPipe, errBox)] {
      g.enter()
      DispatchQueue.global().async {
        box.data = pipe.fileHandleForReading.readDataToEndOfFile()
        g.leave()
      }
    }
    let deadline = Date().addingTimeInterval(timeout)
    var timedOut = false
    while process.isRunning {
      if Date() > deadline {
        timedOut = true
        process.terminate()
        kill(process.processIdentifier, SIGKILL)
        break
      }
      usleep(2000)
    }
    process.waitUntilExit()
    _ = g.wait(timeout: .now() + 5)
    return RunResult(
      status: process.terminationStatus, stdout: [UInt8](outBox.data),
      stderr: String(decoding: errBox.data, as: UTF8.self), timedOut: timedOut)
  }
}

final class DataBox: @unchecked Sendable {
  var data = Data()
}

extension String {
  var bytes: [UInt8] { Array(utf8) }
}
