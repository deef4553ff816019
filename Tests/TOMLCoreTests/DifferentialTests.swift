// SPDX-License-Identifier: MIT
// Differential test of TOMLCore against Python's tomllib (Python 3.11+), which is run
// here, at test time, on every document: the committed fixtures under Fixtures/valid and
// Fixtures/invalid, and documents made from them by deleting or inserting bytes. Both
// parsers' results are written in one typed canonical text and must be equal; a rejected
// document is "error". Without python3 the test fails: CI installs it.
//
// tomllib keeps integers of any size; TOML 1.0 says one that does not fit in 64 bits must be
// an error, so the Python side applies that rule. The only other disagreements allowed are
// those of `knownReason`, and the fixtures that show them are listed in `knownDisagreements`.
import Foundation
import TOMLCore
import TestSupport
import Testing

@Suite("Differential: Python tomllib")
struct DifferentialTests {
  /// Fixtures that tomllib refuses for a reason of `knownReason`.
  static let knownDisagreements: Set = [
    "valid/datetime-leap-second.toml", "valid/date-year-zero.toml", "valid/byte-order-mark.toml",
  ]

  /// Why TOMLCore is right to accept a document that tomllib refuses, if it is.
  static func knownReason(_ bytes: [UInt8], python: String) -> String? {
    guard python == "error", let table = try? TOML.parse(utf8: bytes) else { return nil }
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
      return "a leading UTF-8 byte order mark, which some editors write, is skipped; tomllib refuses it"
    }
    func dateTimes(_ value: TOMLValue) -> [TOMLDateTime] {
      switch value {
      case .dateTime(let d): return [d]
      case .array(let a): return a.flatMap(dateTimes)
      case .table(let t): return t.keys.flatMap { dateTimes(t[$0]!) }
      default: return []
      }
    }
    let all = dateTimes(.table(table))
    if all.contains(where: { $0.time?.second == 60 }) {
      return "TOML's ABNF and RFC 3339 allow second 60 (a leap second); Python's datetime does not"
    }
    if all.contains(where: { $0.date?.year == 0 }) { return "TOML's ABNF allows year 0000; Python's date starts at year 1" }
    return nil
  }

  @Test("Valid fixtures parse, and as tomllib reads them")
  func validFixtures() throws {
    let fixtures = try Self.fixtures("valid")
    #expect(fixtures.count >= 100)
    let python = try Python.canonical(fixtures.map(\.bytes))
    for (fixture, theirs) in zip(fixtures, python) {
      let ours = Canonical.ours(fixture.bytes)
      #expect(ours != "error", "\(fixture.name): \(Canonical.error(fixture.bytes))")
      Self.compare(fixture.name, fixture.bytes, ours: ours, python: theirs)
    }
  }

  @Test("Invalid fixtures are refused, by tomllib too")
  func invalidFixtures() throws {
    let fixtures = try Self.fixtures("invalid")
    #expect(fixtures.count >= 150)
    let python = try Python.canonical(fixtures.map(\.bytes))
    for (fixture, theirs) in zip(fixtures, python) {
      #expect(Canonical.ours(fixture.bytes) == "error", "\(fixture.name) was accepted")
      Self.compare(fixture.name, fixture.bytes, ours: "error", python: theirs)
    }
  }

  @Test("Valid fixtures with one byte deleted or inserted read as tomllib reads them")
  func mutations() throws {
    var random = SplitMix64(seed: 0x746f_6d6c)
    let inserts = Array("\"'=[]{},.#\\\n\r \t0_-+:eTZx".utf8)
    var documents: [(origin: String, bytes: [UInt8])] = []
    for fixture in try Self.fixtures("valid") where !Self.knownDisagreements.contains(fixture.name) {
      let bytes = fixture.bytes
      for i in bytes.indices {
        var deleted = bytes
        deleted.remove(at: i)
        documents.append(("\(fixture.name) without byte \(i)", deleted))
      }
      for _ in 0..<(bytes.count / 2 + 4) {
        let at = Int(random.next() % UInt64(bytes.count + 1))
        let byte = inserts[Int(random.next() % UInt64(inserts.count))]
        var inserted = bytes
        inserted.insert(byte, at: at)
        documents.append(("\(fixture.name) with \(Character(Unicode.Scalar(byte)).debugDescription) at \(at)", inserted))
      }
    }
    #expect(documents.count > 10_000)
    let python = try Python.canonical(documents.map(\.bytes))
    #expect(Self.unexplained(documents, python: python) == 0)
  }

  @Test("Generated numbers, dates and times read as tomllib reads them")
  func generatedScalars() throws {
    var random = SplitMix64(seed: 42)
    let alphabets = [Array("0123456789_+-.eExobaAfFin".utf8), Array("0123456789-:TtZz .+".utf8)]
    let seeds = ["1979-05-27T07:32:00.5-07:00", "2000-02-29 23:59:59Z", "12:00:00.25", "0x7F_ff", "-1_000.5e+1_0"]
    var values: [String] = []
    for _ in 0..<3_000 {
      let alphabet = alphabets[Int(random.next() % 2)]
      let length = 1 + Int(random.next() % 10)
      values.append(String(decoding: (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }, as: UTF8.self))
    }
    for seed in seeds {
      for _ in 0..<300 {
        var bytes = Array(seed.utf8)
        let at = Int(random.next() % UInt64(bytes.count))
        bytes[at] = Array("0123456789".utf8)[Int(random.next() % 10)]
        values.append(String(decoding: bytes, as: UTF8.self))
      }
    }
    let documents = values.map { ("generated", Array("v = \($0)\na = [\($0)]\n".utf8)) }
    let python = try Python.canonical(documents.map(\.1))
    #expect(Self.unexplained(documents, python: python) == 0)
    let accepted = documents.count { Canonical.ours($0.1) != "error" }
    // Both kinds of outcome are exercised.
    #expect(accepted > 300 && accepted < documents.count - 300)
  }

  /// A listed fixture must disagree for a known reason; anything else must agree.
  static func compare(_ name: String, _ bytes: [UInt8], ours: String, python: String) {
    if knownDisagreements.contains(name) {
      #expect(ours != python && knownReason(bytes, python: python) != nil, "listed disagreement no longer happens: \(name)")
    } else {
      #expect(ours == python, "\(name):\n  ours:   \(ours)\n  python: \(python)")
    }
  }

  /// Counts the disagreements without a known reason, reporting the first 20.
  static func unexplained(_ documents: [(origin: String, bytes: [UInt8])], python: [String]) -> Int {
    var count = 0
    for (document, theirs) in zip(documents, python) {
      let ours = Canonical.ours(document.bytes)
      guard ours != theirs, knownReason(document.bytes, python: theirs) == nil else { continue }
      count += 1
      if count <= 20 {
        Issue.record("""
          \(document.origin): \(String(decoding: document.bytes, as: UTF8.self).debugDescription)
          ours:   \(ours) \(Canonical.error(document.bytes))
          python: \(theirs)
          """)
      }
    }
    return count
  }

  /// The fixtures of one directory, by name (`valid/x.toml`), sorted.
  static func fixtures(_ directory: String) throws -> [(name: String, bytes: [UInt8])] {
    let url = try #require(Bundle.module.url(forResource: directory, withExtension: nil, subdirectory: "Fixtures"))
    let names = try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".toml") }.sorted()
    return try names.map { name in
      (directory + "/" + name, Array(try Data(contentsOf: url.appendingPathComponent(name))))
    }
  }
}

/// One typed text for a parsed document, the same in Swift and in Python:
/// `{"key":{"type":"integer","value":"42"},"t":{…},"a":[…]}` in document order. Floats are
/// compared by bit pattern (NaN as "nan"), date-times by their components with the fraction
/// in microseconds (tomllib's precision).
enum Canonical {
  static func ours(_ bytes: [UInt8]) -> String {
    guard let table = try? TOML.parse(utf8: bytes) else { return "error" }
    return text(.table(table))
  }

  /// The error message, for failure reports.
  static func error(_ bytes: [UInt8]) -> String {
    do {
      _ = try TOML.parse(utf8: bytes)
      return ""
    } catch {
      return "(\(error))"
    }
  }

  static func text(_ value: TOMLValue) -> String {
    switch value {
    case .string(let s): return scalar("string", s)
    case .integer(let i): return scalar("integer", String(i))
    case .float(let d): return scalar("float", float(d))
    case .boolean(let b): return scalar("bool", String(b))
    case .dateTime(let d): return dateTime(d)
    case .array(let a): return "[" + a.map(text).joined(separator: ",") + "]"
    case .table(let t): return "{" + t.keys.map { quoted($0) + ":" + text(t[$0]!) }.joined(separator: ",") + "}"
    }
  }

  static func scalar(_ type: String, _ value: String) -> String {
    "{\"type\":\"\(type)\",\"value\":\(quoted(value))}"
  }

  static func float(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "+inf" }
    let hex = String(d.bitPattern, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
  }

  static func dateTime(_ d: TOMLDateTime) -> String {
    func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    var parts: [String] = []
    if let date = d.date {
      parts.append(String(repeating: "0", count: 4 - String(date.year).count) + "\(date.year)-\(two(date.month))-\(two(date.day))")
    }
    if let time = d.time {
      let micro = String(time.nanosecond / 1000)
      parts.append("\(two(time.hour)):\(two(time.minute)):\(two(time.second)).\(String(repeating: "0", count: 6 - micro.count))\(micro)")
    }
    var text = parts.joined(separator: "T")
    if let offset = d.offsetMinutes { text += (offset < 0 ? "-" : "+") + two(abs(offset) / 60) + ":" + two(abs(offset) % 60) }
    let type =
      d.offsetMinutes != nil ? "datetime" : d.date == nil ? "time-local" : d.time == nil ? "date-local" : "datetime-local"
    return scalar(type, text)
  }

  /// JSON-style quoting: `"` and `\` escaped, control characters as \u00XX, the rest as is.
  static func quoted(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case _ where scalar.value < 0x20 || scalar.value == 0x7F:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}

/// Python's tomllib, run once per batch of documents.
enum Python {
  /// The canonical text of each document as tomllib reads it, or "error".
  static func canonical(_ documents: [[UInt8]]) throws -> [String] {
    let input = FileManager.default.temporaryDirectory.appendingPathComponent("toml-differential-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: input) }
    var framed = Data()
    for document in documents {
      framed.append(contentsOf: Array("\(document.count)\n".utf8))
      framed.append(contentsOf: document)
    }
    try framed.write(to: input)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, input.path]
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try #require(
      process.terminationStatus == 0,
      "python3 with tomllib (Python 3.11 or later) is needed: \(String(decoding: errors, as: UTF8.self))")
    let lines = Array(output).split(separator: 10, omittingEmptySubsequences: false).dropLast()
    try #require(lines.count == documents.count, "python3 answered \(lines.count) of \(documents.count) documents")
    return lines.map { String(decoding: $0, as: UTF8.self) }
  }

  static let script = #"""
    import datetime, struct, sys, tomllib

    def quoted(s):
        out = ['"']
        for c in s:
            if c == '"': out.append('\\"')
            elif c == '\\': out.append('\\\\')
            elif ord(c) < 0x20 or ord(c) == 0x7F: out.append('\\u%04x' % ord(c))
            else: out.append(c)
        out.append('"')
        return ''.join(out)

    def scalar(kind, value):
        return '{"type":"%s","value":%s}' % (kind, quoted(value))

    class TooBig(Exception):
        pass

    def text(v):
        if isinstance(v, bool): return scalar('bool', 'true' if v else 'false')
        if isinstance(v, int):
            if not -2**63 <= v < 2**63: raise TooBig()
            return scalar('integer', str(v))
        if isinstance(v, float):
            if v != v: return scalar('float', 'nan')
            if v in (float('inf'), float('-inf')): return scalar('float', '+inf' if v > 0 else '-inf')
            return scalar('float', struct.pack('>d', v).hex())
        if isinstance(v, str): return scalar('string', v)
        if isinstance(v, datetime.datetime):
            s = '%04d-%02d-%02dT%02d:%02d:%02d.%06d' % (v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)
            if v.utcoffset() is None: return scalar('datetime-local', s)
            minutes = int(v.utcoffset().total_seconds()) // 60
            sign = '-' if minutes < 0 else '+'
            return scalar('datetime', s + '%s%02d:%02d' % (sign, abs(minutes) // 60, abs(minutes) % 60))
        if isinstance(v, datetime.date): return scalar('date-local', '%04d-%02d-%02d' % (v.year, v.month, v.day))
        if isinstance(v, datetime.time):
            return scalar('time-local', '%02d:%02d:%02d.%06d' % (v.hour, v.minute, v.second, v.microsecond))
        if isinstance(v, list): return '[' + ','.join(text(e) for e in v) + ']'
        if isinstance(v, dict): return '{' + ','.join(quoted(k) + ':' + text(e) for k, e in v.items()) + '}'
        raise TypeError(type(v))

    data = open(sys.argv[1], 'rb').read()
    pos = 0
    out = []
    while pos < len(data):
        newline = data.index(b'\n', pos)
        length = int(data[pos:newline])
        document = data[newline + 1:newline + 1 + length]
        pos = newline + 1 + length
        try:
            out.append(text(tomllib.loads(document.decode('utf-8'))))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, TooBig):
            out.append('error')
    sys.stdout.buffer.write(('\n'.join(out) + '\n').encode('utf-8'))
    """#
}
