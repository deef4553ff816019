// SPDX-License-Identifier: MIT
// HTTPClient against a loopback server: POST and GET, statuses, no redirects, a server
// that hangs (the timeout holds), a huge body (the cap holds), and the URL policy.

import Foundation
import Testing

@testable import HTTPClient

@Suite("HTTPClient", .serialized)
struct HTTPClientTests {
  let server: LoopbackServer
  let client = HTTPClient(
    timeout: .seconds(3), maximumResponseBytes: 1 << 20, userAgent: "gsendmail-test")

  init() throws { server = try LoopbackServer() }

  func json(_ response: HTTPResponse) throws -> [String: String] {
    let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
    return object?.compactMapValues { $0 as? String } ?? [:]
  }

  /// `count` bytes of a repeating pattern, handed out in pieces of at most `piece`;
  /// throws after `failAfter` bytes when set.
  final class PatternBody: UploadBody {
    struct Broken: Error, CustomStringConvertible {
      var description: String { "disk on fire" }
    }
    let count: Int
    let failAfter: Int?
    var sent = 0
    init(count: Int, failAfter: Int? = nil) {
      self.count = count
      self.failAfter = failAfter
    }
    static func byte(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: i &* 31 &+ i / 251) }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
      if let failAfter, sent >= failAfter { throw Broken() }
      let n = min(buffer.count, count - sent, 10_000)
      for i in 0..<n { buffer[i] = Self.byte(sent + i) }
      sent += n
      return n
    }
  }

  @Test("An upload streams its body from the callback (POST and PUT) and keeps the response's headers")
  func upload() throws {
    let count = 3_000_001
    var sum = 0
    var weighted: UInt64 = 0
    for i in 0..<count {
      let b = Int(PatternBody.byte(i))
      sum += b
      weighted = (weighted + UInt64(i) * UInt64(b)) % 4_294_967_296
    }
    for method in ["POST", "PUT"] {
      let response = try client.upload(
        url: server.url("/upload"), method: method, headers: [HTTPHeader(name: "X-Test", value: "yes")], length: count,
        body: PatternBody(count: count), replyTimeout: .seconds(5))
      #expect(response.status == 200)
      let fields = try json(response)
      #expect(fields["method"] == method && fields["test"] == "yes")
      #expect(fields["length"] == String(count) && fields["sum"] == String(sum) && fields["weighted"] == String(weighted))
      #expect(response.header("location") == "http://127.0.0.1/session?id=1")
      #expect(response.peerAddress == "127.0.0.1" && response.peerPort == server.port)
    }
    let empty = try client.upload(
      url: server.url("/upload"), method: "POST", headers: [], length: 0, body: nil, replyTimeout: .seconds(5))
    #expect(try json(empty)["length"] == "0")
  }

  @Test("A body that cannot be read aborts the upload with its own reason")
  func uploadBodyFails() {
    #expect(throws: HTTPError.bodyUnreadable(url: server.url("/upload"), detail: "disk on fire")) {
      try client.upload(
        url: server.url("/upload"), method: "POST", headers: [], length: 100_000,
        body: PatternBody(count: 100_000, failAfter: 20_000), replyTimeout: .seconds(5))
    }
  }

  @Test("An upload to a refused URL is not sent")
  func uploadPolicy() {
    #expect(throws: HTTPError.insecureURL("http://example.com/upload")) {
      try client.upload(url: "http://example.com/upload", method: "POST", headers: [], length: 0, body: nil, replyTimeout: .seconds(1))
    }
  }

  @Test("A form POST sends the body and headers")
  func post() throws {
    let response = try client.post(url: server.url("/echo"), form: "a=1&b=%2F")
    #expect(response.status == 200)
    let fields = try json(response)
    #expect(fields["method"] == "POST")
    #expect(fields["type"] == "application/x-www-form-urlencoded")
    #expect(fields["accept"] == "application/json")
    #expect(fields["agent"] == "gsendmail-test")
    #expect(fields["body"] == "a=1&b=%2F")
  }

  @Test("An empty POST is still a POST; GET works")
  func emptyPostAndGet() throws {
    #expect(try json(client.post(url: server.url("/echo"), form: ""))["method"] == "POST")
    let get = try client.get(url: server.url("/echo"))
    #expect(try json(get)["method"] == "GET")
  }

  @Test("Any status is a response, and redirects are not followed")
  func statuses() throws {
    #expect(try client.post(url: server.url("/status/503"), form: "x=1").status == 503)
    #expect(
      try client.post(url: server.url("/status/400"), form: "x=1").body
        == Array(#"{"error":"x"}"#.utf8))
    let redirect = try client.get(url: server.url("/redirect"))
    #expect(redirect.status == 302)
    #expect(try client.get(url: server.url("/notjson")).body == Array("<html>proxy</html>".utf8))
  }

  @Test("A server that stops sending hits the total timeout")
  func hang() {
    let quick = HTTPClient(timeout: .seconds(1))
    let start = ContinuousClock.now
    #expect(throws: HTTPError.timedOut(url: server.url("/hang"), seconds: 1)) {
      try quick.post(url: server.url("/hang"), form: "x=1")
    }
    #expect(ContinuousClock.now - start < .seconds(5))
  }

  @Test("A body trickling in slower than the timeout is cut off")
  func slowBody() {
    let quick = HTTPClient(timeout: .seconds(2))
    #expect(throws: HTTPError.timedOut(url: server.url("/slowbody"), seconds: 2)) {
      try quick.get(url: server.url("/slowbody"))
    }
  }

  @Test("A body over the limit is refused, with or without Content-Length")
  func huge() {
    #expect(throws: HTTPError.tooLarge(url: server.url("/huge"), limit: 1 << 20)) {
      try client.get(url: server.url("/huge"))
    }
    #expect(throws: HTTPError.tooLarge(url: server.url("/hugechunked"), limit: 1 << 20)) {
      try client.get(url: server.url("/hugechunked"))
    }
    let small = HTTPClient(timeout: .seconds(3), maximumResponseBytes: 5)
    #expect(throws: HTTPError.tooLarge(url: server.url("/notjson"), limit: 5)) {
      try small.get(url: server.url("/notjson"))
    }
  }

  @Test("A closed port is a connect failure, and temporary")
  func refused() throws {
    // Port 9 (discard) on loopback is not listening on a test machine.
    do {
      _ = try client.post(url: "http://127.0.0.1:9/token", form: "x=1")
      Issue.record("a closed port answered")
    } catch {
      guard case .connect = error else {
        Issue.record("expected .connect, got \(error)")
        return
      }
      #expect(error.isTemporary)
      #expect(!error.description.contains("x=1"))
    }
  }

  @Test(
    "URL policy: https anywhere, http on loopback only",
    arguments: [
      ("https://oauth2.googleapis.com/token", true),
      ("HTTPS://example.com", true),
      ("http://127.0.0.1:8080/token", true),
      ("http://localhost/token", true),
      ("http://[::1]:99/token", true),
      ("http://example.com/token", false),
      ("http://127.0.0.1.evil.com/token", false),
      ("http://localhost@evil.com/", false),
      ("https://user:pw@example.com/", false),
      ("http://[::1].evil/", false),
      ("ftp://127.0.0.1/", false),
      ("file:///etc/passwd", false),
      ("https://", false),
    ])
  func policy(url: String, allowed: Bool) {
    #expect(URLPolicy.isAllowed(url) == allowed)
  }

  @Test("A refused URL is not sent and is not temporary")
  func insecure() {
    #expect(throws: HTTPError.insecureURL("http://example.com/token")) {
      try client.post(url: "http://example.com/token", form: "x=1")
    }
    #expect(!HTTPError.insecureURL("x").isTemporary)
  }
}
