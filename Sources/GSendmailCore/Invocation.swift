// SPDX-License-Identifier: MIT
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
