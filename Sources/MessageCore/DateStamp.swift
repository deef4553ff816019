// SPDX-License-Identifier: MIT
// RFC 5322 §3.3 date-time text from an injected instant and zone offset, with the calendar
// arithmetic done here (no Foundation). Times outside years 1970–9999 are clamped.

/// An instant and the zone offset to show it in.
public struct DateStamp: Equatable, Sendable {
  /// Seconds since 1970-01-01T00:00:00Z.
  public var epochSeconds: Int64
  /// Offset of the local zone from UTC, in minutes (east positive: +60 for CET).
  public var utcOffsetMinutes: Int

  /// Creates a stamp.
  /// The stamp of `seconds` in the zone whose offset at that time `zone` gives (another
  /// offset than now's across a daylight-saving change).
  public init(_ seconds: Int, zone: (Int) -> Int) {
    self.init(epochSeconds: Int64(seconds), utcOffsetMinutes: zone(seconds))
  }

  public init(epochSeconds: Int64, utcOffsetMinutes: Int) {
    self.epochSeconds = epochSeconds
    self.utcOffsetMinutes = utcOffsetMinutes
  }

  /// The local calendar fields of the instant.
  public struct Components: Equatable, Sendable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// 0 = Sunday.
    public var weekday: Int
  }

  /// English month abbreviations, as RFC 5322, syslog and mailq write them.
  public static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
  /// English weekday abbreviations, Sunday first.
  public static let weekdayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

  private var clampedOffset: Int { max(-5999, min(5999, utcOffsetMinutes)) }  // 4 digits of hhmm

  /// The calendar fields in the stamp's zone.
  public var components: Components {
    let maxSeconds: Int64 = 253_402_300_799  // 9999-12-31T23:59:59Z
    let local = max(0, min(maxSeconds, epochSeconds)) + Int64(clampedOffset) * 60
    let days = local >= 0 ? local / 86400 : (local - 86399) / 86400
    let secondOfDay = Int(local - days * 86400)
    let (year, month, day) = DateStamp.civil(fromDays: days)
    return Components(
      year: Int(year), month: month, day: day, hour: secondOfDay / 3600, minute: secondOfDay / 60 % 60,
      second: secondOfDay % 60, weekday: Int(((days % 7) + 11) % 7))  // 1970-01-01 was a Thursday
  }

  /// The RFC 5322 date-time, e.g. `Thu, 01 Jan 1970 00:00:00 +0000`.
  public var rfc5322: String {
    let c = components
    let offset = clampedOffset
    let sign = offset < 0 ? "-" : "+"
    let zone = abs(offset) / 60 * 100 + abs(offset) % 60
    return "\(Self.weekdayNames[c.weekday]), \(pad(c.day, 2)) \(Self.monthNames[c.month - 1]) \(pad(c.year, 4)) "
      + "\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)) " + sign + pad(zone, 4)
  }

  /// mailq's arrival time, `Tue Mar  5 10:00:00` (the day padded with a space, as Postfix).
  public var mailq: String {
    let c = components
    let day = c.day < 10 ? " \(c.day)" : "\(c.day)"
    return "\(Self.weekdayNames[c.weekday]) \(Self.monthNames[c.month - 1]) \(day) "
      + "\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))"
  }

  /// `Mmm dd hh:mm:ss` (RFC 3164 §4.1.2, the syslog time stamp; the day padded with a space).
  public var syslog: String {
    let c = components
    let day = c.day < 10 ? " \(c.day)" : "\(c.day)"
    return "\(Self.monthNames[c.month - 1]) \(day) \(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))"
  }

  private func pad(_ n: Int, _ width: Int) -> String {
    let s = String(n)
    return String(repeating: "0", count: max(0, width - s.count)) + s
  }

  /// The proleptic Gregorian date of a day count since 1970-01-01 (the era-based algorithm
  /// of H. Hinnant's "chrono-compatible low-level date algorithms").
  static func civil(fromDays z0: Int64) -> (year: Int64, month: Int, day: Int) {
    let z = z0 + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097  // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365  // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)  // [0, 365]
    let mp = (5 * doy + 2) / 153  // [0, 11], March-based
    let day = Int(doy - (153 * mp + 2) / 5 + 1)
    let month = Int(mp < 10 ? mp + 3 : mp - 9)
    return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }
}
