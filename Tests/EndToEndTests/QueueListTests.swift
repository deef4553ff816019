// `mailq` and `gsendmailctl queue list`, which print entries as they read them: the
// texts of an empty queue and an empty failed/, and the same entries in both listings.
import Foundation
import TestServerKit
import Testing

@Suite("Queue listings, through the real binaries", .serialized)
struct QueueListTests {
  @Test("Empty: mailq, queue list, --failed and --json each say so in their own words")
  func empty() throws {
    let rig = try Rig()
    let config = try QueueTests.queueConfig(rig)
    let ctl = Harness.binary("gsendmailctl")
    #expect(try Harness.run(Harness.binary("gsendmail"), ["-C", config, "-bp"], environment: rig.environment).out == "Mail queue is empty\n")
    #expect(try Harness.run(ctl, ["queue", "list", "-C", config], environment: rig.environment).out == "Mail queue is empty\n")
    #expect(try Harness.run(ctl, ["queue", "list", "--failed", "-C", config], environment: rig.environment).out == "No failed messages\n")
    #expect(try Harness.run(ctl, ["queue", "list", "--json", "-C", config], environment: rig.environment).out == "[]\n")
  }

  @Test("Queued entries: mailq and queue list print the same text, oldest first; --json one object per entry")
  func same() throws {
    let rig = try Rig()
    let config = try QueueTests.queueConfig(rig)
    for recipient in ["one@example.org", "two@example.org", "three@example.org"] {
      #expect(try rig.send(["-C", config, "-odq", recipient], simpleMessage).status == 0)
    }
    let mailq = try Harness.run(Harness.binary("gsendmail"), ["-C", config, "-bp"], environment: rig.environment)
    let list = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "list", "-C", config], environment: rig.environment)
    #expect(mailq.out == list.out)
    let recipients = mailq.out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasSuffix("@example.org") }
    #expect(recipients == ["one@example.org", "two@example.org", "three@example.org"], "\(mailq.out)")
    #expect(mailq.out.hasSuffix("in 3 Requests.\n"))
    let json = try Harness.run(Harness.binary("gsendmailctl"), ["queue", "list", "--json", "-C", config], environment: rig.environment)
    #expect(json.out.hasPrefix("[\n{\"id\":") && json.out.hasSuffix("}\n]\n"))
    #expect(json.out.split(separator: "\n").count == 5)
  }
}
