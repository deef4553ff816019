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
  static let versionLine: StaticString = "gsendmail-queue 1"
  static let version2Line: StaticString = "gsendmail-queue 2"
  /// The longest last-error kept, in bytes of UTF-8 (longer text is cut).
  static let maximumErrorLength = 1000

  /// Encodes an entry. The caller has validated the envelope (`validate`).
  static func encode(_ entry: QueueEntry) -> [UInt8] {
    let version2 = entry.envelope.submitter != nil || entry.held || entry.envelope.account == nil
    var text = (version2 ? version2Line : versionLine).description + "\n"
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
}
