// SIZE (RFC 1870): MAIL FROM declares the size of the message as it is sent — after
// re-encoding, CRLF line ends and added headers, before dot-stuffing — and a message
// that grows past a limit in preparation is refused (65) before MAIL, so nothing is
// uploaded.
import Foundation
import TestServerKit
import Testing

@Suite("SIZE of the prepared message", .serialized)
struct SizeTests {
  /// An 8-bit body that triples under quoted-printable: each `é` (2 octets) is `=C3=A9`.
  static func eightBitMessage(lines: Int) -> String {
    "Subject: size\nContent-Type: text/plain; charset=UTF-8\n\n"
      + String(repeating: String(repeating: "é", count: 20) + "\n", count: lines)
  }

  static func sizeParameter(_ record: MessageRecord) -> Int? {
    record.mailParameters.first { $0.hasPrefix("SIZE=") }.flatMap { Int($0.dropFirst(5)) }
  }

  @Test("An 8-bit body re-encoded for a server without 8BITMIME declares the size actually sent")
  func declaresSentSize() throws {
    let rig = try Rig(scenarios: [.no8BitMIME])
    let input = Self.eightBitMessage(lines: 500)
    let r = try rig.send(["-C", try rig.config(), "bob@example.org"], input)
    #expect(r.status == 0, "\(r.stderr)")
    let m = try #require(rig.received.first)
    let data = String(decoding: m.data, as: UTF8.self)
    #expect(data.contains("Content-Transfer-Encoding: quoted-printable\r\n") && data.contains("=C3=A9"))
    #expect(Self.sizeParameter(m.record) == m.data.count, "\(m.record.mailParameters) vs \(m.data.count)")
    #expect(m.data.count > 2 * input.utf8.count)
  }

  @Test("A message that crosses the server's SIZE only once re-encoded is refused before MAIL: 65, kept in failed/")
  func refusedBeforeUpload() throws {
    let rig = try Rig(scenarios: [.no8BitMIME], maxMessageSize: 30_000)
    let config = try QueueTests.queueConfig(rig)
    let input = Self.eightBitMessage(lines: 300)  // about 12 kB read, about 36 kB as sent
    #expect(input.utf8.count < 30_000)
    let r = try rig.send(["-C", config, "bob@example.org"], input)
    #expect(r.status == 65, "\(r.stderr)")
    let id = try #require(try QueueTests.firstID(rig, config, failed: true))
    let queue = rig.dir.appendingPathComponent("state/gsendmail/queue").path
    let size = Int(r.stderr.dropFirst("gsendmail: the message is ".count).prefix { $0.isNumber }) ?? 0
    #expect(size > 30_000, "\(r.stderr)")
    #expect(
      r.stderr == "gsendmail: the message is \(size) bytes as it would be sent (re-encoded as quoted-printable for a server "
        + "without 8BITMIME or for a line over 998 octets), over the server's SIZE limit (30000 bytes); it was not sent; "
        + "the message is kept in \(queue)/failed/ as \(id) (see gsendmailctl queue show \(id))\n", "\(r.stderr)")
    #expect(rig.received.isEmpty)
    // Nothing after EHLO and AUTH: no MAIL, so no DATA.
    let verbose = try rig.send(["-C", try rig.config(), "-v", "bob@example.org"], input)
    #expect(verbose.status == 65)
    #expect(verbose.stderr.contains("C: AUTH PLAIN") && !verbose.stderr.contains("C: MAIL FROM"), "\(verbose.stderr)")
    #expect(rig.received.isEmpty)
  }

  @Test("max_message_size applies to the message as sent, not only as read")
  func maxMessageSizeAsSent() throws {
    let rig = try Rig(scenarios: [.no8BitMIME])
    let config = try rig.write(
      "small.toml", "max_message_size = 20000\n" + (try String(contentsOfFile: try rig.config(), encoding: .utf8)))
    let r = try rig.send(["-C", config, "bob@example.org"], Self.eightBitMessage(lines: 300))
    #expect(r.status == 65, "\(r.stderr)")
    #expect(r.stderr.contains(", over max_message_size (20000 bytes); it was not sent"), "\(r.stderr)")
    #expect(rig.received.isEmpty)
  }
}
