// SPDX-License-Identifier: MIT
// `gsendmailctl login [ACCOUNT] [--no-browser] [--port N]` and `login ACCOUNT
// --refresh-token-stdin` (gsendmailctl(8)): the installed-app loopback flow with PKCE, or a
// refresh token moved from another tool. Failure policy: token errors exit 75/77/78 by
// kind; a missing OAuth client (no key, or its file missing) prints how to create one and
// exits 78. The code and tokens are never printed.

import ArgumentParser
import Codecs
import GSendmailAdmin
import GSendmailCore
import GSendmailKit
import OAuth2
import TokenStore

#if canImport(Glibc)
  import Glibc
#endif

struct Login: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Authorize gsendmail to send as a Google account (OAuth).",
    discussion: """
      Prints a Google sign-in URL and waits for the browser to come back to
      http://127.0.0.1:PORT/. On a remote machine, forward the port first with the
      printed ssh -L command (use --port to keep the same one), or paste the address
      the browser ends on (it may show an error page), or just its code, into this
      terminal.
      """)

  @OptionGroup var global: GlobalOptions

  @Argument(
    help: "The account (default: the configuration's default account).", completion: .custom(Completions.accounts))
  var account: String?

  @Flag(help: "Do not try to open a browser; only print the URL.")
  var noBrowser = false

  @Flag(help: "Read a refresh token from standard input instead of signing in.")
  var refreshTokenStdin = false

  @Option(help: "Seconds to wait for the browser.")
  var waitSeconds = 300

  @Option(help: ArgumentHelp("Listen for the browser's redirect on this port (default: any free one).", valueName: "N"))
  var port: UInt16 = 0

  func run() throws {
    try runTokenCommand {
      let env = Environment.current()
      let config = try ConfigLocator.load(configFile: global.configFile, environment: env)
      let account = try config.chooseForCommand(self.account)
      guard account.auth == .oauth else {
        throw ValidationError(
          "account '\(account.name)' uses auth = \"\(account.auth.rawValue)\": there is nothing to log in"
        )
      }
      let guide = SetupGuide(config: config)
      if let missing = account.missingClientSecretFile {
        say("Account '\(account.name)': its client_secret_file \(missing) does not exist.")
        say(guide.oauthClientSteps(account: account.name, apiRoute: account.route == .gmailAPI))
        throw TokenError.credentials(path: missing, problem: "no such file")
      }
      guard let client = try account.oauthClient() else {
        say("Account '\(account.name)' has no OAuth client. Google requires one before gsendmail can send as you.")
        say(guide.oauthClientSteps(account: account.name, apiRoute: account.route == .gmailAPI))
        throw ExitCode(SysExit.configuration.rawValue)
      }
      let store = config.tokenStore(environment: env)
      if refreshTokenStdin {
        try importToken(store: store, account: account, client: client)
      } else {
        try signIn(store: store, account: account, client: client)
      }
      config.reserveTLSSession(of: account, environment: env)
      say(
        "Logged in: account '\(account.name)' (\(account.loginHint)); tokens saved in "
          + store.location.cachePath(account: account.name) + ".")
      say(
        "Note: while the Google Cloud project's OAuth consent screen is in \"Testing\", Google "
          + "expires this login after 7 days; set its publishing status to \"In production\" to keep it."
      )
      // Messages deferred because the account could not authenticate go now.
      let control = try Control(configFile: global.configFile, environment: env)
      let tried = try control.queueFlush(force: true, account: account.name)
      if tried > 0 { say("Tried the \(tried) queued message\(tried == 1 ? "" : "s") of account '\(account.name)'.") }
    }
  }

  private func importToken(store: TokenStore, account: Account, client: OAuthClient) throws {
    guard let line = readLine(strippingNewline: true)?.trimmingCharacters(), !line.isEmpty else {
      throw ValidationError("no refresh token on standard input")
    }
    try store.importRefreshToken(line, account: account.name, client: client)
  }

  private func signIn(store: TokenStore, account: Account, client: OAuthClient) throws {
    let session = try LoginSession(client: client, loginHint: account.loginHint, port: port, scope: account.oauthScope)
    let env = Environment.current()
    let user = env.userName.isEmpty ? "USER" : env.userName
    say("Open this URL in a browser and sign in as \(account.loginHint):\n")
    say("  \(session.authorizationURL)\n")
    say("On another machine's browser, first forward the port from that machine:")
    say("  \(session.sshHint(destination: "\(user)@\(env.hostName)"))")
    if port == 0 { say("(to keep this port for the next login too: gsendmailctl login --port \(session.port))") }
    say(
      "or paste here the address the browser was sent to (http://127.0.0.1:\(session.port)/?...), or its code.")
    say("Waiting up to \(waitSeconds) s...")
    if !noBrowser { Self.openBrowser(session.authorizationURL) }
    let code = try session.waitForCode(timeout: .seconds(waitSeconds), input: 0) { notice in
      printError("gsendmailctl: \(notice); still waiting")
    }
    try store.exchangeCode(
      account: account.name, code: code, client: client, redirectURI: session.redirectURI,
      codeVerifier: session.codeVerifier)
  }

  /// Opens the URL in the background: with `$BROWSER` when set (its first entry, as a
  /// shell command, `%s` replaced by the URL or the URL appended, as Python's webbrowser
  /// and xdg-utils read it), else with `xdg-open` when a graphical session is there
  /// (DISPLAY or WAYLAND_DISPLAY set). Output is discarded and failure ignored: the URL
  /// is printed anyway.
  static func openBrowser(_ url: String) {
    let env = Environment.current().variables
    if let browser = env["BROWSER"]?.split(separator: ":").first.map(String.init), !browser.isEmpty {
      // The URL is passed as "$1", never spliced into the command line.
      // `'%s'` and `"%s"` lose their quotes first, so that the URL is never quoted twice.
      let placeholder = browser.replacingText("'%s'", with: "%s").replacingText("\"%s\"", with: "%s")
      let command =
        placeholder.containsText("%s") ? placeholder.replacingText("%s", with: "\"$1\"") : browser + " \"$1\""
      spawnQuietly(["/bin/sh", "-c", command, "sh", url])
      return
    }
    guard !(env["DISPLAY"] ?? "").isEmpty || !(env["WAYLAND_DISPLAY"] ?? "").isEmpty else { return }
    spawnQuietly(["xdg-open", url])
  }

  /// Starts `arguments` (looked up in PATH) with standard input, output and error on
  /// /dev/null, without waiting for it.
  static func spawnQuietly(_ arguments: [String]) {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid = pid_t()
    _ = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
  }
}

extension String {
  /// Without leading and trailing white space.
  fileprivate func trimmingCharacters() -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
    guard let first = firstIndex(where: { !isSpace($0) }),
      let last = lastIndex(where: { !isSpace($0) })
    else { return "" }
    return String(self[first...last])
  }
}
