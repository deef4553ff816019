import Codecs
@testable import GSendmailCore
@testable import GSendmailKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The man pages must document every option of the option table and every key of the
/// config schema: the pages and the code cannot drift apart silently.
@Suite("Man pages match the code")
struct ManPageTests {
  static let root: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // Tests/GSendmailKitTests/ManPageTests.swift
    return parts.joined(separator: "/")
  }()

  static func page(_ name: String) throws -> String {
    try Files.readText(root + "/man/" + name)
  }

  /// Roff escapes `-` as `\-`; undo it so options can be searched as typed.
  static func plain(_ roff: String) -> String { roff.replacingText("\\-", with: "-").replacingText("\\&", with: "") }

  @Test("gsendmail(8) lists every option", arguments: SendmailOptions.table.map(\.name))
  func options(name: String) throws {
    let text = Self.plain(try Self.page("gsendmail.8"))
    // mdoc writes `-f` as `Fl f` and `--dry-run` as `Fl -dry-run`, ended by a space, a
    // comma or the end of the line.
    let flag = "Fl " + name.dropFirst()
    let found = [" ", ",", "\n"].contains { text.contains(flag + $0) }
    #expect(found, "gsendmail.8 does not document \(name)")
  }

  @Test("gsendmail.conf(5) lists every key", arguments: ConfigParser.allKeys)
  func keys(key: String) throws {
    let text = Self.plain(try Self.page("gsendmail.conf.5"))
    #expect(text.contains(key), "gsendmail.conf.5 does not mention \(key)")
  }

  @Test("gsendmail(8) lists every exit code with its status", arguments: SysExit.table.map { ($0.code.rawValue, $0.status) })
  func exitCodes(code: Int32, status: String) throws {
    let text = Self.plain(try Self.page("gsendmail.8"))
    let found = ["\n", " "].contains { text.contains("\n.It \(code)" + $0) }
    #expect(found, "gsendmail.8 has no EXIT STATUS entry for \(code)")
    if code != 0 {
      let line = text.split(separator: "\n").first { $0.hasPrefix(".It \(code) ") }
      #expect(line?.hasSuffix("status \(status)") == true, "gsendmail.8's entry for \(code) does not give status \(status)")
    }
  }
}
