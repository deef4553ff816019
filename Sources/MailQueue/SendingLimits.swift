// SPDX-License-Identifier: MIT
// Local sending limits (the per-account `max_messages_per_day`,
// `max_recipients_per_day`, `max_messages_per_minute` keys): the record of recent
// sends and when the next message may go. Pure: the clock is a parameter; the
// file that keeps the record is SendRecordFile.swift.
//
// The windows roll, as Google's do: "per day" is the last 24 hours, "per minute"
// the last 60 seconds, counted back from now. A message that would take a window
// over its limit waits until enough of the recorded sends have aged out of it.
//
// Record format, one send per line, oldest first:  TIME RECIPIENTS
// Lines that do not parse are ignored (a torn write loses a record, never blocks).

/// The limits of one account; nil: no limit.
public struct SendingLimits: Equatable, Sendable {
  public var messagesPerDay: Int?
  public var recipientsPerDay: Int?
  public var messagesPerMinute: Int?

  public init(messagesPerDay: Int? = nil, recipientsPerDay: Int? = nil, messagesPerMinute: Int? = nil) {
    self.messagesPerDay = messagesPerDay
    self.recipientsPerDay = recipientsPerDay
    self.messagesPerMinute = messagesPerMinute
  }

  /// How far back sends matter: a day with a daily limit, else a minute.
  var horizon: Int { messagesPerDay != nil || recipientsPerDay != nil ? 86_400 : 60 }

  /// The most records kept (bounds the file whatever the limits say).
  static let maximumRecords = 200_000
}

/// One account's recent sends.
public struct SendRecord: Equatable, Sendable {
  /// One accepted message: when, and to how many recipients.
  public struct Send: Equatable, Sendable {
    public var time: Int
    public var recipients: Int
    public init(time: Int, recipients: Int) {
      self.time = time
      self.recipients = recipients
    }
  }

  /// The sends, oldest first.
  public var sends: [Send]

  public init(sends: [Send] = []) { self.sends = sends }

  /// Why a message must wait, and until when.
  public struct Wait: Equatable, Sendable {
    /// When the message may go (seconds since the epoch).
    public var until: Int
    /// The key whose limit holds it, e.g. `max_messages_per_day`.
    public var key: String
    /// Its value.
    public var limit: Int
  }

  /// When a message to `recipients` recipients may go at `now`: nil for now, else the
  /// earliest time all limits allow it, naming the limit that holds it longest.
  public func wait(recipients: Int, limits: SendingLimits, now: Int) -> Wait? {
    var result: Wait?
    func consider(_ until: Int?, _ key: String, _ limit: Int) {
      guard let until, until > now, until > (result?.until ?? Int.min) else { return }
      result = Wait(until: until, key: key, limit: limit)
    }
    if let limit = limits.messagesPerDay {
      consider(opening(window: 86_400, now: now, cost: { _ in 1 }, need: 1, limit: limit), "max_messages_per_day", limit)
    }
    if let limit = limits.recipientsPerDay {
      consider(
        opening(window: 86_400, now: now, cost: { $0.recipients }, need: recipients, limit: limit),
        "max_recipients_per_day", limit)
    }
    if let limit = limits.messagesPerMinute {
      consider(opening(window: 60, now: now, cost: { _ in 1 }, need: 1, limit: limit), "max_messages_per_minute", limit)
    }
    return result
  }

  /// When `need` more fits under `limit` in a window of `window` seconds: now, or when
  /// enough of the oldest sends in it have aged out. A need above the limit itself waits
  /// for an empty window, then goes (it could never fit otherwise).
  private func opening(window: Int, now: Int, cost: (Send) -> Int, need: Int, limit: Int) -> Int? {
    let inside = sends.filter { $0.time > now - window }
    var used = inside.reduce(0) { $0 + cost($1) }
    if used + need <= limit { return nil }
    for send in inside {
      used -= cost(send)
      if used + need <= limit || used == 0 { return send.time + window }
    }
    return nil
  }

  /// Adds a send and drops what no limit looks at any more.
  public mutating func add(_ send: Send, limits: SendingLimits) {
    sends.append(send)
    prune(now: send.time, limits: limits)
  }

  /// Drops sends older than the longest window, and the oldest beyond the record bound.
  public mutating func prune(now: Int, limits: SendingLimits) {
    let horizon = limits.horizon
    sends.removeAll { $0.time <= now - horizon }
    if sends.count > SendingLimits.maximumRecords { sends.removeFirst(sends.count - SendingLimits.maximumRecords) }
  }

  /// The file content.
  public var encoded: [UInt8] {
    var text = ""
    for send in sends { text += "\(send.time) \(send.recipients)\n" }
    return Array(text.utf8)
  }

  /// Reads a record; lines that do not parse are skipped.
  public static func decode(_ bytes: [UInt8]) -> SendRecord {
    var sends: [Send] = []
    for line in bytes.split(separator: 0x0a) {
      let parts = line.split(separator: 0x20)
      guard parts.count == 2, let time = number(parts[0]), let count = number(parts[1]) else { continue }
      sends.append(Send(time: time, recipients: count))
    }
    sends.sort { $0.time < $1.time }
    return SendRecord(sends: sends)
  }

  private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
    guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
    return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
  }
}
