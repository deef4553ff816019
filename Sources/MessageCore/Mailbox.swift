// SPDX-License-Identifier: MIT
// The results of address parsing: mailboxes, groups and the errors that name bad text.
// Pure value types. Then the recipients of `sendmail -t`, taken from header fields.

/// One mailbox (RFC 5322 §3.4): an addr-spec with an optional display name.
public struct Mailbox: Equatable, Hashable, Sendable {
  /// The display name as text (quoted strings unquoted, comments dropped, white space runs
  /// made single spaces); nil when there was none. RFC 2047 encoded words are left encoded.
  public var displayName: String?
  /// The local part, as a value (quotes and quoted-pairs removed).
  public var localPart: String
  /// The domain, or nil for a bare local name such as `root` that the front end resolves
  /// through the aliases file. A domain literal keeps its brackets: `[192.0.2.1]`.
  public var domain: String?
  /// The domains of an obsolete source route (`<@a,@b:user@c>`), which RFC 5321 §3.3 says
  /// to ignore.
  public var route: [String]

  /// Creates a mailbox.
  public init(displayName: String? = nil, localPart: String, domain: String?, route: [String] = []) {
    self.displayName = displayName
    self.localPart = localPart
    self.domain = domain
    self.route = route
  }

  /// Whether this is a bare local name (no `@`), to be resolved by the front end.
  public var isLocal: Bool { domain == nil }

  /// Whether the address (not the display name) holds non-ASCII text, so it needs SMTPUTF8
  /// (RFC 6531).
  public var requiresSMTPUTF8: Bool {
    !localPart.utf8.allSatisfy { $0 < 0x80 } || !(domain ?? "").utf8.allSatisfy { $0 < 0x80 }
  }

  /// The canonical addr-spec: the local part as a dot-atom when it is one, else a quoted
  /// string; then `@` and the domain. A bare local name is just its local part.
  public var addrSpec: String {
    let local = Mailbox.quotedIfNeeded(localPart)
    guard let domain else { return local }
    return local + "@" + domain
  }

  /// The key that tells duplicates apart: local part compared case-sensitively, domain
  /// case-insensitively (RFC 5321 §2.4).
  public var deduplicationKey: String {
    guard let domain else { return Mailbox.quotedIfNeeded(localPart) }
    return Mailbox.quotedIfNeeded(localPart) + "@" + domain.lowercased()
  }

  /// `text` as a dot-atom when it is one (RFC 5322 §3.2.3), else as a quoted string.
  static func quotedIfNeeded(_ text: String) -> String {
    let bytes = Array(text.utf8)
    var dotAtom = !bytes.isEmpty && bytes.first != ASCII.dot && bytes.last != ASCII.dot
    var previousDot = false
    for b in bytes where dotAtom {
      if b == ASCII.dot {
        if previousDot { dotAtom = false }
        previousDot = true
      } else {
        previousDot = false
        if !ASCII.isAtext(b) { dotAtom = false }
      }
    }
    if dotAtom { return text }
    var out: [UInt8] = [ASCII.quote]
    for b in bytes {
      if b == ASCII.quote || b == ASCII.backslash { out.append(ASCII.backslash) }
      out.append(b)
    }
    out.append(ASCII.quote)
    return ASCII.text(out)
  }
}

/// An address (RFC 5322 §3.4): a mailbox or a named group of mailboxes.
public enum Address: Equatable, Hashable, Sendable {
  /// A single mailbox.
  case mailbox(Mailbox)
  /// A group such as `undisclosed-recipients:;`, possibly empty.
  case group(name: String, members: [Mailbox])

  /// The mailboxes of this address.
  public var mailboxes: [Mailbox] {
    switch self {
    case .mailbox(let m): return [m]
    case .group(_, let members): return members
    }
  }
}

/// Why an address could not be parsed. `near` is the input from the offending point on (at
/// most 60 bytes), so that an error message can name the bad text.
public enum AddressError: Error, Equatable, Sendable {
  /// Nothing but white space or comments where an address is needed.
  case empty
  /// A character that cannot be there.
  case unexpected(near: String)
  /// A quoted string with no closing `"`.
  case unterminatedQuotedString(near: String)
  /// A comment with no closing `)`.
  case unterminatedComment(near: String)
  /// A domain literal with no closing `]`.
  case unterminatedDomainLiteral(near: String)
  /// An angle address with no closing `>`.
  case unterminatedAngleAddress(near: String)
  /// `<>` where a mailbox is needed.
  case emptyAngleAddress(near: String)
  /// A local part that is missing or has an empty dot-separated element.
  case badLocalPart(near: String)
  /// A domain that is missing or has an empty label.
  case badDomain(near: String)
  /// A group without a name, or a group inside a group.
  case badGroup(near: String)
  /// A CR or LF that is not part of folding white space (header injection).
  case lineBreak(near: String)
  /// A control character (NUL, DEL, C0 other than HTAB).
  case controlCharacter(near: String)
  /// A local part or domain that is not valid UTF-8.
  case invalidUTF8(near: String)
  /// More than one address, or a group, where one mailbox is needed (`-f`).
  case notASingleMailbox(near: String)
  /// The error was in this header field (for `-t`).
  indirect case inField(name: String, AddressError)
}

// MARK: - Recipients of -t

// Recipients of `sendmail -t`: To/Cc/Bcc, or the Resent-To/Cc/Bcc of the most recent resent
// block when any Resent- field is present (RFC 5322 §3.6.6), duplicates removed.
// Failure policy: the first malformed address field throws AddressError.inField naming it.

/// Takes the envelope recipients out of header fields.
public enum RecipientExtractor {
  /// The recipients for `-t`, in header order, without duplicates.
  ///
  /// The most recent resent block is the first one in the header (each resender prepends
  /// theirs): the run of consecutive `Resent-*` fields that starts at the first such field,
  /// ended by a field that is not `Resent-*` or by a `Resent-*` name already seen in the run.
  /// - Parameter fields: The header fields in order.
  /// - Returns: The mailboxes; bare local names are included (`Mailbox.isLocal`).
  /// - Throws: `AddressError.inField` for a malformed address field.
  public static func recipients(from fields: [HeaderField]) throws(AddressError) -> [Mailbox] {
    let chosen: [HeaderField]
    let names: [String]
    if let first = fields.firstIndex(where: { $0.nameHasPrefix("Resent-") }) {
      var block: [HeaderField] = []
      var seen: Set<String> = []
      for field in fields[first...] {
        guard field.nameHasPrefix("Resent-"), seen.insert(field.name.lowercased()).inserted
        else { break }
        block.append(field)
      }
      chosen = block
      names = ["Resent-To", "Resent-Cc", "Resent-Bcc"]
    } else {
      chosen = fields
      names = ["To", "Cc", "Bcc"]
    }
    var out: [Mailbox] = []
    for field in chosen where names.contains(where: field.hasName) {
      do {
        out += try AddressParser.parseAddressList(field.rawValue).flatMap(\.mailboxes)
      } catch {
        throw .inField(name: field.name, error)
      }
    }
    return deduplicated(out)
  }

  /// Removes later duplicates (same `Mailbox.deduplicationKey`), keeping the first of each.
  public static func deduplicated(_ mailboxes: [Mailbox]) -> [Mailbox] {
    var seen: Set<String> = []
    return mailboxes.filter { seen.insert($0.deduplicationKey).inserted }
  }
}
