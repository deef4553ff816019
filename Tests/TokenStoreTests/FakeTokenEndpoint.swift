// SPDX-License-Identifier: MIT
// A fake Google token and revocation endpoint on 127.0.0.1 for the tests: a small Python
// script started as a child process. The last path component picks the behaviour; every
// POST is counted and its body kept, so tests can check how many requests were made and
// what they carried.

import Foundation
import TestSupport
import HTTPClient

final class FakeTokenEndpoint: @unchecked Sendable {
  private let server: PythonServer
  var port: Int { server.port }

  /// POST /token/ok → a fresh access token (after `delay` seconds, default 0.3) and no
  /// refresh token; /token/rotate → also a new refresh token; /token/code → checks the
  /// authorization_code fields and returns both tokens; /token/503, /token/invalid_grant,
  /// /token/notjson, /token/truncated, /token/big (100 KiB of JSON), /token/huge (2 MiB),
  /// /token/noaccess; /revoke/ok, /revoke/invalid, /revoke/500.
  /// GET /count → the number of POSTs; GET /last → the last POST body.
  static let script = #"""
    import http.server, socketserver, threading, time, json, sys
    lock = threading.Lock()
    state = {"count": 0, "last": "", "n": 0}
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def reply(self, code, body, ctype="application/json"):
            if isinstance(body, str): body = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def do_GET(self):
            with lock:
                if self.path == "/count": self.reply(200, str(state["count"]), "text/plain")
                else: self.reply(200, state["last"], "text/plain")
        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode()
            with lock:
                state["count"] += 1
                state["last"] = body
                state["n"] += 1
                k = state["n"]
            mode = self.path.rsplit("/", 1)[-1]
            fields = dict(p.split("=", 1) for p in body.split("&") if "=" in p)
            if mode in ("ok", "rotate", "code"):
                time.sleep(float(sys.argv[1]))
                r = {"access_token": "ya29.AT-%d" % k, "expires_in": 3599, "token_type": "Bearer",
                     "scope": "https://mail.google.com/"}
                if mode == "rotate": r["refresh_token"] = "1//RT-rotated-%d" % k
                if mode == "code":
                    if fields.get("grant_type") != "authorization_code" or "code_verifier" not in fields:
                        return self.reply(400, '{"error":"invalid_request"}')
                    if fields.get("code") != "4%2F0Agood":
                        return self.reply(400, '{"error":"invalid_grant","error_description":"Bad Request"}')
                    r["refresh_token"] = "1//RT-new"
                self.reply(200, json.dumps(r))
            elif mode == "503": self.reply(503, "<html>Service Unavailable</html>", "text/html")
            elif mode == "invalid_grant":
                self.reply(400, '{"error":"invalid_grant","error_description":"Token has been expired or revoked."}')
            elif mode == "unauthorized_client":
                self.reply(401, '{"error":"unauthorized_client","error_description":"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."}')
            elif mode == "notjson": self.reply(200, "<html>captive portal</html>", "text/html")
            elif mode == "truncated": self.reply(200, '{"access_token":"ya29.tru')
            elif mode == "big": self.reply(200, '{"access_token":"' + "a" * 100000 + '"}')
            elif mode == "huge": self.reply(200, "x" * (2 << 20))
            elif mode == "noaccess": self.reply(200, '{"token_type":"Bearer","expires_in":3599}')
            elif self.path == "/revoke/ok": self.reply(200, "")
            elif self.path == "/revoke/invalid": self.reply(400, '{"error":"invalid_token"}')
            elif self.path == "/revoke/500": self.reply(500, "")
            else: self.reply(404, "no such mode", "text/plain")
    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        request_queue_size = 64
    s = S(("127.0.0.1", 0), H)
    print(s.server_address[1], flush=True)
    s.serve_forever()
    """#

  /// - Parameter delay: Seconds the token modes wait before answering.
  init(delay: Double = 0.3) throws {
    server = try PythonServer(script: Self.script, arguments: [String(delay)])
  }

  func url(_ path: String) -> String { server.url(path) }

  /// The number of POSTs received.
  func count() throws -> Int {
    let body = try HTTPClient(timeout: .seconds(5)).get(url: url("/count")).body
    return Int(String(decoding: body, as: UTF8.self)) ?? -1
  }

  /// The last POST body, decoded into fields.
  func lastForm() throws -> [String: String] {
    let data = try HTTPClient(timeout: .seconds(5)).get(url: url("/last")).body
    var fields: [String: String] = [:]
    for part in String(decoding: data, as: UTF8.self).split(separator: "&") {
      let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
      if kv.count == 2 { fields[kv[0]] = kv[1].removingPercentEncoding }
    }
    return fields
  }

}

/// A fresh directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
  let path: String

  init() throws {
    path = NSTemporaryDirectory() + "tokenstore-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A settable clock for the store.
final class TestClock: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Int
  init(_ value: Int) { self.value = value }
  var now: Int {
    get { lock.withLock { value } }
    set { lock.withLock { value = newValue } }
  }
}
