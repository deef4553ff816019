// SPDX-License-Identifier: MIT
// A throwaway HTTP server on 127.0.0.1 for the tests: a small Python script started as a
// child process, which prints its port and then serves until the test stops it.

import Foundation
import TestSupport

/// A Python HTTP server with canned behaviours chosen by path.
final class LoopbackServer: @unchecked Sendable {
  private let server: PythonServer
  var port: Int { server.port }

  /// `GET|POST /ok` → 200 JSON; `/echo` → the method, Content-Type and body; `/hang` →
  /// headers then silence; `/huge` → 2 MiB; `/notjson` → HTML; `/redirect` → 302 to /ok;
  /// `/status/N` → status N; `/slowbody` → a body trickled over 5 s; `/upload` → the
  /// method, X-Test header, body length, byte sum and position-weighted byte sum (mod 2^32),
  /// with a Location header.
  static let script = #"""
    import http.server, socketserver, sys, time, json
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def reply(self, code, body, ctype="application/json", extra=()):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra: self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        def handle_any(self, method):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            p = self.path
            if p == "/ok": self.reply(200, b'{"ok":true}')
            elif p == "/echo":
                self.reply(200, json.dumps({"method": method, "type": self.headers.get("Content-Type"),
                    "accept": self.headers.get("Accept"), "agent": self.headers.get("User-Agent"),
                    "body": body.decode()}).encode())
            elif p == "/hang":
                self.send_response(200); self.send_header("Content-Length", "10"); self.end_headers()
                self.wfile.flush(); time.sleep(30)
            elif p == "/huge": self.reply(200, b"x" * (2 << 20))
            elif p == "/hugechunked":
                self.send_response(200); self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
                for _ in range(64):
                    self.wfile.write(b"8000\r\n" + b"y" * 0x8000 + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            elif p == "/upload":
                self.reply(200, json.dumps({"method": method, "test": self.headers.get("X-Test"),
                    "length": str(len(body)), "sum": str(sum(body)),
                    "weighted": str(sum(i * b for i, b in enumerate(body)) % 4294967296)}).encode(),
                    extra=[("Location", "http://127.0.0.1/session?id=1")])
            elif p == "/notjson": self.reply(200, b"<html>proxy</html>", "text/html")
            elif p == "/redirect": self.reply(302, b"", extra=[("Location", "/ok")])
            elif p.startswith("/status/"): self.reply(int(p[8:]), b'{"error":"x"}')
            elif p == "/slowbody":
                self.send_response(200); self.send_header("Content-Length", "5"); self.end_headers()
                for c in b"abcde":
                    self.wfile.write(bytes([c])); self.wfile.flush(); time.sleep(1)
            else: self.reply(404, b"not found", "text/plain")
        def do_GET(self): self.handle_any("GET")
        def do_POST(self): self.handle_any("POST")
        def do_PUT(self): self.handle_any("PUT")
    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
    s = S(("127.0.0.1", 0), H)
    print(s.server_address[1], flush=True)
    s.serve_forever()
    """#

  init() throws {
    server = try PythonServer(script: Self.script, arguments: [])
  }

  func url(_ path: String) -> String { server.url(path) }

}
