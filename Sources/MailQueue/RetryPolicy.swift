// SPDX-License-Identifier: MIT
// When to try a queued message again, and when to give up (gsendmail(8), QUEUE). Pure: the
// clock is a parameter. Kept apart from storage, as OpenSMTPD keeps its
// scheduler apart from its queue.
//
// - Retry 5 minutes after the first failure, doubling each time, at most 4 hours
//   apart: 5, 10, 20, 40, 80, 160, 240, 240, … minutes.
// - Expiry follows Postfix's maximal_queue_lifetime: a message older than the
//   lifetime is given up after its next temporary failure, so it always gets one
//   last attempt (also after `gsendmailctl queue retry` of a failed entry). It
//   then moves to failed/ and a failure notice goes to the sender.
// - Gmail's sending limits (a daily quota, a rate limit) are not failures of the
//   message: it is deferred with a long backoff that fits the window. A daily limit
//   ("cannot send for up to 24 h") waits 1 h, doubling, at most 24 h apart; a rate
//   limit 15 min, doubling, at most 1 h apart. The lifetime still applies.
// - An entry deferred for authentication (its account has no usable token) is not
//   due until `gsendmailctl login` flushes it (`force`), since retrying cannot
//   help. It is never attempted meanwhile, so it expires as soon as it is older
//   than the lifetime.

import SMTPCore

/// The queue's retry schedule.
public struct RetryPolicy: Equatable, Sendable {
  /// The wait after the first failure, in seconds (5 min).
  public var initialDelay: Int
  /// The longest wait between attempts, in seconds (4 h).
  public var maximumDelay: Int
  /// How long a message may stay queued, in seconds (`queue_lifetime`, 5 d).
  public var lifetime: Int

  /// Makes a policy; the defaults are those gsendmail(8) documents.
  public init(initialDelay: Int = 300, maximumDelay: Int = 14_400, lifetime: Int = 432_000) {
    self.initialDelay = initialDelay
    self.maximumDelay = maximumDelay
    self.lifetime = lifetime
  }

  /// The wait after `attempts` failed attempts: 0 before any, then the initial delay,
  /// doubling, capped at the maximum.
  public func delay(afterAttempts attempts: Int) -> Int {
    RetryPolicy.doubling(attempts, from: initialDelay, upTo: maximumDelay)
  }

  /// The wait after `attempts` attempts, the last refused for `limit`: 1 h doubling up to
  /// 24 h for a daily limit, 15 min doubling up to 1 h for a rate limit.
  func delay(afterLimit limit: SendingLimit, attempts: Int) -> Int {
    switch limit {
    case .daily: return RetryPolicy.doubling(max(attempts, 1), from: 3600, upTo: 86_400)
    case .rate: return RetryPolicy.doubling(max(attempts, 1), from: 900, upTo: 3600)
    }
  }

  /// Decides after the `attempts`-th attempt (this one included) was refused for a
  /// sending limit at `now`: retry after the limit's backoff, or expire.
  public func afterLimit(_ limit: SendingLimit, attempts: Int, arrival: Int, now: Int) -> Decision {
    isExpired(arrival: arrival, now: now) ? .expire : .retry(at: now + delay(afterLimit: limit, attempts: attempts))
  }

  /// 0 for no attempts, else `initial` doubled `attempts - 1` times, capped at `maximum`.
  static func doubling(_ attempts: Int, from initial: Int, upTo maximum: Int) -> Int {
    guard attempts > 0 else { return 0 }
    var delay = max(initial, 0)
    var n = 1
    while n < attempts && delay < maximum {
      delay *= 2
      n += 1
    }
    return min(delay, maximum)
  }

  /// When the next attempt is due after `attempts` failed attempts, the last at `now`.
  public func nextAttempt(after attempts: Int, now: Int) -> Int {
    now + delay(afterAttempts: attempts)
  }

  /// Whether a message that arrived at `arrival` is older than `lifetime` at `now`.
  public static func isExpired(arrival: Int, now: Int, lifetime: Int) -> Bool {
    now - arrival >= lifetime
  }

  /// Whether a message that arrived at `arrival` is older than this policy's lifetime.
  public func isExpired(arrival: Int, now: Int) -> Bool {
    RetryPolicy.isExpired(arrival: arrival, now: now, lifetime: lifetime)
  }

  /// What a queue run should do with an entry.
  public enum Disposition: Equatable, Sendable {
    /// Leave it for a later run.
    case notDue
    /// Try to deliver it now.
    case due
    /// Give up without an attempt: move it to failed/ and send a notice. Only for
    /// entries waiting for authentication that have outlived the lifetime.
    case expired
  }

  /// What a queue run should do with an entry at `now`.
  /// - Parameters:
  ///   - entry: The entry.
  ///   - now: The current time.
  ///   - force: Deliver even if not yet due (`queue flush`, `login`).
  public func disposition(of entry: QueueEntry, now: Int, force: Bool = false) -> Disposition {
    if entry.deferredForAuthentication && !force {
      return isExpired(arrival: entry.arrival, now: now) ? .expired : .notDue
    }
    return force || entry.nextAttempt <= now ? .due : .notDue
  }

  /// What to do after a temporary failure.
  public enum Decision: Equatable, Sendable {
    /// Keep it queued; try again at this time.
    case retry(at: Int)
    /// Give up: it is older than the lifetime.
    case expire
  }

  /// Decides after a temporary failure at `now` of an entry that arrived at `arrival`
  /// and has now failed `attempts` times (this one included).
  public func afterTemporaryFailure(attempts: Int, arrival: Int, now: Int) -> Decision {
    isExpired(arrival: arrival, now: now) ? .expire : .retry(at: nextAttempt(after: attempts, now: now))
  }
}
