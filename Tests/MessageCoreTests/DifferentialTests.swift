// SPDX-License-Identifier: MIT
// Differential test of address-header parsing against Python's email.headerregistry.
// Tests/differential/compare.py writes Python's answers to Fixtures/differential-python.json;
// every disagreement must be listed, with the RFC section that justifies MessageCore's
// answer, in Fixtures/differential-disagreements.json. Set DIFFERENTIAL_DUMP=/path to write
// the current disagreements there (to review a new Python version or a parser change).
import Foundation
import MessageCore
import Testing

@Suite("Differential: Python email.headerregistry")
struct DifferentialTests {
  struct PythonAnswer: Decodable {
    var ok: Bool
    var addresses: [String]
  }
  struct Case: Decodable {
    var value: String
    var python: PythonAnswer
  }
  struct Fixture: Decodable {
    var cases: [Case]
  }
  struct Disagreement: Codable, Equatable {
    var value: String
    var ours: String
    var python: String
    var reason: String
  }

  static func load<T: Decodable>(_ name: String) throws -> T {
    guard let url = Bundle.module.url(forResource: name, withExtension: "json",
                                      subdirectory: "Fixtures")
    else { throw CocoaError(.fileNoSuchFile) }
    return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
  }

  static func render(_ addresses: [String]?) -> String {
    guard let addresses else { return "error" }
    return "[" + addresses.joined(separator: " | ") + "]"
  }

  /// MessageCore's answer for `To: value`, read through the message scanner as `-t` does.
  static func ours(_ value: String) -> [String]? {
    guard case .success(let message) = scan("To: " + value + "\r\n\r\nbody\r\n", .whole),
      message.fields.count == 1, let to = message.fields.first, to.hasName("To")
    else { return nil }
    return (try? AddressParser.parseAddressList(to.rawValue))?.flatMap(\.mailboxes).map(\.addrSpec)
  }

  @Test("At least 200 headers agree with Python or are listed disagreements")
  func compare() throws {
    let fixture: Fixture = try Self.load("differential-python")
    let known: [Disagreement] = try Self.load("differential-disagreements")
    #expect(fixture.cases.count >= 200)
    var found: [Disagreement] = []
    for c in fixture.cases {
      let ours = Self.render(Self.ours(c.value))
      let python = Self.render(c.python.ok ? c.python.addresses : nil)
      if ours != python {
        found.append(Disagreement(value: c.value, ours: ours, python: python, reason: ""))
      }
    }
    if let path = ProcessInfo.processInfo.environment["DIFFERENTIAL_DUMP"] {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      try encoder.encode(found).write(to: URL(fileURLWithPath: path))
    }
    for d in found {
      let listed = known.first { $0.value == d.value && $0.ours == d.ours && $0.python == d.python }
      #expect(listed != nil, "unlisted disagreement: \(d.value.debugDescription) ours \(d.ours) python \(d.python)")
      if let listed { #expect(!listed.reason.isEmpty, "no reason for \(d.value.debugDescription)") }
    }
    for k in known where !found.contains(where: { $0.value == k.value }) {
      Issue.record("listed disagreement no longer happens: \(k.value.debugDescription)")
    }
  }
}
