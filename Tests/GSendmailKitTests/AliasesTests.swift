@testable import GSendmailCore
@testable import GSendmailKit
import Testing

@Suite("Aliases file")
struct AliasesTests {
  static let text = """
    # comment
    postmaster: root
    root: admin, Ops@Example.com
    admin: alice@example.com,
      "bob smith"@example.com
    www-data: root
    loop1: loop2
    loop2: loop1
    pipe: |/usr/bin/procmail
    """

  @Test("Nested names, continuation lines, case-insensitive names")
  func nested() throws {
    let table = try AliasTable(parsing: Self.text, path: "/etc/aliases")
    #expect(try table.resolve("PostMaster") == [
      .address("alice@example.com"), .address("\"bob smith\"@example.com"), .address("Ops@Example.com"),
    ])
    #expect(try table.resolve("nobody") == [.unresolved("nobody")])
  }

  @Test("Loops are detected")
  func loops() throws {
    let table = try AliasTable(parsing: Self.text, path: "/etc/aliases")
    #expect(throws: AliasError.loop(["loop1", "loop2", "loop1"])) { try table.resolve("loop1") }
    #expect(throws: AliasError.self) { try table.check() }
    #expect(ExitStatus.code(for: AliasError.loop([])) == .configuration)
  }

  @Test("Local delivery targets are refused when used, not when checked")
  func pipes() throws {
    let table = try AliasTable(parsing: "pipe: |/usr/bin/procmail\n", path: "a")
    #expect(throws: AliasError.localDelivery(name: "pipe", target: "|/usr/bin/procmail")) { try table.resolve("pipe") }
    try table.check()
  }

  @Test("Syntax errors name the line", arguments: [("  leading: x\n", 1), ("ok: a@b.c\nnocolon\n", 2), ("empty:\n", 1)])
  func syntax(text: String, line: Int) {
    #expect { try AliasTable(parsing: text, path: "a") } throws: { error in
      guard case AliasError.syntax(_, let l, _) = error else { return false }
      return l == line
    }
  }

  @Test("Unresolved names exit 67")
  func unresolvedExit() {
    #expect(ExitStatus.code(for: AliasError.unresolved("x")) == .noUser)
  }
}

@Suite("Exit codes")
struct ExitStatusTests {
  @Test("Delivery outcomes map to their exit codes (gsendmail(8), EXIT STATUS)", arguments: [
    (DeliveryFailure.Kind.temporary, SysExit.temporaryFailure),
    (.authentication, .noPermission),
    (.recipientsRejected, .noUser),
    (.messageRejected(tooBig: false), .unavailable),
    (.messageRejected(tooBig: true), .dataError),
    (.protocolViolation, .protocolError),
    (.limited(.daily), .temporaryFailure),
    (.resource, .temporaryFailure),
  ])
  func deliveryFailures(kind: DeliveryFailure.Kind, code: SysExit) {
    #expect(ExitStatus.code(for: DeliveryFailure(kind, .localLimit("x"))) == code)
  }

  @Test("Front-end errors")
  func frontEnd() {
    struct Unexpected: Error {}
    #expect(ExitStatus.code(for: BadMessage("x")) == .dataError)
    #expect(ExitStatus.code(for: InputError("x")) == .noInput)
    #expect(ExitStatus.code(for: ConfigError.unknownAccount("x")) == .configuration)
    #expect(ExitStatus.code(for: Unexpected()) == .software)
  }

  @Test("The table lists every code once, in order")
  func table() {
    let codes = SysExit.table.map(\.code.rawValue)
    #expect(codes == codes.sorted() && Set(codes).count == codes.count)
    #expect(codes == [0, 64, 65, 66, 67, 69, 70, 73, 75, 76, 77, 78])
  }
}
