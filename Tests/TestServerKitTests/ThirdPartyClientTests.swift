import Foundation
import TestServerKit
import Testing

@Suite("Gmail emulator: a third-party client (Python smtplib)", .serialized)
struct ThirdPartyClientTests {
  static let script = """
    import smtplib, ssl, sys
    port, tls_port, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ctx = ssl.create_default_context(cafile=ca)
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example.org", timeout=10)
    s.starttls(context=ctx)
    s.login("alice@gmail.com", "abcd efgh ijkl mnop")
    s.sendmail("alice@gmail.com", ["bob@example.net", "carol@example.net"],
               b"Subject: py\\r\\n\\r\\n.starts with a dot\\r\\n")
    s.quit()
    s = smtplib.SMTP_SSL("localhost", tls_port, local_hostname="client.example.org", context=ctx, timeout=10)
    try:
        s.login("alice@gmail.com", "wrong")
        sys.exit(3)
    except smtplib.SMTPAuthenticationError as e:
        assert e.smtp_code == 535, e
    s.quit()
    """

  @Test("smtplib: STARTTLS + login + sendmail, then SMTP_SSL with a wrong password")
  func smtplib() throws {
    let server = try startServer()
    defer { server.stop() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", "-c", Self.script, String(try #require(server.startTLSPort)),
      String(try #require(server.implicitTLSPort)), server.caFile,
    ]
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    #expect(server.waitForEndedSessions(2))
    let message = try #require(server.messages.first)
    #expect(message.data == Array("Subject: py\r\n\r\n.starts with a dot\r\n".utf8))
    #expect(message.record.recipients == ["bob@example.net", "carol@example.net"])
    #expect(message.record.authMechanism == "PLAIN" || message.record.authMechanism == "LOGIN")
    #expect(message.record.tls)
    #expect(server.sessions.map(\.end) == ["quit", "quit"])
    #expect(server.sessions.last?.authentications.first?.credentialValid == false)
  }
}
