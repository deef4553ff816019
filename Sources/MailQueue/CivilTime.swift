// SPDX-License-Identifier: MIT
// Calendar arithmetic for epoch seconds, without Foundation: civil date from a
// day count (Howard Hinnant's days-to-civil algorithm), weekday, and the two
// formats the queue prints (mailq's "Tue Mar  5 10:00:00" and RFC 5322's date).
// The zone offset is a parameter; `localUTCOffset` asks the C library for it.

#if canImport(Glibc)
import Glibc
#endif

/// A date and time of day in some zone.
public struct CivilTime: Equatable, Sendable {
  public var year: Int
  /// 1–12.
  public var month: Int
  /// 1–31.
  public var day: Int
  public var hour: Int
  public var minute: Int
  public var second: Int
  /// 0 = Sunday … 6 = Saturday.
  public var weekday: Int
  /// The zone's offset from UTC, in seconds east.
  public var utcOffset: Int

  static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
  static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

  /// The civil time of an instant.
  /// - Parameters:
  ///   - epoch: Seconds since 1970-01-01T00:00:00Z.
  ///   - utcOffset: The zone's offset from UTC in seconds (east positive).
  public init(epoch: Int, utcOffset: Int = 0) {
    let local = epoch + utcOffset
    let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
    let secondOfDay = local - days * 86_400
    hour = secondOfDay / 3600
    minute = secondOfDay / 60 % 60
    second = secondOfDay % 60
    weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday (4)
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    day = dayOfYear - (153 * mp + 2) / 5 + 1
    month = mp < 10 ? mp + 3 : mp - 9
    year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    self.utcOffset = utcOffset
  }

  /// mailq's arrival time: `Tue Mar  5 10:00:00` (day of month padded with a space).
  public var mailqFormat: String {
    "\(CivilTime.dayNames[weekday]) \(CivilTime.monthNames[month - 1]) \(pad(day, " ")) "
      + "\(pad(hour)):\(pad(minute)):\(pad(second))"
  }

  /// An RFC 5322 §3.3 date: `Tue, 5 Mar 2024 10:00:00 +0100`.
  public var rfc5322Format: String {
    let sign = utcOffset < 0 ? "-" : "+"
    let minutes = abs(utcOffset) / 60
    return "\(CivilTime.dayNames[weekday]), \(day) \(CivilTime.monthNames[month - 1]) \(year) "
      + "\(pad(hour)):\(pad(minute)):\(pad(second)) \(sign)\(pad(minutes / 60))\(pad(minutes % 60))"
  }

  private func pad(_ n: Int, _ fill: Character = "0") -> String {
    n < 10 ? String(fill) + String(n) : String(n)
  }

  /// The local zone's offset from UTC at an instant, from the C library (`TZ`,
  /// /etc/localtime).
  public static func localUTCOffset(at epoch: Int) -> Int {
    var time = time_t(epoch)
    var parts = tm()
    guard localtime_r(&time, &parts) != nil else { return 0 }
    return Int(parts.tm_gmtoff)
  }
}
