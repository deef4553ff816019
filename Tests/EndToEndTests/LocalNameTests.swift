// Local names (gsendmail(8) RECIPIENTS): aliases first, then local_recipient, then the
// sending account's own address; a name with nowhere to go is 67 and the message is kept
// in failed/, the error line saying where.
import Foundation
import TestServerKit
import Testing

@Suite("Local names", .serialized)
struct LocalNameTests {
  /// Debian cron's exact command line.
  static let cron = ["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"]
  static let cronMessage = "Subject: Cron <root@host> run-parts\nContent-Type: text/plain; charset=UTF-8\n\nall done\n"

  @Test("Cron's mail to root with no aliases goes to the account's address, logged as such")
  func cronToAccountAddress() throws {
    let rig = try Rig()
    let config = try QueueTests.queueConfig(rig)
    let r = try rig.send(["-C", config] + Self.cron, Self.cronMessage)
    #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
    let m = try #require(rig.received.first)
    #expect(m.record.recipients == ["alice@example.com"] && m.record.mailFrom == "alice@example.com")
    let log = QueueTests.log(rig)
    #expect(
      log.contains(" local name root without alias or local_recipient: sent to the account's address alice@example.com\n"),
      "\(log)")
    #expect(log.contains("to=<alice@example.com>") && log.contains("status=sent"), "\(log)")
  }

  @Test("An alias, then local_recipient, win over the account's address")
  func aliasAndLocalRecipientWin() throws {
    let rig = try Rig()
    let aliases = try rig.write("aliases", "root: ops@example.org\n")
    let withAlias = try QueueTests.queueConfig(rig, extra: "aliases = \"\(aliases)\"\n")
    #expect(try rig.send(["-C", withAlias] + Self.cron, Self.cronMessage).status == 0)
    let catchAll = try QueueTests.queueConfig(rig, extra: "local_recipient = \"admin@example.org\"\n")
    #expect(try rig.send(["-C", catchAll] + Self.cron, Self.cronMessage).status == 0)
    #expect(rig.received.map(\.record.recipients) == [["ops@example.org"], ["admin@example.org"]])
    #expect(!QueueTests.log(rig).contains("local name"))
  }

  @Test("-bv shows where a local name goes")
  func verifyShowsAccountAddress() throws {
    let rig = try Rig()
    let config = try rig.config()
    let r = try rig.send(["-C", config, "-bv", "root", "bob@example.org"], "")
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.out == "root -> alice@example.com\nbob@example.org -> bob@example.org\n")
  }

  /// The queue config with its account made a pattern (`*@example.com`) on an
  /// IP-allow-listed relay (no AUTH).
  static func patternConfig(_ rig: Rig) throws -> String {
    let base = try String(contentsOfFile: try QueueTests.queueConfig(rig), encoding: .utf8)
    return try rig.write(
      "pattern.toml",
      base.replacingOccurrences(of: "from = \"alice@example.com\"", with: "from = \"*@example.com\"")
        .replacingOccurrences(of: "auth = \"password\"", with: "auth = \"none\"")
        .replacingOccurrences(of: "password_file", with: "# password_file"))
  }

  @Test("A pattern account sends a local name to the envelope sender")
  func patternAccountUsesSender() throws {
    let rig = try Rig(mode: .relay)
    let config = try Self.patternConfig(rig)
    let r = try rig.send(["-C", config, "-f", "cron@example.com", "root"], Self.cronMessage)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(rig.received.first?.record.recipients == ["cron@example.com"])
  }

  @Test("No address at all (a pattern account, the null sender): 67, kept in failed/, the error names where")
  func nowhereToGoIsKept() throws {
    let rig = try Rig(mode: .relay)
    let config = try Self.patternConfig(rig)
    let r = try rig.send(["-C", config, "-f", "", "root"], Self.cronMessage)
    #expect(r.status == 67, "\(r.stderr)")
    let id = try #require(try QueueTests.firstID(rig, config, failed: true))
    let queue = rig.dir.appendingPathComponent("state/gsendmail/queue").path
    #expect(
      r.stderr == "gsendmail: local recipient 'root' has no alias and no address to go to; add it to the aliases file "
        + "or set local_recipient; the message is kept in \(queue)/failed/ as \(id) (see gsendmailctl queue show \(id))\n",
      "\(r.stderr)")
    #expect(rig.received.isEmpty)
  }
}
