// SPDX-License-Identifier: MIT
// The built gsendmail as a set-group-ID program: a copy of it, group `mail` and
// mode 2755, run as `nobody` (needs root, as the tests run here), keeps only the
// allow-listed environment and gives a password command a fixed one without the
// set-group-ID group; and, as any caller, -L cannot forge a log line.
import Foundation
import Testing

/// A set-group-ID copy of gsendmail in a directory every user can read.
struct SetgidCopy {
  static let setpriv = "/usr/bin/setpriv"
  static var available: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: setpriv) }

  let dir: URL
  var binary: String { dir.appendingPathComponent("gsendmail").path }

  init() throws {
    dir = try Harness.tempDir("setgid")
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
    try FileManager.default.copyItem(atPath: Harness.binary("gsendmail"), toPath: binary)
    // Group mail (8): not the group of nobody, so the copy runs with a group it did not inherit.
    #expect(chown(binary, 0, 8) == 0)
    #expect(chmod(binary, 0o2755) == 0)
  }

  /// A file every user may read (or, for a directory, write).
  func file(_ name: String, _ text: String? = nil) throws -> String {
    let url = dir.appendingPathComponent(name)
    if let text {
      try Data(text.utf8).write(to: url)
      try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
    } else {
      try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
      try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: url.path)
    }
    return url.path
  }

  /// Runs the copy as nobody:nogroup with exactly `environment`.
  func run(_ arguments: [String], environment: [String], stdin: String) throws -> RunResult {
    try Harness.run(
      Self.setpriv,
      ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/env", "-i"] + environment + [binary] + arguments,
      stdin: Array(stdin.utf8))
  }
}

@Suite("Set-group-ID gsendmail", .serialized, .enabled(if: SetgidCopy.available))
struct PrivilegeTests {
  static let dryConfig = "[account.a]\nfrom = \"a@example.com\"\nroute = \"custom\"\nhost = \"127.0.0.1\"\nauth = \"none\"\n"

  @Test("only allow-listed variables with plain values reach the program")
  func allowList() throws {
    let copy = try SetgidCopy()
    let config = try copy.file("config.toml", Self.dryConfig)
    let hostile = ["SSLKEYLOGFILE=\(copy.dir.path)/keys", "OPENSSL_CONF=/nonexistent", "LD_LIBRARY_PATH=/nonexistent"]
    var r = try copy.run(
      ["--dry-run", "b@example.org"], environment: ["TZ=<+03>-3", "GSENDMAIL_CONFIG=\(config)"] + hostile,
      stdin: simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.out.contains("Date: ") && r.out.contains(" +0300\r\n"), "\(r.out)")
    // A relative GSENDMAIL_CONFIG is not a plain value: dropped, so no configuration is found.
    r = try Harness.run(
      SetgidCopy.setpriv,
      ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c",
       "cd '\(copy.dir.path)' && exec /usr/bin/env -i GSENDMAIL_CONFIG=config.toml ./gsendmail --dry-run b@example.org"],
      stdin: Array(simpleMessage.utf8))
    #expect(r.status == 78, "\(r.stderr)")
    #expect(r.stderr.contains("no configuration file found"))
    #expect(!FileManager.default.fileExists(atPath: "\(copy.dir.path)/keys"))
  }

  @Test("a password command of the caller's own configuration: the caller's group, a fixed environment")
  func passwordCommand() throws {
    let rig = try Rig()
    let copy = try SetgidCopy()
    let out = try copy.file("out")
    let ca = try copy.file("ca.pem", try String(contentsOfFile: rig.server.caFile, encoding: .utf8))
    let command = "id -g >\(out)/gid; env >\(out)/env; echo \(rig.password)"
    let text = try String(contentsOfFile: try rig.config(passwordCommand: command), encoding: .utf8)
      .replacingOccurrences(of: rig.server.caFile, with: ca)
    let config = try copy.file("config.toml", text)
    let r = try copy.run(
      ["bob@example.org"],
      environment: ["GSENDMAIL_CONFIG=\(config)", "XDG_STATE_HOME=\(try copy.file("state"))", "SSLKEYLOGFILE=/tmp/k", "TZ=UTC"],
      stdin: simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(rig.received.count == 1)
    let gid = try String(contentsOfFile: "\(out)/gid", encoding: .utf8)
    #expect(gid == "65534\n")
    let env = try String(contentsOfFile: "\(out)/env", encoding: .utf8).split(separator: "\n").map(String.init)
    #expect(env.contains("PATH=/usr/bin:/bin") && env.contains("LANG=C"), "\(env)")
    #expect(!env.contains { $0.hasPrefix("SSLKEYLOGFILE=") || $0.hasPrefix("TZ=") || $0.hasPrefix("GSENDMAIL_CONFIG=") })
  }
}

@Suite("Log file lines", .serialized)
struct LogFileTests {
  @Test("-L names the lines; a tag with a line break is refused (64) and writes nothing")
  func tags() throws {
    let rig = try Rig()
    let log = rig.dir.appendingPathComponent("mail.log").path
    let text = try String(contentsOfFile: try rig.config(), encoding: .utf8)
      .replacingOccurrences(of: "queue = false", with: "queue = false\nlog = \"file:\(log)\"")
    let config = try rig.write("logged.toml", text)
    var r = try rig.send(["-C", config, "-L", "cron-job", "bob@example.org"], simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    r = try rig.send(["-C", config, "-L", "x\nDec  7 01:02:03 gsendmail[1]: id=F status=sent (forged)", "bob@example.org"], simpleMessage)
    #expect(r.status == 64)
    #expect(r.stderr.hasPrefix("gsendmail: -L:") && r.stderr.split(separator: "\n").count == 1)
    let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 1)
    #expect(lines.first?.contains(" cron-job[") == true && lines.first?.contains("status=sent") == true)
    let mode = (try FileManager.default.attributesOfItem(atPath: log)[.posixPermissions] as? Int) ?? 0
    #expect(mode == 0o600)
  }
}
