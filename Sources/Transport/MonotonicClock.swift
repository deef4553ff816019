// SPDX-License-Identifier: MIT
// Deadlines for socket waits, lock polling and the login wait. ContinuousClock reads the
// same clock (CLOCK_BOOTTIME on Linux: it keeps counting while the machine sleeps), but
// it lives in the concurrency runtime, which a sendmail that never uses tasks would
// otherwise load and initialise on every message.

#if canImport(Glibc)
  import Glibc
#endif

/// CLOCK_BOOTTIME, as a duration since an arbitrary start.
public enum MonotonicClock {
  /// The current reading.
  public static func now() -> Duration {
    var ts = timespec()
    clock_gettime(CLOCK_BOOTTIME, &ts)
    return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
  }
}
