// SPDX-License-Identifier: MIT
// RFC 5322 §3.4 address parsing with the obsolete forms of §4.4 (obs-phrase, obs-local-part,
// obs-domain, obs-route, empty list elements) and RFC 6532 UTF-8, for `-t` header fields and
// for command-line recipients and `-f`.
//
// Decisions:
// - A bare dot-atom with no `@` (`root`, `<root>`, written without white space or quotes)
//   is accepted and returned as a local name (Mailbox.domain == nil): sendmail resolves such
//   names through the aliases file. RFC 5322 §3.4.1 would require a domain.
// - A display name may hold unquoted `@` and `.` (seen in real mail as
//   `alice@example.org <bob@example.org>`); the address is always the one between the angle
//   brackets, never the display name.
// - A group whose `;` is missing at the end of the input is accepted.
// - Comments are dropped; they never become a display name.
// - CR and LF are refused except as folding (CRLF followed by WSP) in header values; other
//   control characters are refused everywhere (no header or SMTP command injection).
// Failure policy: any malformed input throws AddressError naming the bad text; the parser
// is a loop over a token array and cannot recurse deeper than a group holding mailboxes.
// One file over 400 lines on purpose: the tokenizer and the grammar it feeds are one
// parser (RFC 5322 §3.4 and §4.4), read and fuzzed as one.

/// Parses addresses, address lists and mailboxes.
public enum AddressParser {
  /// Parses the value of an address header field (`To`, `Cc`, `Bcc`, `Resent-To`, …).
  /// - Parameter value: The field value; folding (CRLF followed by WSP) is allowed.
  /// - Returns: The addresses in order; empty when the value holds none.
  /// - Throws: `AddressError` naming the bad text.
  public static func parseAddressList<C: Collection<UInt8>>(_ value: C) throws(AddressError)
    -> [Address]
  {
    var parser = try Parser(Array(value), allowFolding: true)
    return try parser.addressList()
  }

  /// Parses the value of an address header field given as text.
  /// - Throws: `AddressError` naming the bad text.
  public static func parseAddressList(_ value: String) throws(AddressError) -> [Address] {
    try parseAddressList(Array(value.utf8))
  }

  /// Parses one command-line recipient argument: `user@host`, `<user@host>`,
  /// `Name <user@host>`, a bare local name such as `root`, or a comma-separated list of these.
  /// - Returns: The mailboxes in order (group members included), never empty.
  /// - Throws: `AddressError`; `.empty` when the argument holds no address.
  public static func parseRecipients(_ argument: String) throws(AddressError) -> [Mailbox] {
    var parser = try Parser(Array(argument.utf8), allowFolding: false)
    let mailboxes = try parser.addressList().flatMap(\.mailboxes)
    if mailboxes.isEmpty { throw .empty }
    return mailboxes
  }

  /// Parses exactly one mailbox: `user@host`, `<user@host>`, `Name <user@host>` or a bare
  /// local name.
  /// - Throws: `AddressError`; `.notASingleMailbox` for a list or a group.
  public static func parseMailbox(_ text: String) throws(AddressError) -> Mailbox {
    var parser = try Parser(Array(text.utf8), allowFolding: false)
    let addresses = try parser.addressList()
    guard let first = addresses.first else { throw .empty }
    guard addresses.count == 1, case .mailbox(let mailbox) = first else {
      throw .notASingleMailbox(near: text)
    }
    return mailbox
  }

  /// Parses the envelope sender of `-f`/`-r`: the null sender (`''` or `<>`) or one mailbox.
  /// - Returns: nil for the null sender.
  /// - Throws: `AddressError` naming the bad text.
  public static func parseSender(_ argument: String) throws(AddressError) -> Mailbox? {
    let parser = try Parser(Array(argument.utf8), allowFolding: false)
    if parser.isNullSender { return nil }
    return try parseMailbox(argument)
  }
}

/// One lexical token of an address (comments and white space are not tokens).
private struct Token {
  enum Kind: Equatable {
    case atom, quoted, literal
    case special(UInt8)
  }
  var kind: Kind
  /// Atom text, quoted-string content (unescaped), or domain literal with brackets and
  /// without white space.
  var text: [UInt8]
  /// Offset in the input.
  var start: Int
  /// White space or a comment came before the token.
  var spaceBefore: Bool

  var isWord: Bool { kind == .atom || kind == .quoted }
}

private struct Parser {
  let input: [UInt8]
  var tokens: [Token] = []
  var pos = 0

  init(_ input: [UInt8], allowFolding: Bool) throws(AddressError) {
    self.input = input
    try lex(allowFolding: allowFolding)
  }

  var isNullSender: Bool {
    tokens.isEmpty
      || (tokens.count == 2 && tokens[0].kind == .special(ASCII.less)
        && tokens[1].kind == .special(ASCII.greater))
  }

  // MARK: Lexing

  func near(offset: Int) -> String {
    ASCII.text(input[min(offset, input.count)...].prefix(60))
  }

  func near(token index: Int) -> String {
    if index < tokens.count { return near(offset: tokens[index].start) }
    return ASCII.text(input.suffix(60))
  }

  private mutating func lex(allowFolding: Bool) throws(AddressError) {
    var i = 0
    var space = false
    let n = input.count
    /// Skips a line break at i if it is folding; throws otherwise.
    func fold(_ i: inout Int) throws(AddressError) {
      if allowFolding, input[i] == ASCII.cr, i + 2 < n, input[i + 1] == ASCII.lf,
        ASCII.isWSP(input[i + 2])
      {
        i += 2
        return
      }
      throw .lineBreak(near: near(offset: i))
    }
    func isControl(_ b: UInt8) -> Bool { (b < 0x20 && b != ASCII.tab) || b == 0x7F }

    while i < n {
      let b = input[i]
      if ASCII.isWSP(b) {
        space = true
        i += 1
      } else if b == ASCII.cr || b == ASCII.lf {
        try fold(&i)
        space = true
      } else if isControl(b) {
        throw .controlCharacter(near: near(offset: i))
      } else if b == ASCII.leftParen {
        let open = i
        var depth = 0
        repeat {
          guard i < n else { throw .unterminatedComment(near: near(offset: open)) }
          let c = input[i]
          if c == ASCII.leftParen {
            depth += 1
          } else if c == ASCII.rightParen {
            depth -= 1
          } else if c == ASCII.backslash {
            i += 1
            guard i < n else { throw .unterminatedComment(near: near(offset: open)) }
            if input[i] == ASCII.cr || input[i] == ASCII.lf {
              throw .lineBreak(near: near(offset: i))
            }
          } else if c == ASCII.cr || c == ASCII.lf {
            try fold(&i)
          } else if isControl(c) {
            throw .controlCharacter(near: near(offset: i))
          }
          i += 1
        } while depth > 0
        space = true
      } else if b == ASCII.quote {
        let open = i
        var text: [UInt8] = []
        i += 1
        while true {
          guard i < n else { throw .unterminatedQuotedString(near: near(offset: open)) }
          let c = input[i]
          if c == ASCII.quote { break }
          if c == ASCII.backslash {
            i += 1
            guard i < n else { throw .unterminatedQuotedString(near: near(offset: open)) }
            let q = input[i]
            if q == ASCII.cr || q == ASCII.lf { throw .lineBreak(near: near(offset: i)) }
            if isControl(q) { throw .controlCharacter(near: near(offset: i)) }
            text.append(q)
          } else if c == ASCII.cr || c == ASCII.lf {
            try fold(&i)  // unfolding removes the CRLF, keeps the WSP
          } else if isControl(c) {
            throw .controlCharacter(near: near(offset: i))
          } else {
            text.append(c)
          }
          i += 1
        }
        i += 1
        tokens.append(Token(kind: .quoted, text: text, start: open, spaceBefore: space))
        space = false
      } else if b == ASCII.leftBracket {
        let open = i
        var text: [UInt8] = [ASCII.leftBracket]
        i += 1
        while true {
          guard i < n else { throw .unterminatedDomainLiteral(near: near(offset: open)) }
          let c = input[i]
          if c == ASCII.rightBracket { break }
          if c == ASCII.leftBracket { throw .unexpected(near: near(offset: i)) }
          if ASCII.isWSP(c) {
            // FWS inside a domain literal is not part of it (RFC 5322 §3.4.1).
          } else if c == ASCII.cr || c == ASCII.lf {
            try fold(&i)
          } else if isControl(c) {
            throw .controlCharacter(near: near(offset: i))
          } else if c == ASCII.backslash {
            i += 1
            guard i < n else { throw .unterminatedDomainLiteral(near: near(offset: open)) }
            if isControl(input[i]) || input[i] == ASCII.cr || input[i] == ASCII.lf {
              throw .controlCharacter(near: near(offset: i))
            }
            text.append(input[i])
          } else {
            text.append(c)
          }
          i += 1
        }
        i += 1
        text.append(ASCII.rightBracket)
        tokens.append(Token(kind: .literal, text: text, start: open, spaceBefore: space))
        space = false
      } else if ASCII.isAtext(b) {
        let from = i
        while i < n, ASCII.isAtext(input[i]) { i += 1 }
        tokens.append(
          Token(kind: .atom, text: Array(input[from..<i]), start: from, spaceBefore: space))
        space = false
      } else if [ASCII.less, ASCII.greater, ASCII.at, ASCII.comma, ASCII.semicolon, ASCII.colon,
                 ASCII.dot].contains(b) {
        tokens.append(Token(kind: .special(b), text: [b], start: i, spaceBefore: space))
        space = false
        i += 1
      } else {
        throw .unexpected(near: near(offset: i))  // `)`, `]`, `\` outside their context
      }
    }
  }

  // MARK: Parsing

  func isSpecial(_ index: Int, _ b: UInt8) -> Bool {
    index < tokens.count && tokens[index].kind == .special(b)
  }

  mutating func addressList() throws(AddressError) -> [Address] {
    var out: [Address] = []
    while true {
      while isSpecial(pos, ASCII.comma) { pos += 1 }  // obs-addr-list: empty elements
      if pos == tokens.count { break }
      out.append(try address(inGroup: false))
      if pos == tokens.count { break }
      guard isSpecial(pos, ASCII.comma) else { throw .unexpected(near: near(token: pos)) }
    }
    return out
  }

  mutating func address(inGroup: Bool) throws(AddressError) -> Address {
    let begin = pos
    var j = pos
    let stops = [ASCII.less, ASCII.colon, ASCII.comma, ASCII.semicolon, ASCII.greater]
    while j < tokens.count, !stops.contains(where: { isSpecial(j, $0) }) { j += 1 }
    if isSpecial(j, ASCII.less) {
      let name = try phrase(begin..<j, lenient: true)
      pos = j + 1
      guard var mailbox = try angleAddress() else {
        throw .emptyAngleAddress(near: near(token: j))
      }
      mailbox.displayName = name
      return .mailbox(mailbox)
    }
    if isSpecial(j, ASCII.colon) {
      guard !inGroup, j > begin, let name = try phrase(begin..<j, lenient: false) else {
        throw .badGroup(near: near(token: begin))
      }
      pos = j + 1
      var members: [Mailbox] = []
      while true {
        while isSpecial(pos, ASCII.comma) { pos += 1 }
        if pos == tokens.count { break }  // lenient: `;` missing at the end
        if isSpecial(pos, ASCII.semicolon) {
          pos += 1
          break
        }
        members += try address(inGroup: true).mailboxes
        if isSpecial(pos, ASCII.semicolon) || pos == tokens.count { continue }
        guard isSpecial(pos, ASCII.comma) else { throw .unexpected(near: near(token: pos)) }
      }
      return .group(name: name, members: members)
    }
    guard j > begin else { throw .unexpected(near: near(token: begin)) }
    let mailbox = try addrSpec(begin..<j)
    pos = j
    return .mailbox(mailbox)
  }

  /// A display name: words, and with `lenient` also unquoted `.` and `@`.
  func phrase(_ range: Range<Int>, lenient: Bool) throws(AddressError) -> String? {
    guard !range.isEmpty else { return nil }
    var out: [UInt8] = []
    for k in range {
      let t = tokens[k]
      let allowed =
        t.isWord || t.kind == .special(ASCII.dot) || (lenient && t.kind == .special(ASCII.at))
      guard allowed, k > range.lowerBound || t.kind != .special(ASCII.dot) || lenient else {
        throw .unexpected(near: near(token: k))
      }
      if k > range.lowerBound, t.spaceBefore { out.append(ASCII.space) }
      out += t.text
    }
    return ASCII.text(out)
  }

  /// After `<`: an optional obs-route, an addr-spec, `>`. nil for `<>`.
  mutating func angleAddress() throws(AddressError) -> Mailbox? {
    let open = pos - 1
    var route: [String] = []
    if isSpecial(pos, ASCII.at) || isSpecial(pos, ASCII.comma) {
      while true {
        if isSpecial(pos, ASCII.comma) {
          pos += 1
        } else if isSpecial(pos, ASCII.at) {
          pos += 1
          route.append(try domain())
        } else if isSpecial(pos, ASCII.colon), !route.isEmpty {
          pos += 1
          break
        } else {
          throw .unexpected(near: near(token: pos))
        }
      }
    }
    if isSpecial(pos, ASCII.greater), route.isEmpty {
      pos += 1
      return nil
    }
    var close = pos
    while close < tokens.count, !isSpecial(close, ASCII.greater) { close += 1 }
    guard close < tokens.count else { throw .unterminatedAngleAddress(near: near(token: open)) }
    guard close > pos else { throw .badLocalPart(near: near(token: pos)) }
    var mailbox = try addrSpec(pos..<close)
    mailbox.route = route
    pos = close + 1
    return mailbox
  }

  /// `local-part ["@" domain]` spanning exactly `range`.
  mutating func addrSpec(_ range: Range<Int>) throws(AddressError) -> Mailbox {
    pos = range.lowerBound
    guard pos < range.upperBound, tokens[pos].isWord else {
      throw .badLocalPart(near: near(token: pos))
    }
    var local = tokens[pos].text
    pos += 1
    while pos < range.upperBound, isSpecial(pos, ASCII.dot) {
      pos += 1
      guard pos < range.upperBound, tokens[pos].isWord else {
        throw .badLocalPart(near: near(token: pos - 1))
      }
      local += [ASCII.dot] + tokens[pos].text
      pos += 1
    }
    let localStart = range.lowerBound
    guard let localText = String(validating: local, as: UTF8.self) else {
      throw .invalidUTF8(near: near(token: localStart))
    }
    if pos == range.upperBound {
      // A local name must be one contiguous dot-atom: `Mr. Smith` (from an unquoted comma
      // in a display name) or `"x@y"` is not a name the aliases file could hold.
      let contiguous = tokens[range].dropFirst().allSatisfy { !$0.spaceBefore }
      guard contiguous, tokens[range].allSatisfy({ $0.kind != .quoted }) else {
        throw .badDomain(near: near(token: range.lowerBound))
      }
      return Mailbox(localPart: localText, domain: nil)
    }
    guard isSpecial(pos, ASCII.at) else { throw .unexpected(near: near(token: pos)) }
    pos += 1
    let domainText = try domain()
    guard pos == range.upperBound else { throw .unexpected(near: near(token: pos)) }
    return Mailbox(localPart: localText, domain: domainText)
  }

  /// `dot-atom / domain-literal / obs-domain` at pos.
  mutating func domain() throws(AddressError) -> String {
    let first = pos
    var bytes: [UInt8]
    if pos < tokens.count, tokens[pos].kind == .literal {
      bytes = tokens[pos].text
      pos += 1
    } else {
      guard pos < tokens.count, tokens[pos].kind == .atom else {
        throw .badDomain(near: near(token: pos))
      }
      bytes = tokens[pos].text
      pos += 1
      while isSpecial(pos, ASCII.dot) {
        pos += 1
        guard pos < tokens.count, tokens[pos].kind == .atom else {
          throw .badDomain(near: near(token: first))
        }
        bytes += [ASCII.dot] + tokens[pos].text
        pos += 1
      }
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw .invalidUTF8(near: near(token: first))
    }
    return text
  }
}
