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
  public static func mailq(_ entries: [QueueEntry], zoneOffsetMinutes: (Int) -> Int) -> String {
    guard !entries.isEmpty else { return emptyText }
    var out = "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
    var total = 0
    for entry in entries {
      total += entry.size
      let id = entry.id.rawValue + (entry.deferredForAuthentication || entry.held ? "!" : "")
      let time = DateStamp(entry.arrival, zone: zoneOffsetMinutes).mailq
      let sender = entry.envelope.sender.isEmpty ? "MAILER-DAEMON" : entry.envelope.sender
      out += padRight(id, 11) + " " + padLeft(String(entry.size), 7) + " " + time + "  " + sender + "\n"
      if entry.held {
        let until = DateStamp(entry.nextAttempt, zone: zoneOffsetMinutes).mailq
        out += "(held until \(until): \(entry.lastError))\n"
      } else if !entry.lastError.isEmpty {
        out += "(" + entry.lastError + ")\n"
      }
      for rcpt in entry.envelope.recipients { out += recipientIndent + rcpt + "\n" }
      out += "\n"
    }
    let kbytes = (total + 1023) / 1024
    out += "-- \(kbytes) Kbytes in \(entries.count) Request\(entries.count == 1 ? "" : "s").\n"
    return out
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
    guard !entries.isEmpty else { return "[]\n" }
    let objects = entries.map { entry in
      "{\"id\":\(JSON.quoted(entry.id.rawValue)),\"queue\":\(JSON.quoted(entry.area.rawValue))"
        + ",\"arrival\":\(entry.arrival),\"size\":\(entry.size)"
        + ",\"sender\":\(JSON.quoted(entry.envelope.sender)),\"account\":\(entry.envelope.account.map(JSON.quoted) ?? "null")"
        + ",\"recipients\":[\(entry.envelope.recipients.map(JSON.quoted).joined(separator: ","))]"
        + ",\"attempts\":\(entry.attempts),\"next_attempt\":\(entry.nextAttempt)"
        + ",\"last_error\":\(JSON.quoted(entry.lastError))"
        + ",\"deferred_for_auth\":\(entry.deferredForAuthentication),\"held\":\(entry.held)"
        + ",\"uid\":\(entry.envelope.submitter.map(String.init) ?? "null")}"
    }
    return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
  }



  /// The column of the recipients, made once rather than once per line.
  private static let recipientIndent = String(repeating: " ", count: 41)

  // IDs and sizes are ASCII: their width is their UTF-8 length, without grapheme breaking.
  private static func padRight(_ text: String, _ width: Int) -> String {
    let count = text.utf8.count
    return count >= width ? text : text + String(repeating: " ", count: width - count)
  }

  private static func padLeft(_ text: String, _ width: Int) -> String {
    let count = text.utf8.count
    return count >= width ? text : String(repeating: " ", count: width - count) + text
  }
}
