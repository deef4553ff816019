// SPDX-License-Identifier: MIT
// Reading the loopback redirect: request targets, pasted URLs, denial, forgery, junk.

import Testing

@testable import OAuth2

@Suite("AuthorizationRedirect")
struct AuthorizationRedirectTests {
  @Test(
    "The code comes from a request target, a pasted URL or a bare query",
    arguments: [
      "/?state=ST&code=4%2F0Aab-c&scope=https://mail.google.com/",
      "http://127.0.0.1:53682/?state=ST&code=4/0Aab-c&scope=https%3A%2F%2Fmail.google.com%2F",
      "  HTTP://localhost:53682?code=4/0Aab-c&state=ST#frag \n",
      "state=ST&code=4/0Aab-c",
      "?state=ST&code=4/0Aab-c",
    ])
  func code(target: String) throws {
    #expect(try AuthorizationRedirect.code(from: target, expectedState: "ST") == "4/0Aab-c")
  }

  @Test(
    "Refusals name what is wrong",
    arguments: [
      ("/favicon.ico", RedirectError.wrongPath),
      ("/other?state=ST&code=x", .wrongPath),
      ("/", .malformed),
      ("/?", .malformed),
      ("/?state=ST&code=%zz", .malformed),
      ("not a url", .malformed),
      ("/?q=search", .malformed),
      ("/?code=x", .stateMismatch),
      ("/?state=OTHER&code=x", .stateMismatch),
      ("/?state=S&code=x", .stateMismatch),
      ("/?state=OTHER&error=access_denied", .stateMismatch),
      ("/?state=ST&error=access_denied", .accessDenied),
      (
        "/?state=ST&error=invalid_scope&error_description=bad+scope",
        .authorizationError(code: "invalid_scope", description: "bad scope")
      ),
      ("/?state=ST", .missingCode),
      ("/?state=ST&code=", .missingCode),
    ])
  func refusals(target: String, error: RedirectError) {
    #expect(throws: error) { try AuthorizationRedirect.code(from: target, expectedState: "ST") }
  }

  @Test("Error text never contains the code")
  func noCodeInErrors() {
    let cases: [RedirectError] = [
      .wrongPath, .malformed, .stateMismatch, .accessDenied, .missingCode,
    ]
    for error in cases { #expect(!error.description.isEmpty) }
    do {
      _ = try AuthorizationRedirect.code(from: "/?state=WRONG&code=SECRETCODE", expectedState: "ST")
      Issue.record("a wrong state was accepted")
    } catch {
      #expect(!error.description.contains("SECRETCODE"))
    }
  }
}
