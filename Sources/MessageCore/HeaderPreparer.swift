// SPDX-License-Identifier: MIT
// Turns the header as read into the header that is sent (gsendmail(8), "THE MESSAGE"): removes Bcc, Resent-Bcc
// and Return-Path; adds From, Date and Message-ID when missing; switches a single-part body
// to quoted-printable when asked; folds lines over 998 octets. Nothing else is added or
// reordered. Pure function of its inputs (clock, names and ids are injected).
// Failure policy: PreparationError for what cannot be sent safely (an unfoldable long line,
// an invalid address or Message-ID part, a composite type to re-encode).

/// What cannot be prepared.
public enum PreparationError: Error, Equatable, Sendable {
  /// A header line over 998 octets with no white space to fold it at; the field's name.
  case unfoldableLine(field: String)
  /// The From address to add holds a control character or a line break.
  case invalidFromAddress(String)
  /// The Message-ID parts are not dot-atom text.
  case invalidMessageID(String)
  /// Quoted-printable was asked for a body that cannot be re-encoded.
  case cannotReencode(ReencodingRefusal)
}

/// Prepares the header section that goes to the server.
public enum HeaderPreparer {
  /// What to add when missing.
  public struct Options: Equatable, Sendable {
    /// The addr-spec for an added `From:` (the envelope sender, e.g. `Mailbox.addrSpec`).
    public var fromAddress: String
    /// Display name for an added `From:` (`-F` or the account's `name`); RFC 2047-encoded
    /// when it is not printable ASCII.
    public var fromDisplayName: String?
    /// The time for an added `Date:`.
    public var date: DateStamp
    /// The unique left part of an added `Message-ID:` (dot-atom text).
    public var messageIDUniquePart: String
    /// The right part of an added `Message-ID:`, usually the sender's domain.
    public var messageIDDomain: String

    /// Creates options.
    public init(fromAddress: String, fromDisplayName: String?, date: DateStamp,
                messageIDUniquePart: String, messageIDDomain: String) {
      self.fromAddress = fromAddress
      self.fromDisplayName = fromDisplayName
      self.date = date
      self.messageIDUniquePart = messageIDUniquePart
      self.messageIDDomain = messageIDDomain
    }
  }

  /// The header to send for a body sent as it is, folded as it goes on the wire;
  /// `serialised` gives its bytes.
  ///
  /// Added fields go at the end, in the order From, Date, Message-ID.
  /// - Parameters:
  ///   - fields: The header fields as scanned.
  ///   - options: What to put in added fields.
  /// - Throws: `PreparationError`.
  public static func preparedFields(_ fields: [HeaderField], options: Options) throws(PreparationError)
    -> [HeaderField]
  {
    try build(fields, adding: options, quotedPrintable: false)
  }

  /// A prepared header rewritten for a quoted-printable body (a message whose server turned
  /// out to lack 8BITMIME, `TransferEncodingDecision.quotedPrintable`): an existing
  /// Content-Transfer-Encoding replaced in place (later duplicates dropped), MIME-Version
  /// and Content-Transfer-Encoding added at the end when missing, nothing else added.
  /// - Throws: `PreparationError.cannotReencode` for a composite or already encoded body.
  public static func reencodedFieldsAsQuotedPrintable(_ preparedFields: [HeaderField]) throws(PreparationError)
    -> [HeaderField]
  {
    try build(preparedFields, adding: nil, quotedPrintable: true)
  }

  /// A header section: each field's lines with CRLF, then the empty line that separates it
  /// from the body.
  public static func serialised(_ fields: [HeaderField]) -> [UInt8] {
    var out: [UInt8] = []
    for field in fields { out += field.wireBytes }
    out += ASCII.crlf
    return out
  }

  /// The fields of the header to send, folded; `options` nil adds no From, Date or Message-ID.
  private static func build(_ fields: [HeaderField], adding options: Options?, quotedPrintable: Bool)
    throws(PreparationError) -> [HeaderField]
  {
    if quotedPrintable, let refusal = TransferEncodingDecision.reencodingRefusal(fields) {
      throw .cannotReencode(refusal)
    }
    var kept: [HeaderField] = []
    var cteDone = false
    for field in fields {
      if field.hasName("Bcc") || field.hasName("Resent-Bcc") || field.hasName("Return-Path") {
        continue
      }
      if quotedPrintable, field.hasName("Content-Transfer-Encoding") {
        if !cteDone { kept.append(qpField) }
        cteDone = true
        continue
      }
      kept.append(field)
    }
    if let options, !fields.contains(where: { $0.hasName("From") }) {
      kept.append(try fromField(options))
    }
    if let options, !fields.contains(where: { $0.hasName("Date") }) {
      kept.append(HeaderField(name: "Date", value: options.date.rfc5322))
    }
    if let options, !fields.contains(where: { $0.hasName("Message-ID") }) {
      let unique = options.messageIDUniquePart
      let domain = options.messageIDDomain
      guard isDotAtomText(unique), isDotAtomText(domain) else {
        throw .invalidMessageID(unique + "@" + domain)
      }
      kept.append(HeaderField(name: "Message-ID", value: "<\(unique)@\(domain)>"))
    }
    if quotedPrintable {
      if !fields.contains(where: { $0.hasName("MIME-Version") }) {
        kept.append(HeaderField(name: "MIME-Version", value: "1.0"))
      }
      if !cteDone { kept.append(qpField) }
    }
    var out: [HeaderField] = []
    for field in kept {
      var lines: [[UInt8]] = []
      for line in field.lines { lines += try fold(line, field: field.name) }
      guard lines.count != field.lines.count else {
        out.append(field)
        continue
      }
      guard let folded = field.refolded(into: lines) else { throw .unfoldableLine(field: field.name) }
      out.append(folded)
    }
    return out
  }

  private static let qpField = HeaderField(name: "Content-Transfer-Encoding",
                                           value: "quoted-printable")

  private static func isDotAtomText(_ s: String) -> Bool {
    let b = Array(s.utf8)
    return !b.isEmpty && b.first != ASCII.dot && b.last != ASCII.dot
      && !zip(b, b.dropFirst()).contains { $0 == ASCII.dot && $1 == ASCII.dot }
      && b.allSatisfy { $0 < 0x80 && (ASCII.isAtext($0) || $0 == ASCII.dot) }
  }

  /// `From: Name <addr>` with the name as atoms, a quoted string or RFC 2047 encoded words.
  static func fromField(_ options: Options) throws(PreparationError) -> HeaderField {
    let address = Array(options.fromAddress.utf8)
    guard !address.isEmpty, address.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else {
      throw .invalidFromAddress(options.fromAddress)
    }
    guard let name = options.fromDisplayName, !name.isEmpty else {
      return HeaderField(name: "From", value: options.fromAddress)
    }
    let angle = " <" + options.fromAddress + ">"
    if name.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
      return HeaderField(name: "From", value: phrase(name) + angle)
    }
    var lines: [[UInt8]] = []
    for (i, word) in EncodedWord.encode(name).enumerated() {
      lines.append((i == 0 ? Array("From: ".utf8) : [ASCII.space]) + Array(word.utf8))
    }
    if let last = lines.indices.last { lines[last] += Array(angle.utf8) }
    return HeaderField(name: "From", physicalLines: lines)
  }

  /// Splits a physical line over 998 octets before white space (RFC 5322 §2.2.3); each
  /// piece after the first starts with that white space.
  static func fold(_ line: [UInt8], field: String) throws(PreparationError) -> [[UInt8]] {
    var pieces: [[UInt8]] = []
    var start = 0
    while line.count - start > 998 {
      var cut: Int?
      var sawText = false
      var i = start
      while i <= start + 998 {
        if ASCII.isWSP(line[i]) {
          if sawText, i > start { cut = i }
        } else {
          sawText = true
        }
        i += 1
      }
      guard let at = cut else { throw .unfoldableLine(field: field) }
      pieces.append(Array(line[start..<at]))
      start = at
    }
    pieces.append(Array(line[start...]))
    return pieces
  }
}

extension HeaderPreparer {
  /// A display name as an RFC 5322 phrase: as it is when it is atoms separated by single
  /// spaces, else a quoted string with `"` and `\` escaped.
  public static func phrase(_ name: String) -> String {
    let words = name.split(separator: " ", omittingEmptySubsequences: false)
    if words.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(ASCII.isAtext) }) { return name }
    var quoted = "\""
    for c in name {
      if c == "\"" || c == "\\" { quoted.append("\\") }
      quoted.append(c)
    }
    return quoted + "\""
  }
}
