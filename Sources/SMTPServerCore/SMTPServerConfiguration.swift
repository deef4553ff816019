// SPDX-License-Identifier: MIT
// The static side of a server session: what it advertises, its limits and the texts
// of its replies. Pure data; the dynamic decisions live in SMTPServerPolicy.

/// An ESMTP extension the server can advertise in its EHLO reply (RFC 5321 §4.1.1.1).
public enum SMTPServerCapability: Equatable, Sendable {
  /// `SIZE n` (RFC 1870); `n` is the configuration's `maxMessageSize`.
  case size
  /// `8BITMIME` (RFC 6152); enables the `BODY=` parameter.
  case eightBitMIME
  /// `STARTTLS` (RFC 3207); advertised only while TLS is not active.
  case startTLS
  /// `AUTH` with these mechanisms, in this order (RFC 4954). The session implements
  /// PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER; other advertised names get 504.
  case auth([String])
  /// `ENHANCEDSTATUSCODES` (RFC 2034).
  case enhancedStatusCodes
  /// `PIPELINING` (RFC 2920). Commands are always processed in order, one by one.
  case pipelining
  /// `CHUNKING` (RFC 3030); enables `BDAT`.
  case chunking
  /// `SMTPUTF8` (RFC 6531); enables the `SMTPUTF8` parameter and UTF-8 addresses.
  case smtpUTF8
  /// Any other keyword line, advertised as given and otherwise ignored.
  case other(String)
}

/// What a session advertises, enforces and says.
public struct SMTPServerConfiguration: Sendable {
  /// The text after `250-` on the first EHLO line, e.g.
  /// `smtp.gmail.com at your service, [127.0.0.1]`.
  public var ehloGreeting: String
  /// The extensions, in the order they are listed.
  public var capabilities: [SMTPServerCapability]
  /// The largest message accepted, in bytes (advertised as `SIZE`; `552` above it).
  public var maxMessageSize: Int
  /// The most recipients in one transaction; later ones get `tooManyRecipients`.
  public var maxRecipients: Int
  /// The longest command line accepted, CRLF included. RFC 5321 §4.5.3.1.4 allows 512
  /// and lets extensions raise it; RFC 4954 §4 raises it to 12288 for AUTH, which is
  /// the default here so that long XOAUTH2 initial responses fit.
  public var maxLineLength: Int
  /// How many client errors are answered normally; the next one gets `tooManyErrors`
  /// (421) and the session closes.
  public var maxErrors: Int
  /// Whether `MAIL` needs a successful AUTH first.
  public var requiresAuthentication: Bool
  /// Whether `AUTH` is refused (with `authNeedsTLS`) while TLS is not active, and
  /// `AUTH` left out of the EHLO reply before TLS.
  public var authRequiresTLS: Bool
  /// Whether `MAIL FROM:<root>` and `RCPT TO:<root>` are accepted: a bare local part, as a
  /// local submission server takes it (its policy resolves the name). Off by default:
  /// only `<postmaster>` is a path without a domain (RFC 5321 §4.1.1.3).
  public var acceptsLocalNames = false
  /// The reply texts.
  public var replies: SMTPServerReplies

  /// Creates a configuration.
  /// - Parameters:
  ///   - hostname: The server's name, used in the default texts.
  ///   - capabilities: The extensions to advertise.
  ///   - maxMessageSize: The message size limit in bytes.
  ///   - maxRecipients: The recipients limit per transaction.
  ///   - maxLineLength: The command line limit in bytes, CRLF included.
  ///   - maxErrors: Client errors tolerated before `421`.
  ///   - requiresAuthentication: Whether `MAIL` needs AUTH first.
  ///   - authRequiresTLS: Whether AUTH needs TLS.
  public init(
    hostname: String,
    capabilities: [SMTPServerCapability] = [
      .pipelining, .eightBitMIME, .size, .enhancedStatusCodes,
    ],
    maxMessageSize: Int = 35_882_577,
    maxRecipients: Int = 100,
    maxLineLength: Int = 12_288,
    maxErrors: Int = 10,
    requiresAuthentication: Bool = false,
    authRequiresTLS: Bool = false
  ) {
    self.ehloGreeting = hostname
    self.capabilities = capabilities
    self.maxMessageSize = maxMessageSize
    self.maxRecipients = maxRecipients
    self.maxLineLength = maxLineLength
    self.maxErrors = maxErrors
    self.requiresAuthentication = requiresAuthentication
    self.authRequiresTLS = authRequiresTLS
    self.replies = SMTPServerReplies(hostname: hostname)
  }

  /// Whether `capability` is configured (whatever the TLS state).
  func offers(_ capability: SMTPServerCapability) -> Bool {
    capabilities.contains(capability)
  }

  /// The configured AUTH mechanisms, upper-cased, or `nil` when AUTH is not offered.
  var authMechanisms: [String]? {
    for case .auth(let mechanisms) in capabilities { return mechanisms.map { $0.uppercased() } }
    return nil
  }
}
