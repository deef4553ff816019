// SPDX-License-Identifier: MIT
// The command line of the `gmail-test-server` executable, parsed into a configuration
// by a pure function so it can be tested. Failure policy: any bad flag or value is a
// typed UsageError naming it; nothing is half-applied.

/// The parsed command line of `gmail-test-server`.
public struct GmailTestServerOptions: Sendable {
  /// The server setup.
  public var configuration: GmailTestServerConfiguration
  /// The token endpoint's behaviour at start.
  public var tokenBehavior: TokenEndpointBehavior
  /// Whether to stop at end of file on standard input (besides SIGTERM/SIGINT).
  public var exitOnStdinEOF: Bool
  /// Whether to log sessions to standard error.
  public var verbose: Bool
  /// Whether `--help` was given.
  public var help: Bool
  /// `--trust-service-account EMAIL=FILE`: service accounts whose assertions the token
  /// endpoint accepts, each with the file holding its public key (PEM).
  public var trustedServiceAccounts: [(clientEmail: String, publicKeyFile: String)] = []

  /// A bad command line.
  public enum UsageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A flag nobody knows.
    case unknownFlag(String)
    /// A flag without its value.
    case missingValue(String)
    /// A value that does not fit its flag.
    case badValue(flag: String, value: String)
    /// `--password` without a `--user` before it, or the reverse.
    case unpairedCredential

    /// One line for standard error (values of secret flags are not repeated).
    public var description: String {
      switch self {
      case .unknownFlag(let flag): "unknown option \(flag)"
      case .missingValue(let flag): "option \(flag) needs a value"
      case .badValue(let flag, let value): "bad value for \(flag): \(value)"
      case .unpairedCredential: "each --user needs one --password after it"
      }
    }
  }

  /// The usage text.
  public static let usage = """
    usage: gmail-test-server [options]
      --state-dir DIR        CA, certificate, key (made if absent) and records/ (default: a new temp dir)
      --port N|off           STARTTLS listener on 127.0.0.1 (default 0: ephemeral)
      --tls-port N|off       implicit-TLS listener (default 0)
      --http-port N|off      fake OAuth token endpoint, plain HTTP (default 0)
      --https-port N|off     the same endpoint over HTTPS, certificate from the test CA (default off)
      --relay                imitate smtp-relay.gmail.com (no AUTH; EHLO localhost/IP → 421)
      --user U --password P  an account for AUTH PLAIN/LOGIN (repeatable, in pairs)
      --token T              an access token XOAUTH2/OAUTHBEARER accepts (repeatable)
      --refresh-token R      a refresh token the token endpoint accepts (repeatable)
      --max-size N           SIZE limit in bytes (default 35882577)
      --scenario NAME[=ARG]  a failure to play (repeatable): \(GmailScenario.names.joined(separator: ", "))
      --token-failure MODE   token endpoint failure: invalid-grant, 500, 503, non-json, hang
      --rotate-refresh-tokens  each refresh returns a new refresh token
      --expires-in N         expires_in of issued access tokens (default 3599)
      --token-scope SCOPE    scope of tokens issued without one of their own (default
                             https://mail.google.com/; SMTP accepts only that one, the
                             Gmail API's send also https://www.googleapis.com/auth/gmail.send)
      --trust-service-account EMAIL=FILE
                             accept jwt-bearer assertions issued by EMAIL and signed with
                             the private half of the public key (PEM) in FILE
      --no-records           keep records in memory only
      --no-session-tickets   offer no TLS session resumption (every handshake is full)
      --exit-on-stdin-eof    also stop when standard input reaches end of file
      --verbose              log sessions to standard error (never a secret)
    Prints one line per listener ("smtp 127.0.0.1:P starttls", "smtps 127.0.0.1:P",
    "http 127.0.0.1:P", "https 127.0.0.1:P"), then "ca PATH", "records DIR" and "ready"; serves until
    SIGTERM or SIGINT. The HTTP(S) listeners also serve the Gmail API's upload endpoints
    (/upload/gmail/v1/users/USER/messages/send): give an account api_url = "http(s)://127.0.0.1:P".
    """

  /// Parses the arguments (without the program name).
  /// - Parameters:
  ///   - arguments: The command-line arguments.
  ///   - defaultStateDirectory: Used when `--state-dir` is absent.
  /// - Throws: `UsageError`.
  public static func parse(_ arguments: [String], defaultStateDirectory: String)
    throws(UsageError) -> GmailTestServerOptions
  {
    var configuration = GmailTestServerConfiguration(stateDirectory: defaultStateDirectory)
    var options = GmailTestServerOptions(
      configuration: configuration, tokenBehavior: TokenEndpointBehavior(), exitOnStdinEOF: false,
      verbose: false, help: false)
    var pendingUser: String?
    var index = 0
    func value(_ flag: String) throws(UsageError) -> String {
      index += 1
      guard index < arguments.count else { throw .missingValue(flag) }
      return arguments[index]
    }
    func port(_ flag: String) throws(UsageError) -> UInt16? {
      let text = try value(flag)
      if text == "off" { return nil }
      guard let number = UInt16(text) else { throw .badValue(flag: flag, value: text) }
      return number
    }
    func number(_ flag: String) throws(UsageError) -> Int {
      let text = try value(flag)
      guard let number = Int(text), number >= 0 else { throw .badValue(flag: flag, value: text) }
      return number
    }
    while index < arguments.count {
      let flag = arguments[index]
      switch flag {
      case "--state-dir": configuration.stateDirectory = try value(flag)
      case "--port": configuration.startTLSPort = try port(flag)
      case "--tls-port": configuration.implicitTLSPort = try port(flag)
      case "--http-port": configuration.httpPort = try port(flag)
      case "--https-port": configuration.httpsPort = try port(flag)
      case "--relay": configuration.mode = .relay
      case "--user":
        guard pendingUser == nil else { throw .unpairedCredential }
        pendingUser = try value(flag)
      case "--password":
        guard let user = pendingUser else { throw .unpairedCredential }
        configuration.users[user] = try value(flag)
        pendingUser = nil
      case "--token": configuration.accessTokens.insert(try value(flag))
      case "--refresh-token": configuration.refreshTokens.insert(try value(flag))
      case "--max-size": configuration.maxMessageSize = try number(flag)
      case "--scenario":
        let text = try value(flag)
        do {
          configuration.scenarios.append(try GmailScenario.parse(text))
        } catch {
          throw .badValue(flag: flag, value: text)
        }
      case "--token-failure":
        let text = try value(flag)
        guard let failure = TokenEndpointBehavior.Failure(rawValue: text) else {
          throw .badValue(flag: flag, value: text)
        }
        options.tokenBehavior.failure = failure
      case "--rotate-refresh-tokens": options.tokenBehavior.rotateRefreshTokens = true
      case "--expires-in": options.tokenBehavior.expiresIn = try number(flag)
      case "--token-scope": options.tokenBehavior.scope = try value(flag)
      case "--trust-service-account":
        let text = try value(flag)
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex, text.index(after: equals) != text.endIndex
        else { throw .badValue(flag: flag, value: text) }
        options.trustedServiceAccounts.append((String(text[..<equals]), String(text[text.index(after: equals)...])))
      case "--no-records": configuration.recordToDisk = false
      case "--no-session-tickets": configuration.sessionTickets = false
      case "--exit-on-stdin-eof": options.exitOnStdinEOF = true
      case "--verbose": options.verbose = true
      case "--help", "-h": options.help = true
      default: throw .unknownFlag(flag)
      }
      index += 1
    }
    if pendingUser != nil { throw .unpairedCredential }
    options.configuration = configuration
    return options
  }
}
