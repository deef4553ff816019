// SPDX-License-Identifier: MIT
// The decisions of one emulated Gmail session: credentials (app passwords, OAuth access
// tokens known to the fake token endpoint), the relay's EHLO check, and the failure
// scenarios; it also records what the session did. Never records a secret.

import Foundation
import SMTPServerCore
import Synchronization

/// What every session's policy shares.
final class GmailContext: Sendable {
  let mode: GmailTestServerConfiguration.Mode
  let users: [String: String]
  let scenarios: [GmailScenario]
  let authority: TokenAuthority
  let records: RecordStore
  let acceptedMessages: Atomic<Int>
  let log: (@Sendable (String) -> Void)?

  init(configuration: GmailTestServerConfiguration, authority: TokenAuthority, records: RecordStore)
  {
    mode = configuration.mode
    users = configuration.users
    scenarios = configuration.scenarios
    self.authority = authority
    self.records = records
    acceptedMessages = Atomic(0)
    log = configuration.log
  }

  func stalls(at phase: GmailPhase) -> Bool { scenarios.contains(.stall(phase)) }
}

/// The policy of one session.
final class GmailPolicy: SMTPServerPolicy {
  private let context: GmailContext
  private let replies: GmailReplies
  private let session: Int

  init(context: GmailContext, replies: GmailReplies, session: Int) {
    self.context = context
    self.replies = replies
    self.session = session
  }

  private func log(_ text: String) { context.log?("session \(session): \(text)") }

  func connectionOpened(session info: SMTPSessionInfo) -> SMTPServerDecision {
    if context.stalls(at: .greeting) { return .stall }
    if context.scenarios.contains(.rejectGreeting) {
      return .replyAndClose(replies.greetingRejected)
    }
    return .accept
  }

  func hello(_ name: String, extended: Bool, session info: SMTPSessionInfo) -> SMTPServerDecision {
    context.records.updateSession(session) { $0.helloNames.append(name) }
    log("\(extended ? "EHLO" : "HELO") \(name)")
    if context.stalls(at: .ehlo) { return .stall }
    if context.scenarios.contains(.rejectEHLO) { return .reply(replies.ehloRejected) }
    let checksName = context.mode == .relay || context.scenarios.contains(.rejectLocalEHLO)
    if checksName && Self.isLocal(name) { return .reply(replies.ehloRejected) }
    return .accept
  }

  /// `localhost`, an address literal, or a bare IP address: what the relay refuses.
  static func isLocal(_ name: String) -> Bool {
    let lower = name.lowercased()
    return lower == "localhost" || lower.hasPrefix("localhost.") || lower.hasPrefix("[")
      || lower.allSatisfy { $0.isNumber || $0 == "." } || lower.contains(":")
  }

  func authenticate(_ credentials: SMTPCredentials, session info: SMTPSessionInfo)
    -> SMTPAuthDecision
  {
    if context.stalls(at: .auth) { return .stall }
    let valid: Bool
    switch credentials {
    case .plain(_, let user, let password), .login(let user, let password):
      valid = context.users[user].map { $0 == password } ?? false
    case .xoauth2(_, let token), .oauthBearer(_, let token):
      // A token without https://mail.google.com/ (gmail.send alone) is refused as Gmail
      // refuses it: the XOAUTH2 error challenge, then 535.
      valid =
        !context.scenarios.contains(.badToken) && context.authority.isValidAccessToken(token)
        && context.authority.allowsSMTP(token)
    }
    context.records.updateSession(session) {
      $0.authentications.append(
        AuthRecord(mechanism: credentials.mechanism, user: credentials.user, credentialValid: valid)
      )
    }
    log("AUTH \(credentials) valid=\(valid)")
    if valid { return .accept }
    switch credentials {
    case .xoauth2, .oauthBearer:
      return .rejectAfterChallenge(
        challenge: GmailReplies.tokenErrorJSON, reply: replies.badCredentials)
    case .plain, .login:
      return .reject(replies.badCredentials)
    }
  }

  func mailFrom(_ mailFrom: SMTPMailFrom, session info: SMTPSessionInfo) -> SMTPServerDecision {
    context.stalls(at: .mail) ? .stall : .accept
  }

  func recipient(_ recipient: SMTPRecipient, envelope: SMTPEnvelope, session info: SMTPSessionInfo)
    -> SMTPServerDecision
  {
    if context.stalls(at: .rcpt) { return .stall }
    let address = recipient.address.lowercased()
    for scenario in context.scenarios {
      switch scenario {
      case .temporaryRecipientFailure(let target) where target.lowercased() == address:
        context.records.updateSession(session) { $0.rejectedRecipients.append(recipient.address) }
        return .reply(replies.recipientTemporaryFailure)
      case .permanentRecipientFailure(let target) where target.lowercased() == address:
        context.records.updateSession(session) { $0.rejectedRecipients.append(recipient.address) }
        return .reply(replies.recipientPermanentFailure)
      default:
        continue
      }
    }
    return .accept
  }

  func dataStarting(envelope: SMTPEnvelope, session info: SMTPSessionInfo) -> SMTPServerDecision {
    context.stalls(at: .data) ? .stall : .accept
  }

  func messageReceived(_ message: SMTPReceivedMessage, session info: SMTPSessionInfo)
    -> SMTPServerDecision
  {
    var decision = SMTPServerDecision.reply(
      replies.messageAccepted(epoch: Int(Date().timeIntervalSince1970)))
    var code = 250
    for case .dailyLimit(let after) in context.scenarios
    where context.acceptedMessages.load(ordering: .relaxed) >= after {
      decision = .reply(replies.dailyLimitExceeded)
      code = 550
    }
    if context.stalls(at: .end) {
      decision = .stall
      code = 0
    }
    if code == 250 { context.acceptedMessages.add(1, ordering: .relaxed) }
    let mailFrom = message.envelope.mailFrom
    let record = context.records.addMessage(
      { number in
        MessageRecord(
          number: number, session: session, mailFrom: mailFrom.address,
          mailParameters: mailFrom.parameters.map { parameter in
            parameter.value.map { "\(parameter.name)=\($0)" } ?? parameter.name
          },
          recipients: message.envelope.recipients.map(\.address), helloName: info.helloName,
          tls: info.tlsActive, authMechanism: info.authentication?.mechanism,
          authUser: info.authentication?.user, size: message.data.count, replyCode: code, file: nil)
      }, data: message.data)
    log(
      "message \(record.number) from=<\(mailFrom.address)> rcpt=\(record.recipients.count) "
        + "size=\(record.size) reply=\(code)")
    return decision
  }
}
