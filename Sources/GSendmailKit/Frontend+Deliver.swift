// SPDX-License-Identifier: MIT
// The modes that handle messages: deliver (-bm, the default, and --dry-run),
// verify (-bv).

import MessageCore
import SMTPCore

#if canImport(Glibc)
import Glibc
#endif

extension Frontend {
  func runMessageModes(_ invocation: Invocation) throws -> SysExit {
    switch invocation.mode {
    case .deliver: return try deliver(invocation)
    case .verify: return try verify(invocation)
    case .smtpServer: return try serveSMTP(invocation)
    case .listQueue, .runQueue, .help, .version, .checkAliases:
      throw UsageError("this mode is not available")
    }
  }

  func submission(for invocation: Invocation) throws -> Submission {
    let config = try ConfigLocator.load(configFile: invocation.configFile, environment: environment)
    return Submission(invocation: invocation, config: config, aliases: try loadAliases(config), environment: environment)
  }

  /// `-bv`: prints `GIVEN -> ADDRESS` for each recipient; sends nothing.
  func verify(_ invocation: Invocation) throws -> SysExit {
    let submission = try submission(for: invocation)
    guard !invocation.recipients.isEmpty else { throw UsageError("-bv needs recipients") }
    for line in try submission.verify(invocation.recipients) {
      stdout.write("\(line.given) -> \(line.address)\n")
    }
    return .ok
  }

  /// `-bm`: reads a message and sends it (or, with `--dry-run`, prints what would be sent).
  func deliver(_ invocation: Invocation) throws -> SysExit {
    let submission = try submission(for: invocation)
    let sink = MemoryBodySink()
    let scanned = try submission.read(from: stdinFD, into: sink)
    let message = try submission.prepare(
      scanned, envelopeSender: invocation.sender, givenRecipients: invocation.recipients,
      recipientsFromHeader: invocation.recipientsFromHeader)
    if invocation.dryRun {
      printDryRun(message, body: sink.bytes)
      return .ok
    }
    _ = try submit(message, body: MemoryByteSource(bytes: sink.bytes), config: submission.config, invocation: invocation)
    return .ok
  }

  /// What became of a submitted message.
  enum SubmitOutcome {
    case sent(String)
  }

  /// Sends a prepared message and logs the attempt.
  /// - Throws: What the delivery threw, after logging it.
  func submit(_ message: PreparedMessage, body: ByteSource, config: Configuration, invocation: Invocation) throws -> SubmitOutcome {
    let delivery = Delivery(environment: environment, config: config, transcript: transcriptSink(invocation))
    let log = DeliveryLog(target: config.log, ident: invocation.syslogTag ?? "gsendmail")
    let start = environment.now()
    var record = DeliveryRecord(
      id: Submission(invocation: invocation, config: config, aliases: AliasTable(), environment: environment).uniqueID(seconds: start.seconds),
      from: message.sender, to: message.recipients, size: message.size, relay: "none", delay: 0, status: .sent, detail: "")
    do {
      let (reply, relay) = try delivery.send(message, body: body)
      record.relay = relay
      record.detail = reply.text
      record.delay = environment.now().seconds - start.seconds
      log.log(record, now: environment.now())
      return .sent(reply.text)
    } catch {
      record.status = (error as? DeliveryFailure)?.isTemporary == true ? .deferred : .bounced
      record.detail = errorText(error)
      record.delay = environment.now().seconds - start.seconds
      log.log(record, now: environment.now())
      throw error
    }
  }

  /// The `-v` dialogue on standard error.
  func transcriptSink(_ invocation: Invocation) -> ((String) -> Void)? {
    guard invocation.verbose > 0 else { return nil }
    let err = stderr
    return { err.write("gsendmail: \($0)\n") }
  }

  /// `--dry-run`: the envelope as `MAIL FROM`/`RCPT TO` lines for a server that offers
  /// SIZE, 8BITMIME, SMTPUTF8 and DSN, an empty line, then the message (CRLF, not
  /// dot-stuffed).
  func printDryRun(_ message: PreparedMessage, body: [UInt8]) {
    var capabilities = SMTPCapabilities()
    capabilities.supportsSize = true
    capabilities.supportsEightBitMIME = true
    capabilities.supportsSMTPUTF8 = true
    capabilities.supportsDSN = true
    let envelope = message.envelope(serverSupports8BitMIME: true)
    var out = Array(SMTPClient.mailCommand(envelope, capabilities: capabilities).transcript.utf8) + [13, 10]
    for index in envelope.recipients.indices {
      out += Array(SMTPClient.rcptCommand(envelope, index, capabilities: capabilities).transcript.utf8) + [13, 10]
    }
    out += [13, 10]
    out += message.header
    stdout.write(out)
    stdout.write(body)
  }
}

/// A body held in memory.
struct MemoryByteSource: ByteSource {
  var bytes: [UInt8]
  func stream(_ write: ([UInt8]) throws -> Void) throws {
    var offset = 0
    while offset < bytes.count {
      let end = min(offset + 65536, bytes.count)
      try write(Array(bytes[offset..<end]))
      offset = end
    }
  }
}
