// SPDX-License-Identifier: MIT
import TestSupport
import Testing
@testable import MailQueue

@Suite("QueueID")
struct QueueIDTests {
  @Test(
    "Anything but 16–24 alphanumerics is refused",
    arguments: [
      "", "../x", "../../etc/passwd", "/", "a/b", "0123456789ABCDE", "0123456789ABCDEFGHIJKLMNO",
      "0123456789ABCDEF.env", "0123456789ABCDE/", "0123456789ABCDE ", "0123456789ABCDEé", "0123456789ABCDE\n",
    ])
  func invalid(text: String) {
    #expect(throws: QueueError.invalidID(text)) { try QueueID(text) }
    #expect(!QueueID.isValid(text))
  }

  @Test("Valid IDs at both length limits", arguments: ["0123456789ABCDEF", "0123456789ABCDEFGHIJabcd"])
  func valid(text: String) throws {
    #expect(try QueueID(text).rawValue == text)
  }

  @Test("Generated IDs are valid, sort by time and differ")
  func generated() throws {
    var generator = SplitMix64(seed: 1)
    let a = QueueID.generate(seconds: 1_709_632_800, microseconds: 5, using: &generator)
    let b = QueueID.generate(seconds: 1_709_632_800, microseconds: 6, using: &generator)
    let c = QueueID.generate(seconds: 1_709_632_801, microseconds: 0, using: &generator)
    for id in [a, b, c] {
      #expect(QueueID.isValid(id.rawValue))
      #expect(id.rawValue.count == 19)
    }
    #expect(a < b && b < c)
    var same = SplitMix64(seed: 2)
    let d = QueueID.generate(seconds: 1, microseconds: 1, using: &same)
    let e = QueueID.generate(seconds: 1, microseconds: 1, using: &same)
    #expect(d != e)
  }
}
