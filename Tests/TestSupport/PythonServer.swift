// SPDX-License-Identifier: MIT
// A throwaway server for tests: a Python script started as a child process, which
// prints the port it bound on 127.0.0.1 as its first line and then serves until the
// test drops it.

import Foundation

/// A child Python process serving on 127.0.0.1.
public final class PythonServer: @unchecked Sendable {
  private let process = Process()
  /// The port the script printed.
  public let port: Int

  /// Starts `python3 -c script arguments…` and waits for its port line.
  public init(script: String, arguments: [String] = []) throws {
    let out = Pipe()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    var line = Data()
    while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data([10]) {
      line.append(byte)
    }
    guard let port = Int(String(decoding: line, as: UTF8.self)) else {
      kill(process.processIdentifier, SIGKILL)
      throw CocoaError(.fileReadCorruptFile)
    }
    self.port = port
  }

  /// `http://127.0.0.1:PORT` + `path`.
  public func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

  deinit {
    // SIGKILL: the child may inherit a mask that blocks SIGTERM from the test's thread.
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
}
