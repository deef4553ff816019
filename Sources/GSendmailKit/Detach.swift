// SPDX-License-Identifier: MIT
// Background delivery (`-odb`, `delivery = "background"`): the process that read
// the message hands it, already committed to the queue, to a detached grandchild
// and exits 0 at once, as Postfix's sendmail returns once postdrop has the file.
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
    /// The detached grandchild: own session, standard descriptors on /dev/null.
    case child
  }

  /// Double fork (fork, setsid, fork), as daemon(3) does without the chdir: the grandchild
  /// is no session leader, so it can never get a controlling terminal back, and its parent
  /// is gone, so init (or a subreaper) reaps it and the caller is left no zombie. Open
  /// descriptors are inherited, the queue entry's lock among them: an flock(2) lives on the
  /// open file, so it stays held by the grandchild after the caller closes its copy, and no
  /// queue run can take the entry while it is being sent.
  /// - Parameter keeping: The one descriptor above 2 the grandchild keeps (the entry's lock);
  ///   it closes the others.
  /// - Returns: `.caller` in the original process once the grandchild exists, `.child` in the
  ///   grandchild, nil in the original process when no child could be made.
  static func detach(keeping: Int32) -> Side? {
    // A caller that ignores SIGCHLD (some web servers do) would have its children reaped
    // by the kernel, and waitpid(2) below would not see the intermediate child's status.
    signal(SIGCHLD, SIG_DFL)
    let first = fork()
    if first < 0 { return nil }
    if first > 0 {
      var status: Int32 = 0
      while waitpid(first, &status, 0) < 0 {
        if errno != EINTR { return nil }
      }
      // Exit status 0 (and no signal) only when the grandchild was made.
      return status == 0 ? .caller : nil
    }
    // The intermediate child: a new session, then the grandchild, then gone.
    _ = setsid()
    let second = fork()
    if second != 0 { _exit(second > 0 ? 0 : 1) }
    // The caller may be reading our standard output or error to their end (a pipe from a
    // PHP page, a test harness): the grandchild must not hold them open, nor standard
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
