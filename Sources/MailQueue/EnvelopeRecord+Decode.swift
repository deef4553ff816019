// SPDX-License-Identifier: MIT
// The strict parser of the `ID.env` format (see EnvelopeRecord.swift). It walks the
// bytes in place: a line is a range, a key is compared as bytes, a number is read
// from its digits, and a string is made only for a value the entry keeps. `mailq`
// parses every envelope of the queue, so nothing is allocated per line.

#if canImport(Glibc)
import Glibc
#endif

extension EnvelopeRecord {
  /// Parses an envelope file.
  /// - Parameters:
  ///   - bytes: The whole file.
  ///   - id: The ID its name gives; the `id` line must match.
  ///   - area: The directory it was read from.
  /// - Returns: The entry, or the reason the file is corrupt.
  static func decode(_ bytes: [UInt8], id: QueueID, area: QueueArea) -> Result<QueueEntry, ParseFailure> {
    bytes.withUnsafeBytes { decode($0, id: id, area: area) }
  }

  /// Parses an envelope file held in a buffer (the file store reads into one reused buffer).
  static func decode(_ bytes: UnsafeRawBufferPointer, id: QueueID, area: QueueArea) -> Result<QueueEntry, ParseFailure> {
    var parser = Parser(bytes: bytes)
    do {
      return .success(try parser.entry(id: id, area: area))
    } catch {
      return .failure(error)
    }
  }

  /// Why an envelope file was refused.
  struct ParseFailure: Error, Equatable { var reason: String }

  /// The records kept once each, in the order of `names`.
  private enum Field: Int, CaseIterable {
    case id, arrival, sender, account, notify, ret, envid, bodySize, body8Bit, longestLine, attempts, nextAttempt,
      lastError, deferredAuth, uid, held

    static let names = [
      "id", "arrival", "sender", "account", "notify", "ret", "envid", "body-size", "body-8bit", "longest-line",
      "attempts", "next-attempt", "last-error", "deferred-auth", "uid", "held",
    ]
    /// Each name as a `Key`, in the same order.
    static let keys = names.map { name in Array(name.utf8).withUnsafeBytes { Key($0) } }

    var name: String { Field.names[rawValue] }
  }

  /// A record's key (at most 16 bytes; longer ones are no key of the format) packed into
  /// two integers, so that finding it among the format's keys is a few comparisons.
  private struct Key: Equatable {
    var low: UInt64 = 0
    var high: UInt64 = 0

    init(_ bytes: UnsafeRawBufferPointer) {
      guard bytes.count <= 16 else {
        low = .max
        high = .max
        return
      }
      withUnsafeMutableBytes(of: &self) { raw in raw.copyMemory(from: bytes) }
    }

    static let rcpt = Array("rcpt".utf8).withUnsafeBytes { Key($0) }
    static let header = Array("header".utf8).withUnsafeBytes { Key($0) }
  }

  private struct Parser {
    let bytes: UnsafeRawBufferPointer
    var position = 0
    /// Where each record's value is, by `Field`.
    var values = [Range<Int>?](repeating: nil, count: Field.allCases.count)

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The next LF-terminated line, without the LF.
    mutating func line() throws(ParseFailure) -> Range<Int> {
      guard position < bytes.count, let base = bytes.baseAddress,
        let found = memchr(base + position, 0x0a, bytes.count - position)
      else {
        throw ParseFailure(reason: position == bytes.count ? "missing end record" : "truncated line")
      }
      let lf = base.distance(to: UnsafeRawPointer(found))
      defer { position = lf + 1 }
      return position..<lf
    }

    func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[range]) }

    func text(_ range: Range<Int>) -> String { String(decoding: slice(range), as: UTF8.self) }

    func equals(_ range: Range<Int>, _ expected: StaticString) -> Bool {
      range.count == expected.utf8CodeUnitCount
        && (range.isEmpty || memcmp(bytes.baseAddress.unsafelyUnwrapped + range.lowerBound, expected.utf8Start, range.count) == 0)
    }

    mutating func entry(id: QueueID, area: QueueArea) throws(ParseFailure) -> QueueEntry {
      let version = try line()
      let isVersion2 = equals(version, EnvelopeRecord.version2Line)
      guard isVersion2 || equals(version, EnvelopeRecord.versionLine) else {
        throw ParseFailure(reason: "unknown format version")
      }
      var recipients: [String] = []
      var header: [UInt8]?
      let keys = Field.keys
      let base = bytes.baseAddress.unsafelyUnwrapped
      while header == nil {
        let raw = try line()
        var control = false
        var nonASCII = false
        for byte in slice(raw) {
          if byte < 0x20 || byte == 0x7f { control = true } else if byte >= 0x80 { nonASCII = true }
        }
        if nonASCII && String(validating: slice(raw), as: UTF8.self) == nil {
          throw ParseFailure(reason: "invalid UTF-8")
        }
        if control { throw ParseFailure(reason: "control character") }
        // Split at the first space byte: valid UTF-8 split at an ASCII byte stays valid.
        let space = memchr(base + raw.lowerBound, 0x20, raw.count).map { base.distance(to: UnsafeRawPointer($0)) }
        let key = raw.lowerBound..<(space ?? raw.upperBound)
        let value = space.map { ($0 + 1)..<raw.upperBound } ?? raw.upperBound..<raw.upperBound
        let packed = Key(slice(key))
        if packed == .rcpt {
          guard !value.isEmpty else { throw ParseFailure(reason: "empty recipient") }
          recipients.append(text(value))
        } else if packed == .header {
          let count = try number(value, "header")
          guard count <= bytes.count - position else { throw ParseFailure(reason: "truncated header") }
          header = Array(slice(position..<position + count))
          position += count
          guard try line().isEmpty else { throw ParseFailure(reason: "header longer than recorded") }
        } else if let field = keys.firstIndex(of: packed).flatMap(Field.init(rawValue:)) {
          if !isVersion2 && (field == .uid || field == .held) {
            throw ParseFailure(reason: "unknown record \(field.name)")
          }
          guard values[field.rawValue] == nil else { throw ParseFailure(reason: "repeated \(field.name)") }
          values[field.rawValue] = value
        } else {
          throw ParseFailure(reason: "unknown record \(QueueError.printable(text(key)))")
        }
      }
      guard equals(try line(), "end") else { throw ParseFailure(reason: "missing end record") }
      guard position == bytes.count else { throw ParseFailure(reason: "data after end record") }

      let given = try required(.id)
      var name = id.rawValue
      let matches = name.withUTF8 { name in
        name.count == given.count && memcmp(name.baseAddress.unsafelyUnwrapped, bytes.baseAddress.unsafelyUnwrapped + given.lowerBound, given.count) == 0
      }
      guard matches else {
        throw ParseFailure(reason: "id does not match the file name")
      }
      guard !recipients.isEmpty else { throw ParseFailure(reason: "no recipients") }
      var submitter: UInt32?
      if let range = values[Field.uid.rawValue] {
        let uid = try number(range, "uid")
        guard uid <= Int(UInt32.max) else { throw ParseFailure(reason: "bad uid") }
        submitter = UInt32(uid)
      }
      let sender = text(try required(.sender))
      let account: String?
      if isVersion2 {
        account = values[Field.account.rawValue].map(text)
      } else {
        // Version 1 required it, and wrote `none` when no account was chosen.
        let name = try required(.account)
        account = equals(name, "none") ? nil : text(name)
      }
      let envelope = QueueEnvelope(
        sender: sender, account: account, recipients: recipients,
        notify: values[Field.notify.rawValue].map(text), ret: values[Field.ret.rawValue].map(text),
        envid: values[Field.envid.rawValue].map(text), submitter: submitter)
      return QueueEntry(
        id: id, area: area, arrival: try number(.arrival), envelope: envelope,
        header: header ?? [],
        body: BodyStatistics(
          size: try number(.bodySize), has8BitBytes: try flag(.body8Bit), longestLine: try number(.longestLine)),
        attempts: try number(.attempts),
        nextAttempt: try number(.nextAttempt),
        lastError: text(try required(.lastError)),
        deferredForAuthentication: try flag(.deferredAuth),
        held: isVersion2 ? try flag(.held) : false)
    }

    func required(_ field: Field) throws(ParseFailure) -> Range<Int> {
      guard let range = values[field.rawValue] else { throw ParseFailure(reason: "missing \(field.name)") }
      return range
    }

    func number(_ field: Field) throws(ParseFailure) -> Int { try number(try required(field), field.name) }

    /// A decimal number of at most 18 digits (no sign, no spaces).
    func number(_ range: Range<Int>, _ key: String) throws(ParseFailure) -> Int {
      guard !range.isEmpty, range.count <= 18 else { throw ParseFailure(reason: "bad \(key)") }
      var value = 0
      for byte in slice(range) {
        guard byte >= 0x30 && byte <= 0x39 else { throw ParseFailure(reason: "bad \(key)") }
        value = value * 10 + Int(byte - 0x30)
      }
      return value
    }

    func flag(_ field: Field) throws(ParseFailure) -> Bool {
      let range = try required(field)
      if equals(range, "0") { return false }
      if equals(range, "1") { return true }
      throw ParseFailure(reason: "bad \(field.name)")
    }
  }
}
