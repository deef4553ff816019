// SPDX-License-Identifier: MIT
// Background delivery (`-odb`, `delivery = "background"`): the process that read
// the message hands it, already committed to the queue, to a detached child and
// exits 0 at once, as Postfix's sendmail returns once postdrop has the file.
// Failure policy: if the child cannot be made (fork fails), the caller delivers
// the message itself, interactively; nothing is ever lost, because the entry is on
// disk before the fork.

import CShim

#if canImport(Glibc)
import Glibc
#endif

/// Forks a delivery child that outlives its caller.
enum Detach {
  /// Which process returns from `detach()`.
  enum Side {
    /// The caller: the child exists and has everything it needs.
    case caller
    /// The detached child: own session, standard descriptors on /dev/null.
    case child
  }

  /// Forks a child in a session of its own (setsid(2)): hang-ups and signals meant for the
  /// caller's terminal or process group do not reach it. The caller exits right after, so
  /// the child is orphaned and reaped by init (or a subreaper), and no zombie is left for
  /// the caller to collect. (A second fork, as daemon(3) callers make, serves a parent that
  /// keeps running; this one exits at once.) Open descriptors are inherited, the
  /// queue entry's lock among them: an flock(2) lives on the open file, so it stays held by
  /// the child after the caller closes its copy, and no queue run can take the entry while
  /// it is being sent.
  /// - Parameter keeping: The one descriptor above 2 the child keeps (the entry's lock); it
  ///   closes the others.
  /// - Returns: `.caller` in the original process once the child exists, `.child` in the
  ///   child, nil when no child could be made.
  static func detach(keeping: Int32) -> Side? {
    let pid = fork()
    if pid < 0 { return nil }
    if pid > 0 { return .caller }
    _ = setsid()
    // The caller may be reading our standard output or error to their end (a pipe from a
    // PHP page, a test harness): the child must not hold them open, nor standard
    // input, which it will never read, nor any other descriptor the caller let us inherit
    // (a process monitor's socket, the other end of a pipe), which would make the caller
    // wait for the delivery after all. Best effort: before Linux 5.9 those stay open.
    let null = open("/dev/null", O_RDWR)
    if null >= 0 {
      for fd: Int32 in 0...2 where fd != null { _ = dup2(null, fd) }
    }
    _ = gs_close_descriptors_except(keeping)
    return .child
  }
}
