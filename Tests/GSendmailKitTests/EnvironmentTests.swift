// SPDX-License-Identifier: MIT
// The real environment: the password database is read only when a value needs it, and
// what it gives matches what the system says.

import Testing

@testable import GSendmailCore
@testable import GSendmailKit

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Environment")
struct EnvironmentTests {
  @Test("the user name comes from the password database, HOME from the environment")
  func current() throws {
    let environment = Environment.current()
    let entry = try #require(PasswordEntry(uid: getuid()))
    #expect(environment.userName == entry.name)
    #expect(!entry.name.isEmpty && entry.home.hasPrefix("/"))
    if let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty, getegid() == getgid() {
      #expect(environment.home == home)
    } else {
      #expect(environment.home == entry.home)
    }
  }

  @Test("variables are split at the first = byte; entries without one are skipped; the first of a name wins")
  func variableParsing() {
    let texts = ["A=b=c", "NOEQUALS", "EMPTY=", "=nameless", "X=\u{301}y", "A=second", "N\u{E9}=v"]
    var entries: [UnsafeMutablePointer<CChar>?] = texts.map { strdup($0) }
    entries.append(nil)
    defer { for entry in entries { free(entry) } }
    let vars = entries.withUnsafeBufferPointer { Environment.variables(from: $0.baseAddress!) }
    #expect(vars == ["A": "b=c", "EMPTY": "", "": "nameless", "X": "\u{301}y", "N\u{E9}": "v"])
  }

  @Test("values set by hand replace the looked-up ones")
  func overrides() {
    var environment = Environment.current()
    environment.userName = "tester"
    environment.home = "/nonexistent"
    #expect(environment.userName == "tester")
    #expect(environment.home == "/nonexistent")
  }

  @Test("a pattern account's sender needs the user name; a fixed one does not ask for it")
  func senderLooksUpOnlyWhenNeeded() throws {
    let config = try ConfigParser.parse(
      """
      [account.fixed]
      from = "alerts@example.com"
      [account.pattern]
      from = "*@example.com"
      """, path: "/etc/gsendmail/config.toml", home: "/root")
    let fixed = try #require(config.account(named: "fixed"))
    let pattern = try #require(config.account(named: "pattern"))
    var asked = false
    #expect(fixed.defaultSender(headerFrom: nil, userName: { asked = true; return "x" }()) == "alerts@example.com")
    #expect(!asked)
    #expect(pattern.defaultSender(headerFrom: nil, userName: { asked = true; return "ops" }()) == "ops@example.com")
    #expect(asked)
  }
}

@Suite("Environment randomness")
struct EnvironmentRandomTests {
  @Test("random bytes have the asked length, vary, and cover the byte range", arguments: [0, 1, 7, 8, 9, 10, 64])
  func lengths(count: Int) {
    let environment = Environment.current()
    let a = environment.randomBytes(count)
    let b = environment.randomBytes(count)
    #expect(a.count == count && b.count == count)
    if count >= 8 { #expect(a != b) }
  }

  @Test("over many draws every byte value appears")
  func coverage() {
    let environment = Environment.current()
    var seen = Set<UInt8>()
    for _ in 0..<64 { seen.formUnion(environment.randomBytes(64)) }
    #expect(seen.count == 256)
  }
}
