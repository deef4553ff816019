import TestServerKit
import Testing

@Suite("gmail-test-server command line")
struct OptionsTests {
  @Test("Flags fill the configuration")
  func flags() throws {
    let options = try GmailTestServerOptions.parse(
      [
        "--state-dir", "/tmp/s", "--port", "2587", "--tls-port", "off", "--http-port", "0",
        "--https-port", "8443", "--relay",
        "--user", "u@example.com", "--password", "pw", "--token", "ya29.t", "--refresh-token",
        "1//r",
        "--max-size", "1000", "--scenario", "rcpt-5xx=b@example.net", "--scenario", "stall=data",
        "--token-failure", "503", "--rotate-refresh-tokens", "--expires-in", "5", "--no-records",
        "--exit-on-stdin-eof", "--verbose",
      ], defaultStateDirectory: "/tmp/default")
    let configuration = options.configuration
    #expect(configuration.stateDirectory == "/tmp/s")
    #expect(configuration.startTLSPort == 2587 && configuration.implicitTLSPort == nil)
    #expect(configuration.httpPort == 0 && configuration.httpsPort == 8443)
    #expect(configuration.mode == .relay)
    #expect(configuration.users == ["u@example.com": "pw"])
    #expect(configuration.accessTokens == ["ya29.t"] && configuration.refreshTokens == ["1//r"])
    #expect(configuration.maxMessageSize == 1000)
    #expect(
      configuration.scenarios == [.permanentRecipientFailure("b@example.net"), .stall(.data)])
    #expect(
      options.tokenBehavior
        == TokenEndpointBehavior(failure: .unavailable, rotateRefreshTokens: true, expiresIn: 5))
    #expect(!configuration.recordToDisk && options.exitOnStdinEOF && options.verbose)
  }

  @Test("Defaults: ephemeral ports, the default state directory")
  func defaults() throws {
    let options = try GmailTestServerOptions.parse([], defaultStateDirectory: "/tmp/d")
    #expect(options.configuration.stateDirectory == "/tmp/d")
    #expect(options.configuration.startTLSPort == 0 && options.configuration.implicitTLSPort == 0)
    #expect(options.configuration.httpPort == 0 && options.configuration.mode == .submission)
    #expect(options.configuration.httpsPort == nil)
  }

  @Test("The Gmail API's options: send-only tokens and error replies")
  func apiOptions() throws {
    let options = try GmailTestServerOptions.parse(
      [
        "--token-scope", "https://www.googleapis.com/auth/gmail.send", "--scenario", "api-error=429",
        "--scenario", "api-error=403:dailyLimitExceeded", "--scenario", "api-error=401::1",
      ], defaultStateDirectory: "/tmp/d")
    #expect(options.tokenBehavior.scope == "https://www.googleapis.com/auth/gmail.send")
    #expect(
      options.configuration.scenarios == [
        .apiError(status: 429, reason: nil, times: nil), .apiError(status: 403, reason: "dailyLimitExceeded", times: nil),
        .apiError(status: 401, reason: nil, times: 1),
      ])
    for text in ["api-error", "api-error=200", "api-error=abc", "api-error=500:x:0", "api-error=500:x:1:2"] {
      #expect(throws: GmailScenario.ParseError.badArgument(text)) { try GmailScenario.parse(text) }
    }
  }

  static let bad: [([String], GmailTestServerOptions.UsageError)] = [
    (["--bogus"], .unknownFlag("--bogus")),
    (["--port"], .missingValue("--port")),
    (["--port", "99999"], .badValue(flag: "--port", value: "99999")),
    (["--scenario", "nope"], .badValue(flag: "--scenario", value: "nope")),
    (["--password", "pw"], .unpairedCredential),
    (["--user", "u"], .unpairedCredential),
    (["--token-failure", "teapot"], .badValue(flag: "--token-failure", value: "teapot")),
  ]

  @Test("Bad command lines are refused", arguments: bad)
  func badCommandLine(arguments: [String], error: GmailTestServerOptions.UsageError) {
    #expect(throws: error) {
      try GmailTestServerOptions.parse(arguments, defaultStateDirectory: "/tmp/d")
    }
  }
}
