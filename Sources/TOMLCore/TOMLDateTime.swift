// SPDX-License-Identifier: MIT
// TOML's four date and time types in one value: which parts are present tells them apart.
// Components are checked (month 1-12, the day against its month with leap years, hour < 24,
// minute < 60, second <= 60 for a leap second); no time zone arithmetic is done.

/// An offset date-time, local date-time, local date or local time, as written.
public struct TOMLDateTime: Sendable, Equatable {
  /// A calendar date.
  public struct LocalDate: Sendable, Equatable {
    public let year: Int
    public let month: Int
    public let day: Int
  }

  /// A time of day.
  public struct LocalTime: Sendable, Equatable {
    public let hour: Int
    public let minute: Int
    /// 0-60 (60 is a leap second).
    public let second: Int
    /// The fraction of the second; digits past nanoseconds are truncated, as TOML says.
    public let nanosecond: Int
  }

  /// The date; nil for a local time.
  public let date: LocalDate?
  /// The time; nil for a local date.
  public let time: LocalTime?
  /// Minutes east of UTC (`Z` and `-00:00` are 0); nil unless this is an offset date-time.
  public let offsetMinutes: Int?
  /// The text as written in the document (`1979-05-27 07:32:00Z`).
  public let text: String

  /// The same components; how they were written (`T` or space, `Z` or `+00:00`) does not count.
  public static func == (lhs: TOMLDateTime, rhs: TOMLDateTime) -> Bool {
    lhs.date == rhs.date && lhs.time == rhs.time && lhs.offsetMinutes == rhs.offsetMinutes
  }
}

extension TOMLDateTime {
  /// Reads a date-time from its whole text (`bytes` is one value, already delimited).
  /// - Returns: The value, or what is wrong with the text.
  static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<TOMLDateTime, DateTimeProblem> {
    var reader = DigitReader(bytes: bytes)
    var date: LocalDate?
    var offset: Int?
    if bytes.count >= 5, bytes[4] == UInt8(ascii: "-") {
      guard let year = reader.digits(4), reader.skip("-"), let month = reader.digits(2), reader.skip("-"),
        let day = reader.digits(2)
      else { return .failure(.malformed) }
      guard (1...12).contains(month) else { return .failure(.outOfRange("month")) }
      guard (1...daysIn(month: month, year: year)).contains(day) else { return .failure(.outOfRange("day")) }
      date = LocalDate(year: year, month: month, day: day)
      if reader.atEnd { return .success(TOMLDateTime(date: date, time: nil, offsetMinutes: nil, text: reader.text)) }
      guard reader.skip("T") || reader.skip("t") || reader.skip(" ") else { return .failure(.malformed) }
    }
    guard let hour = reader.digits(2), reader.skip(":"), let minute = reader.digits(2), reader.skip(":"),
      let second = reader.digits(2)
    else { return .failure(.malformed) }
    guard hour < 24 else { return .failure(.outOfRange("hour")) }
    guard minute < 60 else { return .failure(.outOfRange("minute")) }
    guard second <= 60 else { return .failure(.outOfRange("second")) }
    var nanosecond = 0
    if reader.skip(".") {
      guard let fraction = reader.fraction() else { return .failure(.malformed) }
      nanosecond = fraction
    }
    let time = LocalTime(hour: hour, minute: minute, second: second, nanosecond: nanosecond)
    if date != nil, !reader.atEnd {
      if reader.skip("Z") || reader.skip("z") {
        offset = 0
      } else {
        let sign = reader.skip("+") ? 1 : reader.skip("-") ? -1 : 0
        guard sign != 0, let hours = reader.digits(2), reader.skip(":"), let minutes = reader.digits(2) else {
          return .failure(.malformed)
        }
        guard hours < 24, minutes < 60 else { return .failure(.outOfRange("offset")) }
        offset = sign * (hours * 60 + minutes)
      }
    }
    guard reader.atEnd else { return .failure(.malformed) }
    return .success(TOMLDateTime(date: date, time: time, offsetMinutes: offset, text: reader.text))
  }

  static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Why a date-time's text was refused.
  enum DateTimeProblem: Error {
    case malformed
    case outOfRange(String)
  }
}

/// Reads fixed-width decimal fields from the text of a date-time.
private struct DigitReader {
  let bytes: UnsafeBufferPointer<UInt8>
  var position = 0

  var atEnd: Bool { position == bytes.count }
  var text: String { String(decoding: bytes, as: UTF8.self) }

  /// Exactly `count` ASCII digits as a number.
  mutating func digits(_ count: Int) -> Int? {
    guard bytes.count - position >= count else { return nil }
    var value = 0
    for byte in bytes[position..<position + count] {
      guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
      value = value * 10 + Int(byte - UInt8(ascii: "0"))
    }
    position += count
    return value
  }

  /// One or more digits after the decimal point, as nanoseconds (truncated).
  mutating func fraction() -> Int? {
    var value = 0
    var count = 0
    while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
      if count < 9 {
        value = value * 10 + Int(bytes[position] - UInt8(ascii: "0"))
        count += 1
      }
      position += 1
    }
    guard count > 0 else { return nil }
    for _ in count..<9 { value *= 10 }
    return value
  }

  mutating func skip(_ character: Unicode.Scalar) -> Bool {
    guard position < bytes.count, bytes[position] == UInt8(ascii: character) else { return false }
    position += 1
    return true
  }
}
