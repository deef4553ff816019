// SPDX-License-Identifier: MIT
import Testing
@testable import MailQueue

@Suite("RetryPolicy")
struct RetryPolicyTests {
  static let minute = 60

  @Test(
    "5 min, doubling, at most 4 h apart",
    arguments: [
      (0, 0), (1, 5 * minute), (2, 10 * minute), (3, 20 * minute), (4, 40 * minute), (5, 80 * minute),
      (6, 160 * minute), (7, 240 * minute), (8, 240 * minute), (100, 240 * minute), (Int.max, 240 * minute),
    ])
  func schedule(attempts: Int, delay: Int) {
    let policy = RetryPolicy()
    #expect(policy.delay(afterAttempts: attempts) == delay)
    #expect(policy.nextAttempt(after: attempts, now: 1_000_000) == 1_000_000 + delay)
  }

  @Test("Expiry at the lifetime (5 days by default)")
  func expiry() {
    let policy = RetryPolicy()
    #expect(!policy.isExpired(arrival: 0, now: 5 * 86_400 - 1))
    #expect(policy.isExpired(arrival: 0, now: 5 * 86_400))
    #expect(RetryPolicy.isExpired(arrival: 100, now: 160, lifetime: 60))
    #expect(!RetryPolicy.isExpired(arrival: 100, now: 159, lifetime: 60))
  }

  @Test("After a temporary failure: retry, or expire once older than the lifetime")
  func afterFailure() {
    let policy = RetryPolicy(lifetime: 3600)
    #expect(policy.afterTemporaryFailure(attempts: 1, arrival: 0, now: 10) == .retry(at: 310))
    #expect(policy.afterTemporaryFailure(attempts: 3, arrival: 0, now: 100) == .retry(at: 1300))
    #expect(policy.afterTemporaryFailure(attempts: 9, arrival: 0, now: 3600) == .expire)
  }

  @Test("Due, not due, forced, and waiting for login")
  func disposition() {
    let policy = RetryPolicy(lifetime: 1000)
    var entry = QueueEntry(
      id: QueueID(unchecked: "0ABCDEFGHIJKLMNOPQ"), arrival: 0, envelope: sampleEnvelope, header: [],
      body: BodyStatistics(), nextAttempt: 500)
    #expect(policy.disposition(of: entry, now: 499) == .notDue)
    #expect(policy.disposition(of: entry, now: 500) == .due)
    #expect(policy.disposition(of: entry, now: 10, force: true) == .due)
    entry.deferredForAuthentication = true
    #expect(policy.disposition(of: entry, now: 600) == .notDue)
    #expect(policy.disposition(of: entry, now: 600, force: true) == .due)
    #expect(policy.disposition(of: entry, now: 1000) == .expired)
  }
}
