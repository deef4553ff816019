@testable import GSendmailCore
import Testing

@Suite("Configuration file")
struct ConfigParserTests {
  static let example = """
    default = "personal"                  # account used when no other matches
    aliases = "/etc/aliases"
    local_recipient = "admin@example.com"
    max_message_size = "35MB"
    queue = true
    queue_lifetime = "5d"
    log = "syslog"
    timeout = "60s"

    [account.personal]
    from = "alice@gmail.com"
    name = "Alice Example"
    route = "gmail"
    auth = "oauth"
    client_secret_file = "~/.config/gsendmail/client_secret.json"

    [account.work]
    from = "*@example.com"
    route = "relay"
    auth = "none"
    helo = "host.example.com"
    """

  @Test("relative paths are taken from the configuration file's directory")
  func relativePaths() throws {
    let text = "aliases = \"aliases\"\n[account.a]\nfrom = \"a@example.com\"\nauth = \"none\"\n"
    for (path, expected) in [
      ("/etc/gsendmail/config.toml", "/etc/gsendmail/aliases"), ("conf/config.toml", "conf/aliases"),
      ("config.toml", "aliases"), ("/config.toml", "/aliases"), ("/a//config.toml", "/a/aliases"),
    ] {
      let c = try ConfigParser.parse(text, path: path, home: "/home/alice")
      #expect(c.aliasesFile == expected, "\(path)")
    }
  }

  @Test("gsendmail.conf(5): example parses with its defaults")
  func specExample() throws {
    let c = try ConfigParser.parse(Self.example, path: "/x/config.toml", home: "/home/alice")
    #expect(c.defaultAccount == "personal" && c.maxMessageSize == 36_700_160 && c.queueLifetime == 432_000)
    #expect(c.timeout == 60 && c.log == .syslog && c.queue)
    let p = try #require(c.account(named: "personal"))
    #expect(p.host == "smtp.gmail.com" && p.port == 587 && p.tls == .starttls && p.mechanism == .xoauth2)
    #expect(p.clientSecretFile == "/home/alice/.config/gsendmail/client_secret.json")
    #expect(p.tokenURL == "https://oauth2.googleapis.com/token")
    let w = try #require(c.account(named: "work"))
    #expect(w.host == "smtp-relay.gmail.com" && w.auth == AuthMethod.none && w.helo == "host.example.com")
  }

  @Test("Defaults when keys are absent")
  func defaults() throws {
    let c = try ConfigParser.parse("[account.a]\nfrom = \"a@example.com\"\n", path: "c", home: "/h")
    #expect(c.maxMessageSize == 35_882_577 && c.timeout == 60 && c.queueLifetime == 5 * 86_400)
    #expect(!c.deliversInBackground)
  }

  @Test("delivery: interactive or background", arguments: [("interactive", false), ("background", true)])
  func delivery(value: String, background: Bool) throws {
    let c = try ConfigParser.parse("delivery = \"\(value)\"\n[account.a]\nfrom = \"a@example.com\"\n", path: "c", home: "/h")
    #expect(c.deliversInBackground == background)
    #expect(c.resolvedDescription.contains("delivery = \"\(value)\""))
  }

  @Test("tls = implicit defaults to port 465; host and port override the route")
  func implicitTLS() throws {
    let c = try ConfigParser.parse(
      "[account.a]\nfrom = \"a@example.com\"\ntls = \"implicit\"\n[account.b]\nfrom = \"b@example.com\"\nroute = \"custom\"\nhost = \"127.0.0.1\"\nport = 2525\n",
      path: "c", home: "/h")
    #expect(c.account(named: "a")?.port == 465)
    #expect(c.account(named: "b")?.host == "127.0.0.1" && c.account(named: "b")?.port == 2525)
  }

  @Test("A syntax error names file, line, column and the problem")
  func syntaxError() {
    #expect(throws: ConfigError.syntax(path: "/etc/g.toml", line: 2, column: 22, message: "unterminated string")) {
      try ConfigParser.parse("[account.a]\nfrom = \"a@example.com\nport = 1\n", path: "/etc/g.toml", home: "/h")
    }
    #expect(throws: ConfigError.syntax(path: "c", line: 3, column: 1, message: "duplicate key 'from'")) {
      try ConfigParser.parse("[account.a]\nfrom = \"a@example.com\"\nfrom = \"b@example.com\"\n", path: "c", home: "/h")
    }
    #expect(throws: ConfigError.syntax(path: "c", line: 3, column: 1, message: "table 'account.a' defined twice")) {
      try ConfigParser.parse("[account.a]\nfrom = \"a@example.com\"\n[account.a]\n", path: "c", home: "/h")
    }
  }

  @Test("Bytes that are not UTF-8 are reported where they are, not replaced")
  func invalidUTF8() throws {
    // "name = "Ren\xE9"" as an editor set to Latin-1 writes it.
    let latin1 = Array("[account.a]\nfrom = \"a@example.com\"\nname = \"Ren".utf8) + [0xE9] + Array("\"\n".utf8)
    #expect(throws: ConfigError.syntax(path: "c", line: 3, column: 12, message: "invalid UTF-8")) {
      try ConfigParser.parse(utf8: latin1, path: "c", home: "/h")
    }
    let utf8 = Array("[account.a]\nfrom = \"a@example.com\"\nname = \"René\"\n".utf8)
    #expect(try ConfigParser.parse(utf8: utf8, path: "c", home: "/h").account(named: "a")?.displayName == "René")
  }

  @Test("Accounts keep the order of the file")
  func accountOrder() throws {
    let c = try ConfigParser.parse(
      "[account.zed]\nfrom = \"z@example.com\"\n[account.amy]\nfrom = \"a@example.com\"\n[account.max]\nfrom = \"m@example.com\"\n",
      path: "c", home: "/h")
    #expect(c.accounts.map(\.name) == ["zed", "amy", "max"])
    let dotted = try ConfigParser.parse(
      "account.zed.from = \"z@example.com\"\naccount.amy.from = \"a@example.com\"\n", path: "c", home: "/h")
    #expect(dotted.accounts.map(\.name) == ["zed", "amy"])
  }

  @Test(
    "Unknown keys suggest a valid one: a typo's, else the key sharing most words; none when nothing is related",
    arguments: [
      ("tokn_url", "token_url"), ("password", "password_file"), ("client_secret_path", "client_secret_file"), ("passwordeval", "password_file"),
      ("tls_trust_file", "tls_ca_file"), ("smtp_host", "host"), ("zzz", nil),
    ] as [(String, String?)])
  func relatedKey(key: String, suggestion: String?) {
    #expect(throws: ConfigError.unknownKey(path: "c", line: 3, key: key, suggestion: suggestion)) {
      try ConfigParser.parse("[account.a]\nfrom = \"a@example.com\"\n\(key) = \"x\"\n", path: "c", home: "/h")
    }
  }

  @Test("The line of an unknown key is found in any form: a misspelt table, a dotted key, an inline table")
  func unknownKeyLines() {
    #expect(throws: ConfigError.unknownKey(path: "c", line: 1, key: "timout", suggestion: "timeout")) {
      try ConfigParser.parse("timout = 5\n[account.a]\nfrom = \"a@example.com\"\n", path: "c", home: "/h")
    }
    #expect(throws: ConfigError.unknownKey(path: "c", line: 3, key: "acount", suggestion: "account")) {
      try ConfigParser.parse("queue = true\n\n[acount.p]\nfrom = \"a@example.com\"\n", path: "c", home: "/h")
    }
    #expect(throws: ConfigError.unknownKey(path: "c", line: 3, key: "hots", suggestion: "host")) {
      try ConfigParser.parse("[account]\np.from = \"a@example.com\"\np.hots = \"x\"\n", path: "c", home: "/h")
    }
    #expect(throws: ConfigError.unknownKey(path: "c", line: 2, key: "prot", suggestion: "port")) {
      try ConfigParser.parse("# one line\naccount.p = { from = \"a@example.com\", prot = 25 }\n", path: "c", home: "/h")
    }
    #expect(throws: ConfigError.invalidValue(path: "c", line: 4, key: "account.p.port", message: "must be 1-65535")) {
      try ConfigParser.parse("[account.p]\nfrom = \"a@example.com\"\n\nport = 0\n", path: "c", home: "/h")
    }
  }

  @Test("Bad values are refused", arguments: [
    "route = \"smtp\"", "auth = \"oauth2\"", "port = 70000", "port = \"587\"", "tls = \"none\"",
    "token_url = \"http://example.com/token\"", "auth_url = \"ftp://x\"", "helo = \"\"",
    "auth = \"password\"", "auth = \"service-account\"", "max_messages_per_day = 0",
    "max_recipients_per_day = -5", "max_messages_per_minute = \"10\"",
  ])
  func badAccountValues(line: String) {
    #expect(throws: ConfigError.self) {
      try ConfigParser.parse("[account.a]\nfrom = \"a@example.com\"\n\(line)\n", path: "c", home: "/h")
    }
  }

  @Test("Bad top-level values are refused", arguments: [
    "max_message_size = \"35 parsecs\"", "timeout = \"0s\"", "queue = \"yes\"", "log = \"stderr\"",
    "default = \"nobody\"", "queue_lifetime = \"5 fortnights\"", "timeout = 9223372036854775807",
    "local_recipient = \"nobody\"", "local_recipient = \"*@example.com\"", "failed_lifetime = \"forever\"", "delivery = \"later\"",
    "delivery = true",
  ])
  func badTopValues(line: String) {
    #expect(throws: ConfigError.self) {
      try ConfigParser.parse("\(line)\n[account.a]\nfrom = \"a@example.com\"\n", path: "c", home: "/h")
    }
  }

  @Test("Local sending limits and failed_lifetime: parsed, defaults none and 30 days")
  func limitsAndRetention() throws {
    let plain = try ConfigParser.parse("[account.a]\nfrom = \"a@example.com\"\n", path: "c", home: "/h")
    #expect(plain.failedLifetime == 30 * 86_400)
    #expect(plain.accounts[0].maxMessagesPerDay == nil && plain.accounts[0].maxMessagesPerMinute == nil)
    let c = try ConfigParser.parse(
      "failed_lifetime = \"90d\"\n[account.a]\nfrom = \"a@example.com\"\nmax_messages_per_day = 1800\n"
        + "max_recipients_per_day = 9000\nmax_messages_per_minute = 30\n", path: "c", home: "/h")
    #expect(c.failedLifetime == 90 * 86_400)
    let a = c.accounts[0]
    #expect(a.maxMessagesPerDay == 1800 && a.maxRecipientsPerDay == 9000 && a.maxMessagesPerMinute == 30)
    #expect(c.resolvedDescription.contains("max_messages_per_day = 1800\n"))
    #expect(c.resolvedDescription.contains("failed_lifetime = \"7776000s\"\n"))
  }

  @Test("No account at all, or an account without from")
  func missingAccount() {
    #expect(throws: ConfigError.self) { try ConfigParser.parse("timeout = 5\n", path: "c", home: "/h") }
    #expect(throws: ConfigError.missingKey(path: "c", table: "account.a", key: "from")) {
      try ConfigParser.parse("[account.a]\nname = \"A\"\n", path: "c", home: "/h")
    }
  }

  @Test("http:// endpoints only on loopback")
  func loopbackEndpoints() {
    #expect(ConfigParser.isAllowedEndpoint("http://127.0.0.1:8080/token"))
    #expect(ConfigParser.isAllowedEndpoint("http://[::1]:8080/token"))
    #expect(ConfigParser.isAllowedEndpoint("http://localhost/token"))
    #expect(!ConfigParser.isAllowedEndpoint("http://127.0.0.1.example.com/token"))
    #expect(!ConfigParser.isAllowedEndpoint("http://localhost.evil/token"))
    #expect(ConfigParser.isAllowedEndpoint("https://oauth2.googleapis.com/token"))
  }

  @Test("route = gmail-api: api_url (https://, or http:// on loopback), OAuth or service account only")
  func gmailAPI() throws {
    var config = try ConfigParser.parse(
      "[account.a]\nfrom = \"a@example.com\"\nroute = \"gmail-api\"\n", path: "c", home: "/h")
    #expect(config.accounts[0].route == .gmailAPI && config.accounts[0].apiURL == "https://gmail.googleapis.com")
    #expect(config.accounts[0].host == "gmail.googleapis.com" && config.accounts[0].port == 443)
    config = try ConfigParser.parse(
      "[account.a]\nfrom = \"a@example.com\"\nroute = \"gmail-api\"\napi_url = \"http://127.0.0.1:8080/\"\n",
      path: "c", home: "/h")
    #expect(config.accounts[0].apiURL == "http://127.0.0.1:8080" && config.accounts[0].host == "127.0.0.1")
    for bad in ["api_url = \"http://gmail.googleapis.com\"", "auth = \"password\"\npassword_file = \"/p\"", "auth = \"none\""] {
      #expect(throws: ConfigError.self) {
        try ConfigParser.parse("[account.a]\nfrom = \"a@example.com\"\nroute = \"gmail-api\"\n\(bad)\n", path: "c", home: "/h")
      }
    }
  }

  @Test("Units")
  func units() {
    #expect(Units.bytes("35MB") == 36_700_160 && Units.bytes("1MiB") == 1_048_576 && Units.bytes("512") == 512)
    #expect(Units.bytes("2KB") == 2048 && Units.bytes("1 GB") == 1 << 30)
    #expect(Units.seconds("5d") == 432_000 && Units.seconds("60s") == 60 && Units.seconds("4h") == 14_400)
    #expect(Units.bytes("x") == nil && Units.seconds("5w") == nil && Units.bytes("99999999999999999999GB") == nil)
  }
}

@Suite("Account choice")
struct AccountSelectionTests {
  static let config = try! ConfigParser.parse(
    """
    default = "personal"
    [account.personal]
    from = "alice@gmail.com"
    [account.work]
    from = "*@example.com"
    auth = "none"
    [account.boss]
    from = "boss@example.com"
    auth = "none"
    """, path: "c", home: "/h")

  @Test("--account wins; unknown names are errors")
  func named() throws {
    #expect(try Self.config.chooseAccount(named: "work", sender: "alice@gmail.com", headerFrom: nil).name == "work")
    #expect(throws: ConfigError.unknownAccount("nope")) { try Self.config.chooseAccount(named: "nope", sender: nil, headerFrom: nil) }
  }

  @Test("Exact address beats pattern; sender beats From:; else default")
  func matching() throws {
    #expect(try Self.config.chooseAccount(named: nil, sender: "boss@example.com", headerFrom: nil).name == "boss")
    #expect(try Self.config.chooseAccount(named: nil, sender: "BOSS@EXAMPLE.COM", headerFrom: nil).name == "boss")
    #expect(try Self.config.chooseAccount(named: nil, sender: "ann@example.com", headerFrom: nil).name == "work")
    #expect(try Self.config.chooseAccount(named: nil, sender: nil, headerFrom: "ann@Example.com").name == "work")
    #expect(try Self.config.chooseAccount(named: nil, sender: "x@other.org", headerFrom: "boss@example.com").name == "boss")
    #expect(try Self.config.chooseAccount(named: nil, sender: "x@other.org", headerFrom: nil).name == "personal")
  }

  @Test("Of two accounts that match alike, the first in the file")
  func firstInFile() throws {
    let c = try ConfigParser.parse(
      "[account.second]\nfrom = \"*@example.com\"\nauth = \"none\"\n[account.first]\nfrom = \"*@example.com\"\nauth = \"none\"\n",
      path: "c", home: "/h")
    #expect(try c.chooseAccount(named: nil, sender: "ann@example.com", headerFrom: nil).name == "second")
  }

  @Test("A file with one account needs no default: it sends whatever the sender")
  func onlyAccount() throws {
    let one = try ConfigParser.parse("[account.solo]\nfrom = \"me@example.com\"\nauth = \"none\"\n", path: "c", home: "/h")
    #expect(try one.chooseAccount(named: nil, sender: "root@host.example", headerFrom: "x@other.org").name == "solo")
    #expect(try one.chooseAccount(named: nil, sender: nil, headerFrom: nil).name == "solo")
  }

  @Test("No default and no match is an error")
  func noMatch() throws {
    var c = Self.config
    c.defaultAccount = nil
    #expect(throws: ConfigError.noAccountMatches(sender: "x@other.org")) {
      try c.chooseAccount(named: nil, sender: "x@other.org", headerFrom: nil)
    }
  }

  @Test("Envelope sender for a pattern account")
  func patternSender() throws {
    let work = try #require(Self.config.account(named: "work"))
    #expect(work.defaultSender(headerFrom: "ann@example.com", userName: "root") == "ann@example.com")
    #expect(work.defaultSender(headerFrom: "ann@other.org", userName: "root") == "root@example.com")
    #expect(Self.config.account(named: "personal")?.defaultSender(headerFrom: nil, userName: "root") == "alice@gmail.com")
  }
}
