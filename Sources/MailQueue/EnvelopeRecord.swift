// SPDX-License-Identifier: MIT
// The `ID.env` file format, encoder and strict parser. Pure: no I/O.
//
//   gsendmail-queue 2          format version, first line (1: no uid, no held)
//   id ID                      key SP value lines, values without CR, LF or controls
//   arrival 1700000000
//   sender alice@example.com   (`sender` alone: the null sender)
//   account work               optional in version 2: absent when no account was chosen
//   uid 1000                   version 2, optional: the submitting user's real uid
//   rcpt bob@example.com       one per recipient, in order
//   notify FAILURE             optional DSN parameters: notify, ret, envid
//   body-size 1234
//   body-8bit 0
//   longest-line 78
//   attempts 0
//   next-attempt 1700000000
//   last-error                 one line
//   deferred-auth 0
//   held 0                     version 2: waiting for a sending limit's window
//   header 345                 then exactly 345 bytes, then LF
//   end                        the last line; without it the file is corrupt
//
// As in Postfix's queue files, the version comes first and an explicit end record
// comes last, so a file cut short is recognised and never delivered. Anything
// unexpected (unknown or repeated key, bad number, missing field, data after
// `end`) is a parse failure with a reason; the store quarantines such files.
// Version 1 files (written before the submitter and holds were recorded) are still
// read, their `account none` (how version 1 said "no account chosen") as no account;
// an entry with a submitter, a hold or no account is written as version 2, any other as
// version 1, so older runners read it too.

/// Encoding and decoding of the envelope file.
enum EnvelopeRecord {
  static let versionLine = "gsendmail-queue 1"
  static let version2Line = "gsendmail-queue 2"
  /// The longest last-error kept, in bytes of UTF-8 (longer text is cut).
  static let maximumErrorLength = 1000

  /// Encodes an entry. The caller has validated the envelope (`validate`).
  static func encode(_ entry: QueueEntry) -> [UInt8] {
    let version2 = entry.envelope.submitter != nil || entry.held || entry.envelope.account == nil
    var text = (version2 ? version2Line : versionLine) + "\n"
    func line(_ key: String, _ value: String) { text += value.isEmpty ? key + "\n" : key + " " + value + "\n" }
    line("id", entry.id.rawValue)
    line("arrival", String(entry.arrival))
    line("sender", entry.envelope.sender)
    if let account = entry.envelope.account { line("account", account) }
    if let uid = entry.envelope.submitter { line("uid", String(uid)) }
    for rcpt in entry.envelope.recipients { line("rcpt", rcpt) }
    if let notify = entry.envelope.notify { line("notify", notify) }
    if let ret = entry.envelope.ret { line("ret", ret) }
    if let envid = entry.envelope.envid { line("envid", envid) }
    line("body-size", String(entry.body.size))
    line("body-8bit", entry.body.has8BitBytes ? "1" : "0")
    line("longest-line", String(entry.body.longestLine))
    line("attempts", String(entry.attempts))
    line("next-attempt", String(entry.nextAttempt))
    line("last-error", sanitizedLine(entry.lastError))
    line("deferred-auth", entry.deferredForAuthentication ? "1" : "0")
    if version2 { line("held", entry.held ? "1" : "0") }
    line("header", String(entry.header.count))
    var out = Array(text.utf8)
    out.append(contentsOf: entry.header)
    out.append(contentsOf: Array("\nend\n".utf8))
    return out
  }

  /// Checks that every envelope field can be stored as one line.
  static func validate(_ envelope: QueueEnvelope) throws(QueueError) {
    guard !envelope.recipients.isEmpty else { throw .invalidEnvelope("no recipients") }
    let fields: [(String, String?)] =
      [("sender", envelope.sender), ("account", envelope.account), ("notify", envelope.notify),
       ("ret", envelope.ret), ("envid", envelope.envid)] + envelope.recipients.map { ("recipient", $0) }
    for (name, value) in fields {
      guard let value else { continue }
      if value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
        throw .invalidEnvelope("\(name) contains a line break or control character")
      }
      if value.utf8.first == 0x20 || value.utf8.last == 0x20 {
        throw .invalidEnvelope("\(name) begins or ends with a space")
      }
    }
    if envelope.recipients.contains(where: \.isEmpty) { throw .invalidEnvelope("empty recipient") }
  }

  /// One line of text: CR, LF and other control characters become spaces, surrounding
  /// spaces are trimmed, and the text is cut to `maximumErrorLength` bytes.
  static func sanitizedLine(_ text: String) -> String {
    var scalars = String.UnicodeScalarView()
    var length = 0
    for scalar in text.unicodeScalars {
      let clean: Unicode.Scalar = scalar.value < 0x20 || scalar.value == 0x7f || (0x80..<0xa0).contains(scalar.value) ? " " : scalar
      length += String(clean).utf8.count
      if length > maximumErrorLength { break }
      scalars.append(clean)
    }
    let trimmed = String(scalars).utf8.drop(while: { $0 == 0x20 }).reversed().drop(while: { $0 == 0x20 }).reversed()
    return String(decoding: Array(trimmed), as: UTF8.self)
  }

  /// Parses an envelope file.
  /// - Parameters:
  ///   - bytes: The whole file.
  ///   - id: The ID its name gives; the `id` line must match.
  ///   - area: The directory it was read from.
  /// - Returns: The entry, or the reason the file is corrupt.
  static func decode(_ bytes: [UInt8], id: QueueID, area: QueueArea) -> Result<QueueEntry, ParseFailure> {
    var parser = Parser(bytes: bytes)
    do {
      return .success(try parser.entry(id: id, area: area))
    } catch {
      return .failure(error)
    }
  }

  /// Why an envelope file was refused.
  struct ParseFailure: Error, Equatable { var reason: String }

  private struct Parser {
    let bytes: [UInt8]
    var position = 0

    /// The next LF-terminated line, without the LF.
    mutating func line() throws(ParseFailure) -> [UInt8] {
      guard let lf = bytes[position...].firstIndex(of: 0x0a) else {
        throw ParseFailure(reason: position == bytes.count ? "missing end record" : "truncated line")
      }
      defer { position = lf + 1 }
      return Array(bytes[position..<lf])
    }

    mutating func entry(id: QueueID, area: QueueArea) throws(ParseFailure) -> QueueEntry {
      let version = try line()
      let isVersion2 = version == Array(EnvelopeRecord.version2Line.utf8)
      guard isVersion2 || version == Array(EnvelopeRecord.versionLine.utf8) else {
        throw ParseFailure(reason: "unknown format version")
      }
      var fields: [String: String] = [:]
      var recipients: [String] = []
      var header: [UInt8]?
      while header == nil {
        let raw = try line()
        guard let text = String(validating: raw, as: UTF8.self) else { throw ParseFailure(reason: "invalid UTF-8") }
        if raw.contains(where: { $0 < 0x20 || $0 == 0x7f }) { throw ParseFailure(reason: "control character") }
        let key: String
        let value: String
        // Split at the first space byte: valid UTF-8 split at an ASCII byte stays valid, and
        // a search by Character would run grapheme breaking over every line (a quarter of
        // the time `mailq` took for 10,000 entries), and miss a space followed by a
        // combining mark.
        if let space = raw.firstIndex(of: 0x20) {
          key = String(decoding: raw[..<space], as: UTF8.self)
          value = String(decoding: raw[(space + 1)...], as: UTF8.self)
        } else {
          key = text
          value = ""
        }
        switch key {
        case "rcpt":
          guard !value.isEmpty else { throw ParseFailure(reason: "empty recipient") }
          recipients.append(value)
        case "header":
          let count = try number(value, key)
          guard count <= bytes.count - position else { throw ParseFailure(reason: "truncated header") }
          header = Array(bytes[position..<position + count])
          position += count
          guard try line().isEmpty else { throw ParseFailure(reason: "header longer than recorded") }
        case "uid" where !isVersion2, "held" where !isVersion2:
          throw ParseFailure(reason: "unknown record \(key)")
        case "id", "arrival", "sender", "account", "notify", "ret", "envid", "body-size", "body-8bit",
          "longest-line", "attempts", "next-attempt", "last-error", "deferred-auth", "uid", "held":
          guard fields.updateValue(value, forKey: key) == nil else { throw ParseFailure(reason: "repeated \(key)") }
        default:
          throw ParseFailure(reason: "unknown record \(QueueError.printable(key))")
        }
      }
      guard try line() == Array("end".utf8) else { throw ParseFailure(reason: "missing end record") }
      guard position == bytes.count else { throw ParseFailure(reason: "data after end record") }

      /// The account: required in version 1, where `none` meant that none was chosen.
      func account() throws(ParseFailure) -> String? {
        guard isVersion2 else {
          let name = try required("account")
          return name == "none" ? nil : name
        }
        return fields["account"]
      }
      func required(_ key: String) throws(ParseFailure) -> String {
        guard let value = fields[key] else { throw ParseFailure(reason: "missing \(key)") }
        return value
      }
      guard try required("id") == id.rawValue else { throw ParseFailure(reason: "id does not match the file name") }
      guard !recipients.isEmpty else { throw ParseFailure(reason: "no recipients") }
      var submitter: UInt32?
      if let text = fields["uid"] {
        let uid = try number(text, "uid")
        guard uid <= Int(UInt32.max) else { throw ParseFailure(reason: "bad uid") }
        submitter = UInt32(uid)
      }
      let envelope = QueueEnvelope(
        sender: try required("sender"), account: try account(), recipients: recipients,
        notify: fields["notify"], ret: fields["ret"], envid: fields["envid"],
        submitter: submitter)
      return QueueEntry(
        id: id, area: area, arrival: try number(try required("arrival"), "arrival"), envelope: envelope,
        header: header ?? [],
        body: BodyStatistics(
          size: try number(try required("body-size"), "body-size"),
          has8BitBytes: try flag(try required("body-8bit"), "body-8bit"),
          longestLine: try number(try required("longest-line"), "longest-line")),
        attempts: try number(try required("attempts"), "attempts"),
        nextAttempt: try number(try required("next-attempt"), "next-attempt"),
        lastError: try required("last-error"),
        deferredForAuthentication: try flag(try required("deferred-auth"), "deferred-auth"),
        held: isVersion2 ? try flag(try required("held"), "held") : false)
    }

    /// A decimal number of at most 18 digits (no sign, no spaces).
    func number(_ text: String, _ key: String) throws(ParseFailure) -> Int {
      let digits = Array(text.utf8)
      guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
        throw ParseFailure(reason: "bad \(key)")
      }
      return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    func flag(_ text: String, _ key: String) throws(ParseFailure) -> Bool {
      switch text {
      case "0": return false
      case "1": return true
      default: throw ParseFailure(reason: "bad \(key)")
      }
    }
  }
}
