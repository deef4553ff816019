// SPDX-License-Identifier: MIT
// The threads of the test server: one per listener and one per connection, with a
// shared stop flag that connection loops poll between short reads, so `stop()` can
// wait for every thread to finish without closing a socket under another thread.

import Dispatch
import Foundation
import Synchronization

/// Spawns and joins the server's threads.
final class ServerThreads: Sendable {
  private let group = DispatchGroup()
  private let stopping = Atomic<Bool>(false)

  /// Whether `stop` was called.
  var isStopping: Bool { stopping.load(ordering: .acquiring) }

  /// Runs `body` on a new thread.
  func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) {
    group.enter()
    let thread = Thread { [group] in
      body()
      group.leave()
    }
    thread.name = name
    thread.start()
  }

  /// Sets the stop flag (idempotent); `join` then waits for the threads.
  func requestStop() {
    stopping.store(true, ordering: .releasing)
  }

  /// Waits until every spawned thread has returned.
  func join() {
    group.wait()
  }
}
