// SPDX-License-Identifier: MIT
// What the client writes, paired with what may be shown of it. The wire bytes may hold a
// secret (an AUTH payload); every textual view of an OutgoingCommand (description, debug
// description, reflection) is the redacted transcript line, so printing one cannot leak.
// Below: the SASL payloads those commands carry.

import Codecs

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

// MARK: - SASL payloads

// The bytes of each SASL exchange this client speaks, and the decoding of an OAuth error
// challenge. Pure functions; a challenge that is not base64 JSON decodes to nil, never traps.

/// SASL payload encoders (all base64, RFC 4648 §4).
enum SASL {
  /// Google XOAUTH2 initial response: `user=U ^A auth=Bearer T ^A ^A`.
  static func xoauth2(user: String, token: Credential) -> String {
    Base64.encode(Array("user=\(user)\u{1}auth=Bearer \(token.secret)\u{1}\u{1}".utf8))
  }

  /// RFC 7628 §3.1 OAUTHBEARER initial response: a GS2 header naming the user, then
  /// `host`, `port` and `auth` key-value pairs, each ended by ^A, and a final ^A.
  static func oauthBearer(user: String, host: String, port: Int, token: Credential) -> String {
    let message =
      "n,a=\(saslName(user)),\u{1}host=\(host)\u{1}port=\(port)\u{1}"
      + "auth=Bearer \(token.secret)\u{1}\u{1}"
    return Base64.encode(Array(message.utf8))
  }

  /// RFC 4616 PLAIN: empty authorization identity, `\0user\0password`.
  static func plain(user: String, password: Credential) -> String {
    Base64.encode(Array("\u{0}\(user)\u{0}\(password.secret)".utf8))
  }

  /// One LOGIN answer: the plain base64 of the text.
  static func login(_ text: String) -> String {
    Base64.encode(Array(text.utf8))
  }

  /// The RFC 7628 §3.2.3 answer to an error challenge: a single ^A.
  static let oauthBearerErrorAcknowledgement = Base64.encode([0x01])

  /// RFC 5801 §4 saslname: `,` and `=` are written `=2C` and `=3D`.
  private static func saslName(_ name: String) -> String {
    var out = ""
    for character in name {
      switch character {
      case ",": out += "=2C"
      case "=": out += "=3D"
      default: out.append(character)
      }
    }
    return out
  }
}

extension OAuthChallenge {
  /// Decodes the text of a `334` error challenge: base64 of a flat JSON object (the first
  /// space-separated word of the text).
  /// - Returns: nil when the text is not base64 of a JSON object of that shape.
  init?(base64Text text: String) {
    guard let word = text.split(separator: " ").first, let bytes = Base64.decode(word),
      let object = try? JSON.parse(bytes, maximumBytes: 4096, maximumDepth: 1), case .object = object
    else { return nil }
    self.init(status: object["status"]?.stringValue, schemes: object["schemes"]?.stringValue, scope: object["scope"]?.stringValue)
  }
}
