// SPDX-License-Identifier: MIT
// The sendmail command line: one table of options drives the parser, `--help`
// and the test that the man page lists every option. Parsing is getopt-shaped
// (clustered flags, attached or separate arguments, `--`), stops at the first
// non-option like Postfix's sendmail on Linux, and throws UsageError for
// anything it does not know. The result is an Invocation: what this run was asked
// to do. Pure: no I/O.

/// A problem with the command line (exit 64).
public struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// One sendmail option.
public struct SendmailOption: Sendable {
  /// How the option takes an argument.
  public enum Argument: Sendable {
    case none
    /// Attached (`-fADDR`) or the next word (`-f ADDR`).
    case required
    /// Attached only (`-q15m`).
    case attachedOnly
  }
  /// The option as written in documentation (`-f`, `--dry-run`).
  public let name: String
  public let argument: Argument
  /// Placeholder for the argument in help (`ADDR`).
  public let metavar: String
  /// One line of help.
  public let help: String

  package init(_ name: String, _ argument: Argument = .none, _ metavar: String = "", help: String) {
    self.name = name
    self.argument = argument
    self.metavar = metavar
    self.help = help
  }
}

/// The sendmail option table and parser.
public enum SendmailOptions {
  /// Every option gsendmail understands, in `--help` order.
  public static let table: [SendmailOption] = [
    .init("-t", help: "take recipients from To:, Cc:, Bcc: (or the latest Resent- block)"),
    .init("-i", help: "a line with a single '.' does not end the message (also -oi)"),
    .init("-f", .required, "ADDR", help: "envelope sender; '' or '<>' is the null sender"),
    .init("-r", .required, "ADDR", help: "same as -f"),
    .init("-F", .required, "NAME", help: "full name for an added From: header"),
    .init("-v", help: "print the SMTP dialogue to stderr, secrets redacted"),
    .init("-bm", help: "deliver a message from stdin (the default)"),
    .init("-bp", help: "list the queue (same as mailq)"),
    .init("-bs", help: "speak SMTP on stdin/stdout"),
    .init("-bi", help: "check the aliases file (same as newaliases)"),
    .init("-bv", help: "resolve recipients and print them; send nothing"),
    .init("-bd", help: "not supported (exit 64)"),
    .init("-bD", help: "not supported (exit 64)"),
    .init("-bt", help: "not supported (exit 64)"),
    .init("-bh", help: "not supported (exit 64)"),
    .init("-bH", help: "not supported (exit 64)"),
    .init("-q", .attachedOnly, "[TIME]", help: "attempt every queued message now (once, also with TIME), then exit"),
    .init("-odi", help: "deliver now and wait for the outcome (the default; also -odf)"),
    .init("-odb", help: "queue, exit 0, and deliver from a detached child"),
    .init("-odf", help: "same as -odi"),
    .init("-odq", help: "queue only; a later -q sends it"),
    .init("-N", .required, "DSN", help: "DSN NOTIFY: never or success,failure,delay"),
    .init("-R", .required, "RET", help: "DSN RET: full or hdrs"),
    .init("-V", .required, "ENVID", help: "DSN ENVID"),
    .init("-B", .required, "TYPE", help: "body type: 7BIT or 8BITMIME"),
    .init("-C", .required, "FILE", help: "use this config file"),
    .init("-L", .required, "TAG", help: "syslog identifier"),
    .init("-o", .required, "OPT", help: "-oi as -i, -odX as above; other -oX accepted and ignored"),
    .init("-O", .required, "OPT=VAL", help: "accepted and ignored"),
    .init("-G", help: "accepted and ignored"),
    .init("-U", help: "accepted and ignored"),
    .init("-n", help: "accepted and ignored"),
    .init("-m", help: "accepted and ignored"),
    .init("-h", .required, "N", help: "accepted and ignored"),
    .init("-A", .required, "c|m", help: "accepted and ignored"),
    .init("-X", .required, "FILE", help: "accepted and ignored"),
    .init("--dry-run", help: "prepare everything, print envelope and message, send nothing"),
    .init("--account", .required, "NAME", help: "use this account"),
    .init("--help", help: "print this help"),
    .init("--version", help: "print the version"),
  ]

  /// Short options and whether they take an argument: the one-letter entries of the
  /// table, and `-b`, whose value picks the mode (`-bm`, `-bp`, …) as `-o`'s does.
  /// A scan of the table: a command line has a few options, and a table keyed by
  /// Character cost more to build than every scan of a run.
  private static func shortArgument(_ letter: Character) -> SendmailOption.Argument? {
    if letter == "b" { return .required }
    guard let ascii = letter.asciiValue else { return nil }
    for option in table {
      let name = option.name.utf8
      if name.count == 2 && name.last == ascii { return option.argument }
    }
    return nil
  }

  /// Parses a sendmail command line.
  /// - Parameters:
  ///   - arguments: The arguments after argv[0].
  ///   - mode: The mode argv[0] chose (`mailq` → `.listQueue`, `newaliases` → `.checkAliases`).
  /// - Returns: The invocation.
  /// - Throws: `UsageError` naming the option that is wrong.
  public static func parse(_ arguments: [String], mode: Mode = .deliver) throws(UsageError) -> Invocation {
    var inv = Invocation()
    inv.mode = mode
    var i = 0
    func nextWord(_ option: String) throws(UsageError) -> String {
      i += 1
      guard i < arguments.count else { throw UsageError("option \(option) needs an argument") }
      return arguments[i]
    }
    while i < arguments.count {
      let word = arguments[i]
      if word == "--" {
        i += 1
        break
      }
      if word.hasPrefix("--") {
        let (name, attached) = splitLong(word)
        switch name {
        case "--dry-run" where attached == nil: inv.dryRun = true
        case "--help" where attached == nil: inv.mode = .help
        case "--version" where attached == nil: inv.mode = .version
        case "--account":
          if let attached {
            inv.account = attached
          } else {
            inv.account = try nextWord(name)
          }
        default: throw UsageError("unknown option \(word)")
        }
        i += 1
        continue
      }
      guard word.hasPrefix("-"), word.count > 1 else { break }  // first recipient
      var rest = Substring(word.dropFirst())
      while let letter = rest.first {
        rest = rest.dropFirst()
        guard let kind = shortArgument(letter) else { throw UsageError("unknown option -\(letter)") }
        var value: String?
        switch kind {
        case .none: break
        case .attachedOnly:
          value = String(rest)
          rest = ""
        case .required:
          if rest.isEmpty {
            value = try nextWord("-\(letter)")
          } else {
            value = String(rest)
          }
          rest = ""
        }
        try apply(letter, value ?? "", to: &inv)
      }
      i += 1
    }
    inv.recipients = Array(arguments[i...])
    return inv
  }

  private static func splitLong(_ word: String) -> (String, String?) {
    guard let eq = word.firstIndex(of: "=") else { return (word, nil) }
    return (String(word[..<eq]), String(word[word.index(after: eq)...]))
  }

  private static func apply(_ letter: Character, _ value: String, to inv: inout Invocation) throws(UsageError) {
    switch letter {
    case "t": inv.recipientsFromHeader = true
    case "i": inv.ignoreDots = true
    case "v": inv.verbose += 1
    case "G", "U", "n", "m", "O", "h", "A", "X": break  // accepted and ignored
    case "f", "r":
      if value.contains(where: \.isNewline) { throw UsageError("-\(letter): the sender contains a line break") }
      inv.sender = (value == "<>") ? "" : value
    case "F":
      if value.contains(where: { $0.isNewline || $0 == "\0" }) {
        throw UsageError("-F: the full name contains a line break")
      }
      inv.fullName = value
    case "b": inv.mode = try mode(for: value)
    case "o": try applyO(value, to: &inv)
    case "q":
      guard value.isEmpty || isInterval(value) else {
        throw UsageError("-q\(value): queue selection is not supported; use -q or -qINTERVAL")
      }
      inv.mode = .runQueue
    case "N":
      let parts = value.lowercased().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      let ok =
        parts == ["never"] || (!parts.isEmpty && parts.allSatisfy { ["success", "failure", "delay"].contains($0) })
      guard ok else { throw UsageError("-N \(value): expected never or a list of success,failure,delay") }
      inv.dsnNotify = parts.map { $0.uppercased() }.joined(separator: ",")
    case "R":
      switch value.lowercased() {
      case "full": inv.dsnReturn = "FULL"
      case "hdrs": inv.dsnReturn = "HDRS"
      default: throw UsageError("-R \(value): expected full or hdrs")
      }
    case "V":
      guard !value.isEmpty, value.utf8.count <= 100,
        value.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "+") })
      else {
        throw UsageError("-V: the envelope id must be 1-100 printable characters without '+' or '='")
      }
      inv.dsnEnvelopeID = value
    case "B":
      guard let type = BodyType(rawValue: value.uppercased()) else {
        throw UsageError("-B \(value): expected 7BIT or 8BITMIME")
      }
      inv.bodyType = type
    case "C": inv.configFile = value
    case "L":
      // The tag starts every log line: a space, a control character or a line break in it
      // would let a caller forge what follows (syslog(3) ident, Postfix's -L alike).
      guard isLogTag(value) else {
        throw UsageError("-L: the tag must be 1-\(maxLogTagLength) printable ASCII characters without spaces")
      }
      inv.syslogTag = value
    default: throw UsageError("unknown option -\(letter)")
    }
  }

  private static func mode(for value: String) throws(UsageError) -> Mode {
    switch value {
    case "m": return .deliver
    case "p": return .listQueue
    case "s": return .smtpServer
    case "i": return .checkAliases
    case "v": return .verify
    case "d", "D": throw UsageError("-b\(value) is not supported: gsendmail does not run as a daemon")
    case "t": throw UsageError("-bt is not supported: gsendmail has no address test mode")
    case "h", "H": throw UsageError("-b\(value) is not supported: gsendmail keeps no host status")
    default: throw UsageError("unknown option -b\(value)")
    }
  }

  private static func applyO(_ value: String, to inv: inout Invocation) throws(UsageError) {
    if value == "i" {
      inv.ignoreDots = true
    } else if value.hasPrefix("d") {
      switch value.dropFirst() {
      case "i", "f", "": inv.deliveryMode = .now
      case "b": inv.deliveryMode = .background
      case "q": inv.deliveryMode = .queueOnly
      default: break  // other delivery modes (-odd, -ods, ...) leave the choice to the configuration
      }
    }
    // -oem, -oep, -oeq, -oew, -oee and every other -oX: accepted and ignored.
  }

  /// The longest `-L` tag accepted.
  static let maxLogTagLength = 32

  /// Whether `value` may be a syslog tag: 1 to `maxLogTagLength` printable ASCII characters,
  /// none of them a space, `[`, `]` or `:` (which end the tag in a syslog line).
  static func isLogTag(_ value: String) -> Bool {
    !value.isEmpty && value.utf8.count <= maxLogTagLength
      && value.utf8.allSatisfy { $0 > 32 && $0 < 127 && !"[]:".utf8.contains($0) }
  }

  /// `15m`, `1h`, `30s`, `2d`, or a bare number of seconds (sendmail's -q interval).
  private static func isInterval(_ value: String) -> Bool {
    var sawDigit = false
    for c in value {
      if c.isASCII && c.isNumber { sawDigit = true; continue }
      guard sawDigit, "smhdw".contains(c) else { return false }
      sawDigit = false
    }
    return true
  }

  /// The mode implied by the program name (`mailq`, `newaliases`; anything else delivers).
  public static func mode(forProgramName argv0: String) -> Mode {
    let base = argv0.split(separator: "/").last.map(String.init) ?? argv0
    switch base {
    case "mailq": return .listQueue
    case "newaliases": return .checkAliases
    default: return .deliver
    }
  }

  /// The `--help` text, generated from `table`.
  public static func helpText(programName: String) -> String {
    var lines = ["usage: \(programName) [option ...] [--] [recipient ...]", "", "options:"]
    for option in table {
      let left =
        option.metavar.isEmpty
        ? option.name
        : option.argument == .attachedOnly ? "\(option.name)\(option.metavar)" : "\(option.name) \(option.metavar)"
      lines.append("  " + left.padding(to: 18) + option.help)
    }
    lines.append("")
    lines.append("Also run as sendmail, mailq (= -bp) and newaliases (= -bi). See gsendmail(8).")
    return lines.joined(separator: "\n") + "\n"
  }
}

extension String {
  package func padding(to width: Int) -> String {
    count >= width ? self + " " : self + String(repeating: " ", count: width - count)
  }
}

// MARK: - The invocation

// What one run of gsendmail was asked to do, as parsed from argv[0] and the
// sendmail command line. Pure data.

/// What gsendmail does in this run (sendmail's `-b` modes and their argv[0] aliases).
public enum Mode: String, Equatable, Sendable {
  /// `-bm`: deliver a message read from standard input (the default).
  case deliver
  /// `-bp` or `mailq`: list the queue.
  case listQueue
  /// `-bs`: speak SMTP on standard input and output.
  case smtpServer
  /// `-bi` or `newaliases`: check the aliases file.
  case checkAliases
  /// `-bv`: resolve recipients and print them.
  case verify
  /// `-q`: deliver what is due in the queue.
  case runQueue
  /// `--help`.
  case help
  /// `--version`.
  case version
}

/// When a message is delivered (`-od…`).
public enum DeliveryMode: Equatable, Sendable {
  /// No `-od` option: the configuration's `delivery` key decides (interactive unless it
  /// says "background").
  case configured
  /// Deliver now, the caller waiting for the outcome (`-odi`, `-odf`).
  case now
  /// Commit to the queue, exit 0, and deliver from a detached child (`-odb`).
  case background
  /// Queue only (`-odq`).
  case queueOnly
}

/// The body type given with `-B`.
public enum BodyType: String, Equatable, Sendable {
  case sevenBit = "7BIT"
  case eightBitMIME = "8BITMIME"
}

/// The parsed command line.
public struct Invocation: Equatable, Sendable {
  public var mode: Mode = .deliver
  /// `-t`: take recipients from the header.
  public var recipientsFromHeader = false
  /// `-i`/`-oi`: a line holding a single `.` does not end the input.
  public var ignoreDots = false
  /// `-f`/`-r`: envelope sender. `.some("")` is the null sender.
  public var sender: String?
  /// `-F`: full name for an added `From:`.
  public var fullName: String?
  /// `-v`, counted.
  public var verbose = 0
  public var deliveryMode: DeliveryMode = .configured
  /// `-N`: DSN NOTIFY.
  public var dsnNotify: String?
  /// `-R`: DSN RET (`FULL` or `HDRS`).
  public var dsnReturn: String?
  /// `-V`: DSN ENVID.
  public var dsnEnvelopeID: String?
  /// `-B`.
  public var bodyType: BodyType?
  /// `-C`: config file.
  public var configFile: String?
  /// `-L`: syslog identifier.
  public var syslogTag: String?
  /// `--dry-run`.
  public var dryRun = false
  /// `--account`.
  public var account: String?
  /// Recipients from the command line, as given.
  public var recipients: [String] = []

  public init() {}
}
