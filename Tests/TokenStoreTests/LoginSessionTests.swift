// SPDX-License-Identifier: MIT
// The loopback login: the URL, the listener refusing stray and forged requests and
// accepting the real redirect, a pasted redirect URL, and denial.

import Foundation
import HTTPClient
import OAuth2
import Testing

@testable import TokenStore

@Suite("LoginSession", .serialized)
struct LoginSessionTests {
  let client = OAuthClient(
    clientID: "cid.apps.googleusercontent.com", clientSecret: "GOCSPX-x",
    authorizationURL: "https://accounts.google.com/o/oauth2/v2/auth")

  /// The `state` the session put in its URL.
  func state(of session: LoginSession) -> String {
    let query = session.authorizationURL.split(separator: "?", maxSplits: 1)[1]
    return FormEncoding.decode(query)?.first { $0.name == "state" }?.value ?? ""
  }

  /// Runs `waitForCode` on another thread.
  func waitInBackground(_ session: LoginSession, input: Int32? = nil) -> WaitResult {
    let result = WaitResult()
    let box = UncheckedBox(session)
    Thread.detachNewThread {
      do throws(TokenError) {
        let code = try box.value.waitForCode(timeout: .seconds(10), input: input) {
          result.notices.append($0)
        }
        result.finish(.success(code))
      } catch {
        result.finish(.failure(error))
      }
    }
    return result
  }

  @Test("The URL names the loopback port, PKCE S256, offline access and the login hint")
  func url() throws {
    let session = try LoginSession(client: client, loginHint: "alice@example.com")
    #expect(session.redirectURI == "http://127.0.0.1:\(session.port)/")
    let fields =
      FormEncoding.decode(session.authorizationURL.split(separator: "?", maxSplits: 1)[1]) ?? []
    let map = Dictionary(fields.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
    #expect(map["redirect_uri"] == session.redirectURI)
    #expect(map["code_challenge_method"] == "S256")
    #expect(map["code_challenge"]?.count == 43)
    #expect(map["access_type"] == "offline" && map["prompt"] == "consent")
    #expect(map["login_hint"] == "alice@example.com")
    #expect((43...128).contains(session.codeVerifier.count))
    #expect(map["state"]?.count == 22)
    #expect(session.sshHint(destination: "alice@box.example.com") == "ssh -L \(session.port):127.0.0.1:\(session.port) alice@box.example.com")
  }

  @Test("Stray and forged requests are refused and the wait goes on; the real redirect ends it")
  func redirect() throws {
    let session = try LoginSession(client: client, loginHint: nil)
    let result = waitInBackground(session)
    let http = HTTPClient(timeout: .seconds(5))
    let base = "http://127.0.0.1:\(session.port)"
    #expect(try http.get(url: base + "/favicon.ico").status == 404)
    let forged = try http.get(url: base + "/?state=forged&code=4/0Aevil")
    #expect(forged.status == 400)
    #expect(String(decoding: forged.body, as: UTF8.self).contains("does not match"))
    #expect(try http.get(url: base + "/?code=x").status == 400)
    #expect(try http.post(url: base + "/", form: "a=b").status == 400)
    let ok = try http.get(
      url: base + "/?state=\(state(of: session))&code=4%2F0Agood&scope=https://mail.google.com/")
    #expect(ok.status == 200)
    #expect(String(decoding: ok.body, as: UTF8.self).contains("You can close this window"))
    #expect(result.wait() == .success("4/0Agood"))
    #expect(result.notices.values.count == 2)
    #expect(!result.notices.values.joined().contains("4/0Aevil"))
  }

  @Test("access_denied with our state ends the login with a clear message")
  func denied() throws {
    let session = try LoginSession(client: client, loginHint: nil)
    let result = waitInBackground(session)
    let page = try HTTPClient(timeout: .seconds(5)).get(
      url: "http://127.0.0.1:\(session.port)/?error=access_denied&state=\(state(of: session))")
    #expect(String(decoding: page.body, as: UTF8.self).contains("access was denied"))
    guard case .failure(let error) = result.wait() else {
      Issue.record("a denial ended in success")
      return
    }
    #expect(error == .loginRefused("login failed: access was denied in the browser (error=access_denied)"))
  }

  @Test("A redirect URL pasted on the input works; junk lines are reported first")
  func pasted() throws {
    let session = try LoginSession(client: client, loginHint: nil)
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    defer { close(fds[0]) }
    let result = waitInBackground(session, input: fds[0])
    let text =
      "\nnot a url\nhttp://127.0.0.1:\(session.port)/?state=\(state(of: session))&code=4/0Apasted\n"
    _ = text.withCString { write(fds[1], $0, strlen($0)) }
    close(fds[1])
    #expect(result.wait() == .success("4/0Apasted"))
    #expect(
      result.notices.values == [
        "pasted text refused: not an OAuth redirect (no valid query string)"
      ])
  }

  @Test("A bare code pasted alone (as Google shows it, or percent-encoded) is taken; a line with spaces is not")
  func bareCode() throws {
    #expect(LoginSession.bareCode("4/0AeaYSHBx-y_z.w~1") == "4/0AeaYSHBx-y_z.w~1")
    #expect(LoginSession.bareCode("  4%2F0AeaYSHBxyz\r") == "4/0AeaYSHBxyz")
    for junk in ["not a url", "/favicon.ico", "short", "state=a&code=b", "http://127.0.0.1:5/?code=x"] {
      #expect(LoginSession.bareCode(junk) == nil, "\(junk)")
    }
    let session = try LoginSession(client: client, loginHint: nil)
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    defer { close(fds[0]) }
    let result = waitInBackground(session, input: fds[0])
    _ = "4/0Abarecode\n".withCString { write(fds[1], $0, strlen($0)) }
    close(fds[1])
    #expect(result.wait() == .success("4/0Abarecode"))
  }

  @Test("--port: the listener takes the port asked for; a port in use is refused with the fix")
  func fixedPort() throws {
    var port: UInt16 = 0
    do { port = try LoginSession(client: client, loginHint: nil).port }  // a free port, released
    let fixed = try LoginSession(client: client, loginHint: nil, port: port)
    #expect(fixed.port == port && fixed.redirectURI == "http://127.0.0.1:\(port)/")
    do {
      _ = try LoginSession(client: client, loginHint: nil, port: port)
      Issue.record("a second listener on port \(port)")
    } catch {
      #expect("\(error)".contains("port \(port)") && "\(error)".contains("choose another --port"), "\(error)")
    }
  }

  @Test("Nothing arriving ends in a timeout")
  func timeout() throws {
    let session = try LoginSession(client: client, loginHint: nil)
    #expect(throws: TokenError.login("no redirect arrived within 1 s; run the login again")) {
      try session.waitForCode(timeout: .seconds(1))
    }
  }
}

final class UncheckedBox<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}

final class StringList: @unchecked Sendable {
  private let lock = NSLock()
  private var items: [String] = []
  func append(_ s: String) { lock.withLock { items.append(s) } }
  var values: [String] { lock.withLock { items } }
}

/// The outcome of a background wait.
final class WaitResult: @unchecked Sendable {
  let notices = StringList()
  private let done = DispatchSemaphore(value: 0)
  private var result: Result<String, TokenError>?

  func finish(_ r: Result<String, TokenError>) {
    result = r
    done.signal()
  }

  func wait() -> Result<String, TokenError>? {
    guard done.wait(timeout: .now() + 15) == .success else { return nil }
    return result
  }
}
