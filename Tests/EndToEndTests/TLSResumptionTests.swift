// TLS sessions kept across processes (gsendmail(8), FILES): the real gsendmail against the
// Gmail test server, which issues TLS 1.3 session tickets as smtp.gmail.com does. Each send
// is a new process; the second one resumes the session the first one saved, and anything
// doubtful about the saved file falls back to a full, verified handshake.
import Foundation
import TestServerKit
import Testing

@Suite("TLS session resumption across sends", .serialized)
struct TLSResumptionTests {
  /// The session file of account alice for `host` on the rig's STARTTLS port.
  private func sessionFile(_ rig: Rig, host: String = "localhost") -> String {
    rig.dir.appendingPathComponent("state/gsendmail/tokens/alice@\(host):\(rig.server.startTLSPort!).tls").path
  }

  /// Sends one message with -v; returns the TLS transcript line and the server's view.
  private func send(_ rig: Rig, config: String) throws -> (tls: String, serverResumed: Bool?) {
    let before = rig.server.sessions.count
    let r = try rig.send(["-C", config, "-v", "bob@example.org"], simpleMessage)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(rig.server.waitForEndedSessions(before + 1))
    let line = r.stderr.split(separator: "\n").first { $0.contains(": TLS ") }.map(String.init) ?? ""
    return (line, rig.server.sessions.last?.tlsResumed)
  }

  @Test("The second send resumes the session the first saved; the file is 0600 and holds no secret of the account")
  func secondSendResumes() throws {
    let rig = try Rig()
    try rig.storeToken(rig.token)
    let config = try rig.config(auth: "oauth", host: "localhost")
    let first = try send(rig, config: config)
    #expect(first.tls.hasSuffix(": TLS TLSv1.3 TLS_AES_256_GCM_SHA384"), "\(first.tls)")
    #expect(first.serverResumed == false)
    let path = sessionFile(rig)
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    #expect(bytes.starts(with: Data("gsendmail-tls-session 2\npeer localhost:".utf8)))
    for secret in [rig.token, rig.refreshToken] {
      #expect(bytes.range(of: Data(secret.utf8)) == nil)
    }
    let second = try send(rig, config: config)
    #expect(second.tls.hasSuffix(", session resumed"), "\(second.tls)")
    #expect(second.serverResumed == true)
    #expect(rig.received.count == 2)
  }

  @Test("A damaged session file means a full handshake; it is replaced by a good one", arguments: ["damaged", "truncated", "wide-mode"])
  func damagedFile(kind: String) throws {
    let rig = try Rig()
    let config = try rig.config(host: "localhost")
    _ = try send(rig, config: config)
    let path = sessionFile(rig)
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    switch kind {
    case "damaged": bytes[bytes.count - 20] ^= 0xff
    case "truncated": bytes = bytes.prefix(bytes.count / 2)
    default: break
    }
    try bytes.write(to: URL(fileURLWithPath: path))
    try FileManager.default.setAttributes([.posixPermissions: kind == "wide-mode" ? 0o644 : 0o600], ofItemAtPath: path)
    let second = try send(rig, config: config)
    #expect(!second.tls.contains("resumed") && second.serverResumed == false, "\(second.tls)")
    let third = try send(rig, config: config)
    #expect(third.serverResumed == true)
  }

  @Test("A day after the handshake that verified the certificate, resumptions stop: the next send verifies again")
  func verifiedAge() throws {
    let rig = try Rig()
    let config = try rig.config(host: "localhost")
    _ = try send(rig, config: config)
    #expect(try send(rig, config: config).serverResumed == true)
    // The resumed send kept the time of the first, full handshake; move it back a day.
    let path = sessionFile(rig)
    var text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
    let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("verified ") })
    let verified = try #require(Int(line.dropFirst("verified ".count)))
    let file = try Data(contentsOf: URL(fileURLWithPath: path))
    let header = try #require(file.range(of: Data("\n\n".utf8)))
    text = String(decoding: file[..<header.lowerBound], as: UTF8.self)
      .replacingOccurrences(of: "verified \(verified)", with: "verified \(verified - 86_401)")
    try (Data(text.utf8) + file[header.lowerBound...]).write(to: URL(fileURLWithPath: path))
    let third = try send(rig, config: config)
    #expect(third.serverResumed == false && !third.tls.contains("resumed"), "\(third.tls)")
    #expect(try send(rig, config: config).serverResumed == true)
  }

  @Test("An expired session is not offered: full handshake, then a fresh one is kept")
  func expired() throws {
    let rig = try Rig(sessionLifetime: 1)
    let config = try rig.config(host: "localhost")
    _ = try send(rig, config: config)
    let old = try Data(contentsOf: URL(fileURLWithPath: sessionFile(rig)))
    Thread.sleep(forTimeInterval: 2.2)
    let second = try send(rig, config: config)
    #expect(second.serverResumed == false && !second.tls.contains("resumed"))
    // Not resumed again here: a ticket of this server lasts 1 s, less than a loaded
    // machine may take to start the next send.
    #expect(try Data(contentsOf: URL(fileURLWithPath: sessionFile(rig))) != old)
  }

  @Test("No state directory is created for a session: a home that does not exist stays so")
  func missingHome() throws {
    let rig = try Rig()
    let config = try rig.config(host: "localhost")
    let home = rig.dir.appendingPathComponent("no-such-parent/home").path
    let r = try Harness.run(
      Harness.binary("gsendmail"), ["-C", config, "bob@example.org"], stdin: simpleMessage.bytes, environment: ["HOME": home])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: rig.dir.appendingPathComponent("no-such-parent").path))
  }

  @Test("A server that gives no tickets: every send succeeds with a full handshake and no file is kept")
  func noTickets() throws {
    let rig = try Rig(sessionTickets: false)
    let config = try rig.config(host: "localhost")
    for _ in 0..<2 {
      let result = try send(rig, config: config)
      #expect(result.serverResumed == false && !result.tls.contains("resumed"))
    }
    #expect(!FileManager.default.fileExists(atPath: sessionFile(rig)))
    #expect(rig.received.count == 2)
  }

  @Test("The session file of another host is not used, even under this host's name")
  func otherHost() throws {
    let rig = try Rig()
    _ = try send(rig, config: try rig.config(host: "localhost"))
    let ipConfig = try rig.config(host: "127.0.0.1", name: "ip.toml")
    try FileManager.default.copyItem(atPath: sessionFile(rig), toPath: sessionFile(rig, host: "127.0.0.1"))
    let result = try send(rig, config: ipConfig)
    #expect(result.serverResumed == false && !result.tls.contains("resumed"))
    // The file was replaced by this host's own session, which the next send resumes.
    let again = try send(rig, config: ipConfig)
    #expect(again.serverResumed == true)
  }

  @Test("The doctor checks the certificate served now: a full handshake despite a saved session")
  func doctorFullHandshake() throws {
    let rig = try Rig()
    let config = try rig.config(host: "localhost")
    _ = try send(rig, config: config)
    let dns = try TestNameServer(zone: DoctorEndToEndTests.goodZone)
    defer { dns.stop() }
    let r = try DoctorEndToEndTests.doctor(rig, ["-C", config], dns: dns)
    #expect(r.out.contains("certificate verified for localhost (subject="), "\(r.out)")
    #expect(rig.server.waitForEndedSessions(2))
    #expect(rig.server.sessions.last?.tlsResumed == false)
    #expect(try send(rig, config: config).serverResumed == true)
  }

  @Test("A session verified under one CA file is not resumed under another trust store")
  func otherTrustStore() throws {
    let rig = try Rig()
    _ = try send(rig, config: try rig.config(host: "localhost"))
    let copy = try rig.write("ca-copy.pem", try String(contentsOfFile: rig.server.caFile, encoding: .utf8))
    let result = try send(rig, config: try rig.config(host: "localhost", caFile: .some(copy), name: "copy.toml"))
    #expect(result.serverResumed == false)
  }
}
