// SPDX-License-Identifier: MIT
// `mailq` output in Postfix's layout, and the JSON of `queue list --json`. Pure:
// the zone offset is a parameter; JSON is written by hand with full string
// escaping.
//
//   -Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
//   0PQ3R4S5T6U7abcdEFGH    1234 Tue Mar  5 10:00:00  alice@example.com
//   (connect to smtp.gmail.com[142.250.1.1]:587: Connection timed out)
//                                            bob@example.com
//
//   -- 2 Kbytes in 1 Request.
//
// As in Postfix, an ID is padded to 11 columns (ours are longer, so the columns
// shift), a `!` after the ID marks an entry on hold (here: waiting for
// `gsendmailctl login`, or for a sending limit's window, whose reason line says
// until when), the null sender prints as MAILER-DAEMON, and the total is the sum
// of the sizes rounded up to kilobytes.

import Codecs
import MessageCore
/// Renders queue listings.
public enum QueueListing {
  /// The text `mailq` prints for an empty queue.
  public static let emptyText = "Mail queue is empty\n"

  /// The `mailq` listing.
  /// - Parameters:
  ///   - entries: The entries, in the order to print (`QueueStore.list()` is oldest first).
  ///   - zoneOffsetMinutes: The local zone's offset from UTC in minutes at a time (seconds
  ///     since the epoch), for arrival times.
  /// - Returns: The whole output, ending with a newline.
  public static func mailq(_ entries: [QueueEntry], zoneOffsetMinutes: @escaping (Int) -> Int) -> String {
    var listing = Mailq(zoneOffsetMinutes: zoneOffsetMinutes)
    var out: [UInt8] = []
    for entry in entries { listing.add(entry, to: &out) }
    listing.end(to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  /// The `mailq` listing written entry by entry, so that a queue of 100,000 entries is
  /// printed as it is read rather than held: `add` each entry, then `end`.
  public struct Mailq {
    private let zoneOffsetMinutes: (Int) -> Int
    /// The entries added so far.
    public private(set) var count = 0
    private var total = 0

    /// Starts a listing.
    /// - Parameter zoneOffsetMinutes: The local zone's offset from UTC in minutes at a time
    ///   (seconds since the epoch), for arrival times.
    public init(zoneOffsetMinutes: @escaping (Int) -> Int) { self.zoneOffsetMinutes = zoneOffsetMinutes }

    /// Appends an entry's lines (after the column titles, for the first).
    public mutating func add(_ entry: QueueEntry, to out: inout [UInt8]) {
      if count == 0 { out += QueueListing.titles }
      count += 1
      // Sizes come from the envelopes unchecked (mailq does not stat bodies): a damaged one
      // must not overflow the sum.
      total = total.addingReportingOverflow(max(entry.size, 0)).overflow ? Int.max : total + max(entry.size, 0)
      let id = entry.id.rawValue.utf8
      out += id
      let marked = entry.deferredForAuthentication || entry.held
      if marked { out.append(0x21) }
      QueueListing.pad(&out, 11 - id.count - (marked ? 1 : 0))
      out.append(0x20)
      QueueListing.appendNumber(entry.size, width: 7, to: &out)
      out.append(0x20)
      QueueListing.appendStamp(entry.arrival, zone: zoneOffsetMinutes, to: &out)
      out += [0x20, 0x20]
      out += entry.envelope.sender.isEmpty ? "MAILER-DAEMON".utf8 : entry.envelope.sender.utf8
      out.append(0x0a)
      if entry.held {
        out += "(held until ".utf8
        QueueListing.appendStamp(entry.nextAttempt, zone: zoneOffsetMinutes, to: &out)
        out += ": ".utf8
        out += entry.lastError.utf8
        out += ")\n".utf8
      } else if !entry.lastError.isEmpty {
        out.append(0x28)
        out += entry.lastError.utf8
        out += ")\n".utf8
      }
      for rcpt in entry.envelope.recipients {
        QueueListing.pad(&out, 41)
        out += rcpt.utf8
        out.append(0x0a)
      }
      out.append(0x0a)
    }

    /// Appends the last line (`-- 2 Kbytes in 1 Request.`), or the text of an empty queue
    /// when no entry was added.
    public func end(to out: inout [UInt8]) {
      guard count > 0 else {
        out += QueueListing.emptyText.utf8
        return
      }
      let kbytes = total / 1024 + (total % 1024 == 0 ? 0 : 1)
      out += "-- \(kbytes) Kbytes in \(count) Request\(count == 1 ? "" : "s").\n".utf8
    }
  }

  /// The JSON listing: an array with one object per entry, one per line.
  ///
  ///     [
  ///     {"id":"…","queue":"queued","arrival":1709632800,"size":1234,"sender":"…",
  ///      "account":"…","recipients":["…"],"attempts":1,"next_attempt":1709633100,
  ///      "last_error":"…","deferred_for_auth":false,"held":false,"uid":1000}
  ///     ]
  ///
  /// (each object on a single line). Times are seconds since the epoch.
  public static func json(_ entries: [QueueEntry]) -> String {
    var listing = JSONArray()
    var out: [UInt8] = []
    for entry in entries { listing.add(entry, to: &out) }
    listing.end(to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  /// The JSON listing written entry by entry: `add` each entry, then `end`.
  public struct JSONArray {
    /// The entries added so far.
    public private(set) var count = 0

    public init() {}

    /// Appends an entry's object (after the opening bracket, or a comma).
    public mutating func add(_ entry: QueueEntry, to out: inout [UInt8]) {
      out += (count == 0 ? "[\n" : ",\n").utf8
      count += 1
      out += "{\"id\":\(JSON.quoted(entry.id.rawValue)),\"queue\":\(JSON.quoted(entry.area.rawValue))".utf8
      out += ",\"arrival\":\(entry.arrival),\"size\":\(entry.size)".utf8
      out += ",\"sender\":\(JSON.quoted(entry.envelope.sender)),\"account\":\(entry.envelope.account.map(JSON.quoted) ?? "null")".utf8
      out += ",\"recipients\":[\(entry.envelope.recipients.map(JSON.quoted).joined(separator: ","))]".utf8
      out += ",\"attempts\":\(entry.attempts),\"next_attempt\":\(entry.nextAttempt)".utf8
      out += ",\"last_error\":\(JSON.quoted(entry.lastError))".utf8
      out += ",\"deferred_for_auth\":\(entry.deferredForAuthentication),\"held\":\(entry.held)".utf8
      out += ",\"uid\":\(entry.envelope.submitter.map(String.init) ?? "null")}".utf8
    }

    /// Appends the closing bracket (`[]` when no entry was added).
    public func end(to out: inout [UInt8]) {
      out += (count == 0 ? "[]\n" : "\n]\n").utf8
    }
  }

  private static let titles = Array("-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n".utf8)

  private static let weekdays = DateStamp.weekdayNames.map { Array($0.utf8) }
  private static let months = DateStamp.monthNames.map { Array($0.utf8) }

  /// Appends `DateStamp.mailq` (`Tue Mar  5 10:00:00`) without making a string: `mailq`
  /// writes one or two per entry.
  static func appendStamp(_ seconds: Int, zone: (Int) -> Int, to out: inout [UInt8]) {
    let c = DateStamp(seconds, zone: zone).components
    out += weekdays[c.weekday]
    out.append(0x20)
    out += months[c.month - 1]
    out.append(0x20)
    out.append(c.day < 10 ? 0x20 : 0x30 + UInt8(c.day / 10))
    out.append(0x30 + UInt8(c.day % 10))
    for (index, value) in [c.hour, c.minute, c.second].enumerated() {
      out.append(index == 0 ? 0x20 : 0x3a)
      out.append(0x30 + UInt8(value / 10))
      out.append(0x30 + UInt8(value % 10))
    }
  }

  /// Appends a number not below zero, right-aligned in `width` columns (wider when it needs to be).
  static func appendNumber(_ value: Int, width: Int, to out: inout [UInt8]) {
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
    withUnsafeMutableBytes(of: &digits) { buffer in
      var rest = max(value, 0)
      var count = 0
      repeat {
        buffer[buffer.count - 1 - count] = 0x30 + UInt8(rest % 10)
        rest /= 10
        count += 1
      } while rest > 0
      pad(&out, width - count)
      out += buffer[(buffer.count - count)...]
    }
  }

  /// Appends `count` spaces (none when it is not positive). IDs, sizes and the indent
  /// are ASCII: their width is their UTF-8 length, without grapheme breaking.
  private static func pad(_ out: inout [UInt8], _ count: Int) {
    if count > 0 { out.append(contentsOf: repeatElement(0x20, count: count)) }
  }
}
