// SPDX-License-Identifier: MIT
// Retrying a step that another test's child process can hold up for a moment. Every test
// target runs in one process, and a child that one of them starts holds a copy of each
// open descriptor between fork and exec: a queue entry's flock(2) lock, released here,
// stays held by that copy until the child execs. Under load that can take a while.

#if canImport(Glibc)
  import Glibc
#endif

/// The first non-nil result of `body`, tried up to `attempts` times 20 ms apart; nil if
/// every try gave nil.
public func eventually<T>(attempts: Int = 250, _ body: () throws -> T?) rethrows -> T? {
  for attempt in 1...attempts {
    if let value = try body() { return value }
    if attempt < attempts { usleep(20_000) }
  }
  return nil
}
