// SPDX-License-Identifier: MIT
// DNS: TXT look-ups through glibc's resolver against a local name server
// (Tests/python/dns_zone_server.py, dnslib), and the reply parser fed whole, cut at every
// byte, and with bad input.

import Testing

@testable import Transport

#if canImport(Glibc)
  import Glibc
#endif

@Suite("DNS")
struct DNSTests {
  static let zone = """
    example.com.                 60 IN TXT "v=spf1 include:_spf.google.com ~all"
    example.com.                 60 IN TXT "google-site-verification=abc123"
    google._domainkey.example.com. 60 IN TXT "v=DKIM1; k=rsa; " "p=MIIBIjANBgkqh"
    _dmarc.example.com.          60 IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@example.com"
    twice.example.                60 IN TXT "v=spf1 include:_spf.google.com ~all"
    twice.example.                60 IN TXT "v=spf1 mx -all"
    open.example.                 60 IN TXT "v=spf1 +all"
    alias.example.                60 IN CNAME example.com.
    mx-only.example.              60 IN MX 10 mail.example.com.
    """

  // MARK: Against a local name server

  @Test("TXT records are returned whole, strings of one record joined")
  func present() throws {
    let server = try LocalNameServer(zone: Self.zone)
    defer { server.stop() }
    #expect(
      try DNS.txtRecords(name: "example.com", server: server.address)
        == ["v=spf1 include:_spf.google.com ~all", "google-site-verification=abc123"])
    #expect(
      try DNS.txtRecords(name: "google._domainkey.example.com", server: server.address)
        == ["v=DKIM1; k=rsa; p=MIIBIjANBgkqh"])
    #expect(
      try DNS.txtRecords(name: "_dmarc.example.com.", server: server.address)
        == ["v=DMARC1; p=quarantine; rua=mailto:d@example.com"])
  }

  @Test("several SPF records and +all come back as published")
  func multipleAndPlusAll() throws {
    let server = try LocalNameServer(zone: Self.zone)
    defer { server.stop() }
    #expect(
      try DNS.txtRecords(name: "twice.example", server: server.address)
        == ["v=spf1 include:_spf.google.com ~all", "v=spf1 mx -all"])
    #expect(try DNS.txtRecords(name: "open.example", server: server.address) == ["v=spf1 +all"])
  }

  @Test("a missing name (NXDOMAIN) and a name without TXT are empty answers")
  func missing() throws {
    let server = try LocalNameServer(zone: Self.zone)
    defer { server.stop() }
    #expect(try DNS.txtRecords(name: "_dmarc.nothing.example", server: server.address) == [])
    #expect(try DNS.txtRecords(name: "mx-only.example", server: server.address) == [])
  }

  @Test("a CNAME in front of the TXT records is skipped")
  func cname() throws {
    let server = try LocalNameServer(zone: Self.zone)
    defer { server.stop() }
    // dnslib answers the CNAME and, being authoritative for the zone, not its target.
    #expect(try DNS.txtRecords(name: "alias.example", server: server.address) == [])
  }

  @Test("SERVFAIL is an error, not an empty answer")
  func serverFailure() throws {
    let server = try LocalNameServer(zone: Self.zone, servfail: ["broken.example"])
    defer { server.stop() }
    #expect(throws: DNSError.serverFailure(name: "broken.example")) {
      try DNS.txtRecords(name: "broken.example", server: server.address)
    }
  }

  @Test("no name server listening is an error within the timeout")
  func nobodyListening() throws {
    let port = try UDPPort.free()
    let start = ContinuousClock.now
    #expect(throws: DNSError.serverFailure(name: "example.com")) {
      try DNS.txtRecords(name: "example.com", server: DNSServer(address: "127.0.0.1", port: port), timeout: .seconds(1))
    }
    #expect(ContinuousClock.now - start < .seconds(5))
  }

  @Test("names and server addresses are checked")
  func invalidInput() {
    #expect(throws: DNSError.invalidName("")) { try DNS.txtRecords(name: "") }
    #expect(throws: DNSError.invalidName("a\0b")) { try DNS.txtRecords(name: "a\0b") }
    let long = String(repeating: "a.", count: 130)
    #expect(throws: DNSError.invalidName(long)) { try DNS.txtRecords(name: long) }
    #expect(DNSServer(parsing: "127.0.0.1:5353") == DNSServer(address: "127.0.0.1", port: 5353))
    for bad in ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "localhost:53", ":53", "::1:53"] {
      #expect(DNSServer(parsing: bad) == nil, "\(bad)")
    }
  }

  @Test("host addresses come from getaddrinfo")
  func addresses() throws {
    #expect(try DNS.addresses(of: "127.0.0.1") == ["127.0.0.1"])
    #expect(try DNS.addresses(of: "::1") == ["::1"])
    #expect(throws: DNSError.self) { try DNS.addresses(of: "no such host") }
  }

  // MARK: The reply parser

  /// A reply with one question and the given answer records (name compressed to the question).
  static func reply(id: UInt16 = 7, flags: UInt16 = 0x8180, answers: [(type: UInt16, data: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), UInt8(flags >> 8), UInt8(flags & 0xff), 0, 1]
    out += [0, UInt8(answers.count), 0, 0, 0, 0]
    out += [7] + Array("example".utf8) + [3] + Array("com".utf8) + [0, 0, 16, 0, 1]
    for answer in answers {
      out += [0xC0, 12, UInt8(answer.type >> 8), UInt8(answer.type & 0xff), 0, 1, 0, 0, 0, 60]
      out += [UInt8(answer.data.count >> 8), UInt8(answer.data.count & 0xff)] + answer.data
    }
    return out
  }

  static func strings(_ parts: String...) -> [UInt8] { parts.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } }

  @Test("the parser reads TXT strings, skips other types, and accepts empty strings")
  func parserWhole() throws {
    let bytes = Self.reply(answers: [
      (5, [3] + Array("foo".utf8) + [0]), (16, Self.strings("v=spf1 ", "-all")), (16, Self.strings("")), (16, []),
    ])
    #expect(try DNSReply.txtRecords(bytes) == [Array("v=spf1 -all".utf8), [], []])
  }

  @Test("every reply cut short is malformed, never a crash or a partial answer")
  func parserTruncated() throws {
    let bytes = Self.reply(answers: [(16, Self.strings("v=DMARC1; p=none")), (16, Self.strings("x"))])
    #expect(try DNSReply.txtRecords(bytes).count == 2)
    for cut in 0..<bytes.count {
      #expect(throws: DNSReply.Malformed.self, "cut at \(cut)") { try DNSReply.txtRecords(Array(bytes[0..<cut])) }
    }
  }

  @Test("bad replies: a query, TC set, a string overrunning its record, bad labels, a long name")
  func parserBadInput() {
    #expect(throws: DNSReply.Malformed(detail: "not a response")) {
      try DNSReply.txtRecords(Self.reply(flags: 0x0100, answers: []))
    }
    #expect(throws: DNSReply.Malformed(detail: "truncated")) {
      try DNSReply.txtRecords(Self.reply(flags: 0x8380, answers: []))
    }
    #expect(throws: DNSReply.Malformed(detail: "TXT string overruns its record")) {
      try DNSReply.txtRecords(Self.reply(answers: [(16, [5, 65, 66])]))
    }
    var badLabel = Self.reply(answers: [])
    badLabel[12] = 0x80
    #expect(throws: DNSReply.Malformed(detail: "unknown label type")) { try DNSReply.txtRecords(badLabel) }
    var longName: [UInt8] = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]
    for _ in 0..<5 { longName += [63] + Array(repeating: 97, count: 63) }
    longName += [0, 0, 16, 0, 1]
    #expect(throws: DNSReply.Malformed(detail: "name longer than 255 bytes")) { try DNSReply.txtRecords(longName) }
  }
}

/// A free UDP port on 127.0.0.1 (bound, read, released).
enum UDPPort {
  struct Unavailable: Error {}

  static func free() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw Unavailable() }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
      }
    }
    guard ok else { throw Unavailable() }
    return UInt16(bigEndian: address.sin_port)
  }
}

/// Tests/python/dns_zone_server.py serving a zone on 127.0.0.1, stopped by `stop()`.
/// It needs a Python with dnslib: `$GSENDMAIL_TEST_PYTHON`, the package's `.venv`
/// (scripts/test.sh makes it from Tests/python/requirements.txt), or `python3`.
final class LocalNameServer {
  struct Unavailable: Error, CustomStringConvertible {
    var description: String
  }

  let pid: pid_t
  let address: DNSServer
  /// The write end of its standard input: the server exits when this closes, even if the
  /// test process dies.
  let input: Int32

  init(zone: String, servfail: [String] = []) throws {
    let root = String(#filePath.split(separator: "/").dropLast(3).joined(separator: "/")).withLeadingSlash
    let candidates = [getenv("GSENDMAIL_TEST_PYTHON").map { String(cString: $0) }, root + "/.venv/bin/python3", "python3"]
    guard let python = candidates.compactMap({ $0 }).first(where: { run([$0, "-c", "import dnslib"]) == 0 }) else {
      throw Unavailable(
        description: "no Python with dnslib: python3 -m venv .venv && .venv/bin/pip install -r Tests/python/requirements.txt")
    }
    var template = Array("/tmp/gsendmail-zone-XXXXXX".utf8CString)
    let zoneFD = mkstemp(&template)
    guard zoneFD >= 0 else { throw Unavailable(description: "cannot create a zone file") }
    let zonePath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    _ = Array(zone.utf8).withUnsafeBytes { write(zoneFD, $0.baseAddress, $0.count) }
    close(zoneFD)
    defer { unlink(zonePath) }

    var out: [Int32] = [0, 0]
    var inPipe: [Int32] = [0, 0]
    guard pipe(&out) == 0, pipe(&inPipe) == 0 else { throw Unavailable(description: "pipe failed") }
    input = inPipe[1]
    // Only this server may hold the write end, or its end of file would never come.
    _ = fcntl(input, F_SETFD, FD_CLOEXEC)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
    posix_spawn_file_actions_addclose(&actions, inPipe[0])
    posix_spawn_file_actions_adddup2(&actions, out[1], 1)
    posix_spawn_file_actions_addclose(&actions, out[0])
    posix_spawn_file_actions_addclose(&actions, out[1])
    let arguments = [python, root + "/Tests/python/dns_zone_server.py", zonePath] + servfail.flatMap { ["--servfail", $0] }
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawnp(&pid, python, &actions, nil, argv, environ)
    close(out[1])
    close(inPipe[0])
    defer { close(out[0]) }
    guard spawned == 0 else {
      close(input)
      throw Unavailable(description: "cannot run \(python)")
    }
    self.pid = pid
    // The first line is the port, printed once the socket is bound.
    var line: [UInt8] = []
    var byte: UInt8 = 0
    while read(out[0], &byte, 1) == 1 && byte != 10 { line.append(byte) }
    guard let port = UInt16(String(decoding: line, as: UTF8.self)) else {
      close(input)
      kill(pid, SIGKILL)
      var status: Int32 = 0
      waitpid(pid, &status, 0)
      throw Unavailable(description: "the name server did not start")
    }
    address = DNSServer(address: "127.0.0.1", port: port)
  }

  func stop() {
    close(input)
    kill(pid, SIGKILL)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  }
}

extension String {
  fileprivate var withLeadingSlash: String { hasPrefix("/") ? self : "/" + self }
}
