// SPDX-License-Identifier: MIT
// The service extensions a server lists in its EHLO reply (RFC 5321 §4.1.1.1), read
// keyword by keyword; unknown keywords are ignored, nothing here can fail.

/// A SASL mechanism this client can use for `AUTH` (RFC 4954).
public enum SASLMechanism: String, Hashable, Sendable {
  /// Google's `XOAUTH2`: `user=U ^A auth=Bearer T ^A ^A`.
  case xoauth2 = "XOAUTH2"
  /// RFC 7628 `OAUTHBEARER`.
  case oauthBearer = "OAUTHBEARER"
  /// RFC 4616 `PLAIN`: `\0user\0password`.
  case plain = "PLAIN"
  /// The obsolete but common `LOGIN` (two `334` prompts).
  case login = "LOGIN"
}

/// What the server offered in its last EHLO reply. Empty after `HELO`.
public struct SMTPCapabilities: Hashable, Sendable {
  /// `SIZE` was offered (RFC 1870): the client sends `SIZE=n` with `MAIL`.
  public var supportsSize = false
  /// The `SIZE` limit in bytes; nil when not offered or `0` (no fixed limit).
  public var maximumMessageSize: Int?
  /// `8BITMIME` (RFC 6152).
  public var supportsEightBitMIME = false
  /// `PIPELINING` (RFC 2920).
  public var supportsPipelining = false
  /// `SMTPUTF8` (RFC 6531).
  public var supportsSMTPUTF8 = false
  /// `DSN` (RFC 3461).
  public var supportsDSN = false
  /// `ENHANCEDSTATUSCODES` (RFC 2034).
  public var supportsEnhancedStatusCodes = false
  /// `STARTTLS` (RFC 3207).
  public var supportsStartTLS = false
  /// `CHUNKING` (RFC 3030); noted, not used.
  public var supportsChunking = false
  /// The `AUTH` mechanisms, upper-cased, in the server's order (unknown ones included).
  public var authMechanisms: [String] = []

  /// No extensions: the state after `HELO`, or before any EHLO.
  public init() {}

  /// Reads an EHLO reply: its first line is the greeting, each further line one keyword
  /// with parameters. Keywords are case-insensitive; `AUTH=` (an old Microsoft form) is
  /// read like `AUTH`.
  public init(ehloReply reply: SMTPReply) {
    for line in reply.lines.dropFirst() {
      let words = line.split(separator: " ", omittingEmptySubsequences: true)
      guard let first = words.first else { continue }
      var keyword = first.uppercased()
      var parameters = words.dropFirst().map { $0.uppercased() }
      if keyword.hasPrefix("AUTH=") {
        parameters.insert(String(keyword.dropFirst(5)), at: 0)
        keyword = "AUTH"
      }
      switch keyword {
      case "SIZE":
        supportsSize = true
        maximumMessageSize = parameters.first.flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
      case "8BITMIME": supportsEightBitMIME = true
      case "PIPELINING": supportsPipelining = true
      case "SMTPUTF8": supportsSMTPUTF8 = true
      case "DSN": supportsDSN = true
      case "ENHANCEDSTATUSCODES": supportsEnhancedStatusCodes = true
      case "STARTTLS": supportsStartTLS = true
      case "CHUNKING": supportsChunking = true
      case "AUTH":
        for mechanism in parameters where !mechanism.isEmpty && !authMechanisms.contains(mechanism)
        {
          authMechanisms.append(mechanism)
        }
      default: continue
      }
    }
  }

  /// True when `AUTH` lists the mechanism.
  public func offers(_ mechanism: SASLMechanism) -> Bool {
    authMechanisms.contains(mechanism.rawValue)
  }
}
