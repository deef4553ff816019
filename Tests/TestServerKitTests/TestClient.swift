// Test support: a line-level SMTP and HTTP client over Transport, a temp state
// directory, and helpers to start the emulator.

import Foundation
import TestServerKit
import Testing
import Transport

/// A minimal SMTP client that shows the server's replies exactly.
final class SMTPTestClient {
  let connection: Connection
  private var buffer: [UInt8] = []

  init(port: UInt16, implicitTLS: Bool = false, caFile: String) throws {
    connection = try TCPConnection.connect(host: "127.0.0.1", port: port, timeout: .seconds(10))
    if implicitTLS { try connection.startTLS(serverName: "localhost", caFile: caFile) }
  }

  /// Reads one whole reply; returns its lines without CRLF.
  func reply() throws -> [String] {
    var lines: [String] = []
    while true {
      let line = try readLine()
      lines.append(line)
      let bytes = Array(line.utf8)
      if bytes.count < 4 || bytes[3] == UInt8(ascii: " ") { return lines }
    }
  }

  /// Sends a line (CRLF added) and returns the reply.
  @discardableResult
  func command(_ line: String) throws -> [String] {
    try send(line)
    return try reply()
  }

  func send(_ text: String) throws {
    try connection.write(Array((text + "\r\n").utf8))
  }

  func sendRaw(_ bytes: [UInt8]) throws {
    try connection.write(bytes)
  }

  func startTLS(caFile: String) throws {
    try connection.startTLS(serverName: "localhost", caFile: caFile)
  }

  /// True when the server has closed the connection (reads end of stream or a reset).
  func isClosedByServer() -> Bool {
    do {
      var scratch: [UInt8] = []
      return try connection.read(into: &scratch) == 0
    } catch .connectionClosed {
      return true
    } catch {
      return false
    }
  }

  private func readLine() throws -> String {
    while true {
      if let newline = buffer.firstIndex(of: 10) {
        let line = buffer[..<newline].last == 13 ? buffer[..<(newline - 1)] : buffer[..<newline]
        defer { buffer.removeFirst(newline + 1) }
        return String(decoding: line, as: UTF8.self)
      }
      if try connection.read(into: &buffer) == 0 { throw TransportError.connectionClosed }
    }
  }
}

/// One HTTP request to the test server: raw header lines, then a form (with its
/// Content-Type) or a body; Content-Length is sent when there is either. Returns the
/// status, the response head and the body.
func httpRequest(
  port: UInt16, _ method: String, _ target: String, form: String? = nil, headers: [String] = [], body: [UInt8]? = nil
) throws -> (status: Int, headers: String, body: String) {
  let connection = try TCPConnection.connect(host: "127.0.0.1", port: port, timeout: .seconds(10))
  defer { connection.close() }
  var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
  for line in headers { head += line + "\r\n" }
  var payload = body
  if let form {
    head += "Content-Type: application/x-www-form-urlencoded\r\n"
    payload = Array(form.utf8)
  }
  if let payload { head += "Content-Length: \(payload.count)\r\n" }
  try connection.write(Array((head + "\r\n").utf8) + (payload ?? []))
  var response: [UInt8] = []
  while try connection.read(into: &response) > 0 {}
  let text = String(decoding: response, as: UTF8.self)
  let parts = text.components(separatedBy: "\r\n\r\n")
  let status = Int(parts[0].split(separator: " ")[1]) ?? 0
  return (status, parts[0], parts.dropFirst().joined(separator: "\r\n\r\n"))
}

/// A fresh directory under the temp directory.
func makeStateDirectory() -> String {
  let path = NSTemporaryDirectory() + "gts-test-\(UUID().uuidString)"
  try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}

/// Starts a server on ephemeral ports with one account and one token.
func startServer(_ change: (inout GmailTestServerConfiguration) -> Void = { _ in }) throws
  -> GmailTestServer
{
  var configuration = GmailTestServerConfiguration(stateDirectory: makeStateDirectory())
  configuration.users = ["alice@gmail.com": "abcd efgh ijkl mnop"]
  configuration.accessTokens = ["ya29.AAAA"]
  configuration.refreshTokens = ["1//0g-known"]
  change(&configuration)
  return try GmailTestServer(configuration)
}

func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

/// Replaces the session id in a reply line so that lines can be compared exactly.
func masked(_ line: String, sid: String) -> String {
  line.replacingOccurrences(of: sid, with: "<sid>")
}
