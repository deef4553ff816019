// SPDX-License-Identifier: MIT
// From standard input to a message ready to send (gsendmail(8)): read and scan the
// input, stream the body (line ends made CRLF) to a sink, find the recipients
// and resolve local names, choose the account and the envelope sender, and
// prepare the header. Every failure is a typed error; nothing is sent here.

import GSendmailCore
import MessageCore
import SMTPCore

#if canImport(Glibc)
import Glibc
#endif

/// Receives the body as it is read, in bounded chunks.
package protocol BodySink: AnyObject {
  func append(_ bytes: [UInt8]) throws
}

/// Keeps the body in memory (for `--dry-run` and `-bv`, which never keep a message).
package final class MemoryBodySink: BodySink {
  package var bytes: [UInt8] = []
  package init() {}
  package func append(_ bytes: [UInt8]) { self.bytes += bytes }
}

/// Reads and prepares messages for one invocation.
package struct Submission {
  var invocation: Invocation
  var config: Configuration
  var aliases: AliasTable
  var environment: Environment
  /// Whether the sender policy holds (a new message from a local caller; not a queue run
  /// re-preparing a kept one, whose caller is gone).
  var checksSender = false

  package init(
    invocation: Invocation, config: Configuration, aliases: AliasTable, environment: Environment, checksSender: Bool = false
  ) {
    self.invocation = invocation
    self.config = config
    self.aliases = aliases
    self.checksSender = checksSender
    self.environment = environment
  }

  // MARK: Reading

  /// Reads a message from a file descriptor into `sink` (the body) and returns the scan.
  /// - Throws: `InputError` (exit 66) when reading fails, `MessageError` for a NUL byte or
  ///   a message over `max_message_size` (reading stops there).
  func read(from fd: Int32, into sink: BodySink) throws -> ScannedMessage {
    var scanner = MessageScanner(options: .init(dotTerminates: !invocation.ignoreDots, maxMessageBytes: config.maxMessageSize))
    var normalizer = LineEndNormalizer()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while !scanner.isComplete {
      let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw InputError("cannot read standard input: \(String(cString: strerror(errno)))")
      }
      if n == 0 { break }
      try scanner.push(buffer[0..<n])
      let body = scanner.takeBody()
      if !body.isEmpty { try sink.append(normalizer.push(body)) }
    }
    let scanned = try scanner.finish()
    let rest = scanner.takeBody()
    if !rest.isEmpty { try sink.append(normalizer.push(rest)) }
    try sink.append(normalizer.finish())
    return scanned
  }

  /// Scans a message that is already in memory (`-bs`).
  package func scan(_ bytes: [UInt8], into sink: BodySink) throws -> ScannedMessage {
    var scanner = MessageScanner(options: .init(dotTerminates: false, maxMessageBytes: config.maxMessageSize))
    var normalizer = LineEndNormalizer()
    try scanner.push(bytes)
    let scanned = try scanner.finish()
    try sink.append(normalizer.push(scanner.takeBody()))
    try sink.append(normalizer.finish())
    return scanned
  }

  // MARK: Preparing

  /// Builds the envelope and the header to send.
  /// - Parameters:
  ///   - scanned: The scanned input.
  ///   - envelopeSender: The sender given on the command line or in `MAIL FROM` (`-bs`);
  ///     nil when none was given.
  ///   - givenRecipients: Recipient arguments (command line, or `RCPT TO` for `-bs`).
  ///   - recipientsFromHeader: `-t`.
  package func prepare(
    _ scanned: ScannedMessage, envelopeSender: String?, givenRecipients: [String], recipientsFromHeader: Bool
  ) throws -> PreparedMessage {
    let given = try mailboxes(scanned, givenRecipients: givenRecipients, recipientsFromHeader: recipientsFromHeader)
    let recipients = try resolvedRecipients(
      given, accountAddress: accountAddress(envelopeSender: envelopeSender, fields: scanned.fields))
    return try prepare(scanned, envelopeSender: envelopeSender, recipients: recipients)
  }

  /// The recipients as given (arguments, and with `-t` the header's), local names not
  /// yet resolved.
  /// - Throws: `BadMessage` for a malformed address.
  func mailboxes(_ scanned: ScannedMessage, givenRecipients: [String], recipientsFromHeader: Bool) throws -> [Mailbox] {
    var mailboxes = try Self.mailboxes(given: givenRecipients)
    if recipientsFromHeader {
      do {
        mailboxes += try RecipientExtractor.recipients(from: scanned.fields)
      } catch {
        throw BadMessage("bad address in the header: \(describe(error))")
      }
    }
    return mailboxes
  }

  /// Recipient arguments (command line, `RCPT TO`, a queue entry's envelope) as mailboxes,
  /// local names not yet resolved.
  /// - Throws: `BadMessage` naming the argument that is not an address.
  static func mailboxes(given arguments: [String]) throws(BadMessage) -> [Mailbox] {
    var mailboxes: [Mailbox] = []
    for argument in arguments {
      do {
        mailboxes += try AddressParser.parseRecipients(argument)
      } catch {
        throw BadMessage("bad recipient address \(printable(argument)): \(describe(error))")
      }
    }
    return mailboxes
  }

  /// Local names resolved through the aliases, duplicates removed.
  /// - Parameter accountAddress: Where a local name with neither alias nor
  ///   `local_recipient` goes (`accountAddress(envelopeSender:fields:)`); evaluated only
  ///   for such a name.
  /// - Throws: `BadMessage` for no recipient at all, `AliasError`.
  func resolvedRecipients(_ mailboxes: [Mailbox], accountAddress: @autoclosure () -> String?) throws -> [String] {
    let recipients = try resolve(mailboxes, accountAddress: accountAddress()).addresses
    guard !recipients.isEmpty else {
      throw BadMessage("no recipients: give addresses on the command line or use -t with To:, Cc: or Bcc:")
    }
    return recipients
  }

  /// Where a local name with no alias and no `local_recipient` goes: the chosen account's
  /// own address — its `from`, or for a pattern account the envelope sender (the mailbox
  /// of the user sending, `root@example.com` for cron's mail to root). Nil when no account
  /// matches or the sender is the null one.
  func accountAddress(envelopeSender: String?, fields: [HeaderField]) -> String? {
    guard let choice = try? chooseAccount(fields: fields, envelopeSender: envelopeSender) else { return nil }
    return choice.account.ownAddress(sender: choice.sender)
  }

  /// Chooses the account and the envelope sender and prepares the header.
  func prepare(_ scanned: ScannedMessage, envelopeSender: String?, recipients: [String]) throws -> PreparedMessage {
    try prepare(fields: scanned.fields, body: scanned.body, envelopeSender: envelopeSender, recipients: recipients)
  }

  /// Chooses the account and the envelope sender and prepares the header of these fields.
  func prepare(fields: [HeaderField], body: BodyStatistics, envelopeSender: String?, recipients: [String]) throws
    -> PreparedMessage
  {
    let choice = try chooseAccount(fields: fields, envelopeSender: envelopeSender)
    let account = choice.account
    var sender = choice.sender
    var fromAddress = sender.isEmpty ? account.defaultSender(headerFrom: nil, userName: environment.userName) : sender
    if checksSender {
      try applySenderPolicy(choice, fields: fields, sender: &sender, fromAddress: &fromAddress)
    }
    let domain = fromAddress.split(separator: "@").last.map(String.init) ?? environment.hostName
    let now = environment.now()
    let options = HeaderPreparer.Options(
      fromAddress: fromAddress, fromDisplayName: invocation.fullName ?? account.displayName,
      date: DateStamp(epochSeconds: Int64(now.seconds), utcOffsetMinutes: now.zoneOffsetMinutes),
      messageIDUniquePart: uniqueID(seconds: now.seconds), messageIDDomain: domain)
    let prepared: [HeaderField]
    do {
      prepared = try HeaderPreparer.preparedFields(fields, options: options)
    } catch {
      throw BadMessage("cannot prepare the header: \(describe(error))")
    }
    return PreparedMessage(
      sender: sender, recipients: recipients, account: account, fields: prepared,
      header: HeaderPreparer.serialised(prepared), body: body, dsn: dsn)
  }

  /// What `chooseAccount` found out about a message.
  struct AccountChoice {
    var account: Account
    /// The envelope sender, empty for the null sender.
    var sender: String
    /// The first `From:` address that is not a local name.
    var headerFrom: String?
    /// Whether the sender was chosen by default: no -f, or a local name (cron's `-f root`).
    var defaulted: Bool
  }

  /// The account and the envelope sender of a message.
  /// - Throws: `BadMessage` for a malformed sender, `ConfigError` when no account matches.
  func chooseAccount(fields: [HeaderField], envelopeSender: String?) throws -> AccountChoice {
    // The sender as given (-f): the null sender, an address, or a local name (cron's
    // `-f root`), which cannot be a sender on the Internet: the account's address is used.
    var given: String?
    if let s = envelopeSender {
      do {
        if let mailbox = try AddressParser.parseSender(s) {
          given = mailbox.isLocal ? nil : mailbox.addrSpec
        } else {
          given = ""
        }
      } catch {
        throw BadMessage("bad sender address \(printable(s)): \(describe(error))")
      }
    }
    let headerFrom = firstFromAddress(fields)
    let account = try config.chooseAccount(
      named: invocation.account, sender: given.flatMap { $0.isEmpty ? nil : $0 }, headerFrom: headerFrom)
    return AccountChoice(
      account: account, sender: given ?? account.defaultSender(headerFrom: headerFrom, userName: environment.userName),
      headerFrom: headerFrom, defaulted: given == nil)
  }

  /// Local names resolved: through the aliases file, then `local_recipient`, then
  /// `accountAddress` (evaluated once, and only when a local name needs it); duplicates
  /// removed.
  /// - Returns: The addresses, and the local names that went to `accountAddress`.
  /// - Throws: `AliasError.unresolved` for a local name none of them resolves.
  func resolve(_ mailboxes: [Mailbox], accountAddress: @autoclosure () -> String?) throws
    -> (addresses: [String], toAccount: [String])
  {
    var ownAddress: String??
    func own() -> String? {
      if ownAddress == nil { ownAddress = .some(accountAddress()) }
      return ownAddress ?? nil
    }
    var out: [Mailbox] = []
    var toAccount: [String] = []
    for mailbox in mailboxes {
      guard mailbox.isLocal else {
        out.append(mailbox)
        continue
      }
      for target in try aliases.resolve(mailbox.localPart) {
        switch target {
        case .address(let text):
          do {
            out.append(try AddressParser.parseMailbox(text))
          } catch {
            throw AliasError.syntax(path: config.aliasesFile ?? "aliases", line: 0, message: "bad address \(text) for \(mailbox.localPart)")
          }
        case .unresolved(let name):
          if let catchAll = config.localRecipient {
            do {
              out.append(try AddressParser.parseMailbox(catchAll))
            } catch {
              throw ConfigError.invalidValue(
                path: config.path, line: nil, key: "local_recipient", message: "not an address")
            }
          } else if let own = own(), let mailbox = try? AddressParser.parseMailbox(own) {
            out.append(mailbox)
            if !toAccount.contains(name) { toAccount.append(name) }
          } else {
            throw AliasError.unresolved(name)
          }
        }
      }
    }
    return (RecipientExtractor.deduplicated(out).map(\.addrSpec), toAccount)
  }

  /// Recipients as `-bv` shows them: each given argument and what it resolves to (a local
  /// name with no alias: the account that `-f` or `--account` chooses).
  func verify(_ arguments: [String]) throws -> [(given: String, address: String)] {
    let own = accountAddress(envelopeSender: invocation.sender, fields: [])
    var lines: [(String, String)] = []
    for argument in arguments {
      let mailboxes: [Mailbox]
      do {
        mailboxes = try AddressParser.parseRecipients(argument)
      } catch {
        throw BadMessage("bad recipient address \(printable(argument)): \(describe(error))")
      }
      for mailbox in mailboxes {
        // A list argument shows each of its addresses; a single one shows as given.
        let given = mailboxes.count == 1 ? argument : mailbox.addrSpec
        for address in try resolve([mailbox], accountAddress: own).addresses { lines.append((given, address)) }
      }
    }
    return lines
  }

  var dsn: SMTPEnvelope.DSN? {
    dsnParameters(notify: invocation.dsnNotify, ret: invocation.dsnReturn, envelopeID: invocation.dsnEnvelopeID)
  }


  /// Every address of the `From:` fields, local names left out; nil when one cannot be read.
  func fromAddresses(_ fields: [HeaderField]) -> [String]? {
    var out: [String] = []
    for field in fields where field.hasName("From") {
      guard let list = try? AddressParser.parseAddressList(field.rawValue) else { return nil }
      out += list.flatMap(\.mailboxes).filter { !$0.isLocal }.map(\.addrSpec)
    }
    return out
  }

  /// The sender policy on the envelope sender and `From:` address chosen for a message:
  /// a caller who may not choose gets a granted default, and a sender or `From:` address
  /// not granted is refused.
  func applySenderPolicy(
    _ choice: AccountChoice, fields: [HeaderField], sender: inout String, fromAddress: inout String
  ) throws {
    // Only the system configuration restricts, and never root: no look-up for anyone else.
    guard config.isSystem, environment.uid != 0 else { return }
    // The group database only when a trusted_users entry names a group.
    let groups = config.trustedUsers.contains { $0.hasPrefix("@") } ? environment.groupNames : []
    let policy = SenderPolicy(caller: Caller(uid: environment.uid, name: environment.userName, groups: groups), config: config)
    if !policy.isUnrestricted, let allowed = policy.defaultSender(on: choice.account, headerFrom: choice.headerFrom) {
      if choice.defaulted { sender = allowed }
      if choice.defaulted || sender.isEmpty { fromAddress = allowed }
    }
    // The From: header that would be added names fromAddress: checked as the header's.
    let header = fields.contains { $0.hasName("From") } ? fromAddresses(fields) : [fromAddress]
    try policy.check(account: choice.account, sender: sender, headerFrom: header)
  }

  func firstFromAddress(_ fields: [HeaderField]) -> String? {
    guard let from = fields.first(where: { $0.hasName("From") }),
      let list = try? AddressParser.parseAddressList(from.rawValue)
    else { return nil }
    return list.flatMap(\.mailboxes).first { !$0.isLocal }?.addrSpec
  }

  /// A Message-ID left part: time and randomness in base 32, dot-atom safe.
  func uniqueID(seconds: Int) -> String {
    let alphabet = Array("0123456789abcdefghijklmnopqrstuv")
    var out = ""
    var t = seconds
    while t > 0 {
      out.append(alphabet[t & 31])
      t >>= 5
    }
    out.append(".")
    for byte in environment.randomBytes(10) { out.append(alphabet[Int(byte) & 31]) }
    return out
  }
}

extension Account {
  /// The mailbox of the account itself: `from`, or for a pattern the envelope sender
  /// (nil for the null sender).
  func ownAddress(sender: String) -> String? {
    guard isPattern else { return from }
    return sender.isEmpty ? nil : sender
  }
}

/// DSN parameters from their text forms (`-N`, `-R`, `-V`, or a queue entry): NOTIFY as
/// a comma-separated list, RET as `FULL` or `HDRS`; nil when none is given.
func dsnParameters(notify: String?, ret: String?, envelopeID: String?) -> SMTPEnvelope.DSN? {
  guard notify != nil || ret != nil || envelopeID != nil else { return nil }
  return SMTPEnvelope.DSN(
    ret: ret.flatMap(SMTPEnvelope.DSNReturn.init(rawValue:)), envelopeID: envelopeID,
    notify: notify.map { $0.split(separator: ",").compactMap { SMTPEnvelope.DSNNotify(rawValue: String($0)) } })
}

/// Text safe to show in a one-line message: control characters escaped.
package func printable(_ text: String) -> String {
  var out = ""
  for scalar in text.unicodeScalars {
    if scalar.value < 0x20 || scalar.value == 0x7f {
      out += "\\x" + String(scalar.value, radix: 16)
    } else {
      out.unicodeScalars.append(scalar)
    }
  }
  return "'" + out + "'"
}
