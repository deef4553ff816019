// SPDX-License-Identifier: MIT
// Delivery modes of the front end.

extension Frontend {
  func runMessageModes(_ invocation: Invocation) throws -> SysExit {
    throw UsageError("mode not available yet")
  }
}
