// SPDX-License-Identifier: MIT
// What the client writes, paired with what may be shown of it. The wire bytes may hold a
// secret (an AUTH payload); every textual view of an OutgoingCommand (description, debug
// description, reflection) is the redacted transcript line, so printing one cannot leak.

/// One command line to write to the server.
public struct OutgoingCommand: Hashable, Sendable, CustomStringConvertible,
  CustomDebugStringConvertible, CustomReflectable
{
  /// The bytes to write, CRLF included. May contain a secret: write them, never print them.
  public let bytes: [UInt8]
  /// The line for `-v` transcripts and logs, without CRLF, with any secret replaced by
  /// `<redacted>`.
  public let transcript: String

  /// A command with no secret: the transcript is the line itself.
  init(_ line: String) {
    self.bytes = Array(line.utf8) + [0x0D, 0x0A]
    self.transcript = line
  }

  /// A command whose line carries a secret.
  /// - Parameters:
  ///   - secretLine: The real line, without CRLF.
  ///   - transcript: What to show instead.
  init(secretLine: String, transcript: String) {
    self.bytes = Array(secretLine.utf8) + [0x0D, 0x0A]
    self.transcript = transcript
  }

  /// The redacted ``transcript``.
  public var description: String { transcript }
  /// The redacted ``transcript``.
  public var debugDescription: String { transcript }
  /// Shows only the redacted ``transcript`` to `dump` and debuggers.
  public var customMirror: Mirror { Mirror(self, children: ["transcript": transcript]) }
}

/// A secret handed to the client: an OAuth access token or a password. It prints as
/// `<redacted>` everywhere; only the SASL encoders inside SMTPCore read it.
public struct Credential: Hashable, Sendable, CustomStringConvertible,
  CustomDebugStringConvertible, CustomReflectable
{
  let secret: String

  /// Wraps a secret.
  public init(_ secret: String) { self.secret = secret }

  /// Always `<redacted>`.
  public var description: String { "<redacted>" }
  /// Always `<redacted>`.
  public var debugDescription: String { "<redacted>" }
  /// No children: `dump` shows nothing of the secret.
  public var customMirror: Mirror { Mirror(self, children: [:]) }
}
