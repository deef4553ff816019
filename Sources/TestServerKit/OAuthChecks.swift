// SPDX-License-Identifier: MIT
// What Google's OAuth endpoints check, for the fake ones: the PKCE challenge (S256) and
// the redirect URI bound to each authorization code at `GET /auth` and checked at the
// code exchange; the jwt-bearer grant's assertion (RS256 signature against a trusted
// service account's public key, verified with the `openssl` command; `iss`, `sub`,
// `scope`, `aud`, lifetime); and, on the SMTP side, that an access token issued for a
// service account's `sub` is used by that user only, until it expires.
// Failure policy: a failed check becomes an OAuth error answer (`invalid_grant`,
// `redirect_uri_mismatch`, `invalid_scope`, ...) whose description names the check,
// never a token, code or key; nothing here throws. When `openssl` cannot be run, the
// assertion is refused (fail closed).

import Codecs
import Foundation
import SMTPServerCore
import Synchronization
import Transport

/// A service account whose signed assertions the fake token endpoint accepts.
public struct TrustedServiceAccount: Equatable, Sendable {
  /// The key file's `client_email`: the assertion's `iss`.
  public var clientEmail: String
  /// The public half of the key file's `private_key`, in PEM.
  public var publicKeyPEM: String
  /// The key file's `private_key_id`; when set, a `kid` in the header must equal it.
  public var keyID: String?

  /// Trusts `publicKeyPEM` for assertions issued by `clientEmail`.
  public init(clientEmail: String, publicKeyPEM: String, keyID: String? = nil) {
    self.clientEmail = clientEmail
    self.publicKeyPEM = publicKeyPEM
    self.keyID = keyID
  }
}

/// One jwt-bearer grant the fake token endpoint received.
public struct AssertionRecord: Equatable, Sendable {
  /// The `iss` claim, when the assertion could be read.
  public var issuer: String?
  /// The `sub` claim, when present.
  public var subject: String?
  /// Which check failed, or nil when the assertion was accepted.
  public var problem: String?

  /// Whether an access token was issued for it.
  public var accepted: Bool { problem == nil }
}

/// What the checks saw.
public struct OAuthCheckStats: Equatable, Sendable {
  /// `POST /token` with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`.
  public var jwtBearerGrants = 0
  /// Authorization-code exchanges refused for PKCE or the redirect URI.
  public var refusedCodeExchanges = 0
  /// Authorization requests (`GET /auth`) refused for their PKCE parameters.
  public var refusedAuthorizations = 0
  /// Every jwt-bearer assertion, in order.
  public var assertions: [AssertionRecord] = []
}

/// An OAuth error answer (RFC 6749 §5.2) chosen by a check.
struct OAuthRefusal: Error, Equatable, Sendable {
  var error: String
  var description: String
}

/// The state of the checks; thread-safe.
final class OAuthChecks: Sendable {
  /// The Gmail scope, the only one SMTP accepts.
  static let gmailScope = "https://mail.google.com/"
  /// Send only: enough for users.messages.send, refused by SMTP.
  static let gmailSendScope = "https://www.googleapis.com/auth/gmail.send"
  /// The scopes users.messages.send accepts.
  static let sendScopes: Set<String> = [
    gmailScope, gmailSendScope, "https://www.googleapis.com/auth/gmail.compose",
    "https://www.googleapis.com/auth/gmail.modify",
  ]
  /// How far in the future `iat` may be (clock skew Google tolerates).
  static let allowedSkew = 300

  private struct Binding {
    var challenge: String?
    var redirectURI: String
  }

  private struct SubjectToken {
    var subject: String
    var expiry: ContinuousClock.Instant
  }

  private struct State {
    var bindings: [String: Binding] = [:]
    var serviceAccounts: [String: TrustedServiceAccount] = [:]
    var subjectTokens: [String: SubjectToken] = [:]
    var stats = OAuthCheckStats()
  }

  private let state = Mutex(State())
  private let clock = ContinuousClock()
  private let workDirectory: String
  private let openssl: String

  /// - Parameters:
  ///   - workDirectory: Where signature checks put their temporary files.
  ///   - openssl: The `openssl` command.
  init(workDirectory: String, openssl: String = "/usr/bin/openssl") {
    self.workDirectory = workDirectory
    self.openssl = openssl
  }

  var stats: OAuthCheckStats { state.withLock { $0.stats } }

  func trust(_ account: TrustedServiceAccount) {
    state.withLock { $0.serviceAccounts[account.clientEmail] = account }
  }

  // MARK: - Authorization code

  /// Checks the PKCE parameters of `GET /auth`: PKCE is optional at Google, but when a
  /// challenge is given it must be an S256 one.
  func checkAuthorization(_ query: [String: String]) -> OAuthRefusal? {
    guard let challenge = query["code_challenge"] else { return nil }
    var problem: String?
    if query["code_challenge_method"] != "S256" {
      problem = "code_challenge_method must be S256"
    } else if !Self.isPKCEValue(challenge) || challenge.count != 43 {
      problem = "code_challenge is not a base64url SHA-256 digest"
    }
    guard let problem else { return nil }
    state.withLock { $0.stats.refusedAuthorizations += 1 }
    return OAuthRefusal(error: "invalid_request", description: problem)
  }

  /// Remembers what the code issued for this `GET /auth` is bound to.
  func bind(code: String, query: [String: String]) {
    let binding = Binding(
      challenge: query["code_challenge"], redirectURI: query["redirect_uri"] ?? "")
    state.withLock { $0.bindings[code] = binding }
  }

  /// Checks an authorization-code exchange against its code's binding: the same
  /// `redirect_uri`, and a `code_verifier` whose BASE64URL(SHA256()) is the challenge.
  /// A code that passes is unbound (codes are good once). An unknown code passes here
  /// and is refused by the token authority.
  func checkExchange(_ form: [String: String]) -> OAuthRefusal? {
    let code = form["code"] ?? ""
    guard let binding = state.withLock({ $0.bindings[code] }) else { return nil }
    var refusal: OAuthRefusal?
    if form["redirect_uri"] != binding.redirectURI {
      refusal = OAuthRefusal(error: "redirect_uri_mismatch", description: "Bad Request")
    } else if let challenge = binding.challenge {
      if let verifier = form["code_verifier"] {
        if !Self.isPKCEValue(verifier) || !(43...128).contains(verifier.count)
          || Self.s256(verifier) != challenge
        {
          refusal = OAuthRefusal(error: "invalid_grant", description: "Invalid code verifier.")
        }
      } else {
        refusal = OAuthRefusal(error: "invalid_grant", description: "Missing code verifier.")
      }
    }
    state.withLock { state in
      if refusal == nil {
        state.bindings[code] = nil
      } else {
        state.stats.refusedCodeExchanges += 1
      }
    }
    return refusal
  }

  /// RFC 7636 §4.1: `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
  private static func isPKCEValue(_ text: String) -> Bool {
    !text.isEmpty
      && text.unicodeScalars.allSatisfy {
        ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0)
          || "-._~".unicodeScalars.contains($0)
      }
  }

  /// BASE64URL(SHA256(ASCII(verifier))) without padding; nil when SHA-256 is unavailable.
  private static func s256(_ verifier: String) -> String? {
    guard let digest = try? Crypto.sha256(Array(verifier.utf8)) else { return nil }
    return Base64.encode(digest, alphabet: .url).replacingOccurrences(of: "=", with: "")
  }

  // MARK: - jwt-bearer

  /// Checks an assertion sent to `audience` (the token URL).
  /// - Returns: The subject to issue a token for (`sub`, else the service account), or
  ///   the refusal. Either way, an `AssertionRecord` is kept.
  func checkAssertion(_ jwt: String, audience: String) -> Result<(subject: String, scope: String), OAuthRefusal> {
    var record = AssertionRecord()
    let result = verify(jwt, audience: audience, record: &record)
    if case .failure(let refusal) = result { record.problem = refusal.description }
    state.withLock {
      $0.stats.jwtBearerGrants += 1
      $0.stats.assertions.append(record)
    }
    return result
  }

  private func verify(_ jwt: String, audience: String, record: inout AssertionRecord)
    -> Result<(subject: String, scope: String), OAuthRefusal>
  {
    func refuse(_ error: String, _ description: String) -> Result<(subject: String, scope: String), OAuthRefusal> {
      .failure(OAuthRefusal(error: error, description: description))
    }
    let parts = jwt.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3, let header = Self.jsonObject(parts[0]),
      let claims = Self.jsonObject(parts[1]),
      let signature = Base64.decode(parts[2], alphabet: .url), !signature.isEmpty
    else { return refuse("invalid_grant", "Invalid JWT: not three base64url JSON parts.") }
    record.issuer = claims["iss"] as? String
    record.subject = claims["sub"] as? String
    guard header["alg"] as? String == "RS256" else {
      return refuse("invalid_grant", "Invalid JWT: alg must be RS256.")
    }
    guard let issuer = record.issuer,
      let trusted = state.withLock({ $0.serviceAccounts[issuer] })
    else { return refuse("invalid_grant", "Invalid grant: account not found") }
    if let kid = header["kid"] as? String, let keyID = trusted.keyID, kid != keyID {
      return refuse("invalid_grant", "Invalid JWT Signature.")
    }
    let signed = Array(jwt.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
    switch verifySignature(signed, signature: signature, publicKeyPEM: trusted.publicKeyPEM) {
    case .some(true): break
    case .some(false): return refuse("invalid_grant", "Invalid JWT Signature.")
    case .none: return refuse("invalid_grant", "Invalid JWT Signature (openssl unavailable).")
    }
    guard claims["aud"] as? String == audience else {
      return refuse("invalid_grant", "Invalid JWT: Failed audience check.")
    }
    guard let scope = claims["scope"] as? String, scope == Self.gmailScope || scope == Self.gmailSendScope else {
      return refuse("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
    }
    let now = Int(Date().timeIntervalSince1970)
    guard let iat = Self.integer(claims["iat"]), let exp = Self.integer(claims["exp"]),
      exp > iat, exp - iat <= 3600, exp > now, iat <= now + Self.allowedSkew
    else {
      return refuse(
        "invalid_grant",
        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
          + "timeframe. Check your iat and exp values in the JWT claim.")
    }
    if claims["sub"] != nil {
      guard let subject = record.subject, subject.contains("@") else {
        return refuse("invalid_grant", "Invalid email or User ID")
      }
      return .success((subject, scope))
    }
    return .success((issuer, scope))
  }

  private static func jsonObject(_ part: Substring) -> [String: Any]? {
    guard let bytes = Base64.decode(part, alphabet: .url) else { return nil }
    return (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
  }

  /// A JSON whole number (JSONSerialization may give it as a Double).
  private static func integer(_ value: Any?) -> Int? {
    if let number = value as? Int { return number }
    guard let double = value as? Double, double == double.rounded(), abs(double) < 1e15 else {
      return nil
    }
    return Int(double)
  }

  /// `openssl dgst -sha256 -verify PUB -signature SIG DATA`; nil when it cannot be run.
  private func verifySignature(_ data: [UInt8], signature: [UInt8], publicKeyPEM: String) -> Bool? {
    let manager = FileManager.default
    let base = "\(workDirectory)/verify-\(UUID().uuidString)"
    let key = base + ".pub.pem"
    let sig = base + ".sig"
    let input = base + ".dat"
    defer { for path in [key, sig, input] { try? manager.removeItem(atPath: path) } }
    do {
      try manager.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
      try Data(publicKeyPEM.utf8).write(to: URL(fileURLWithPath: key))
      try Data(signature).write(to: URL(fileURLWithPath: sig))
      try Data(data).write(to: URL(fileURLWithPath: input))
    } catch {
      return nil
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: openssl)
    process.arguments = ["dgst", "-sha256", "-verify", key, "-signature", sig, input]
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      return nil
    }
    process.waitUntilExit()
    return process.terminationReason == .exit && process.terminationStatus == 0
  }

  // MARK: - Tokens bound to a subject

  /// Records a token issued for a jwt-bearer grant.
  func bind(accessToken: String, subject: String, lifetime: Int) {
    let expiry = clock.now.advanced(by: .seconds(lifetime))
    state.withLock {
      $0.subjectTokens[accessToken] = SubjectToken(subject: subject, expiry: expiry)
    }
  }

  /// Whether `user` may present `token`: true for a token not issued for a subject (the
  /// token authority decides those); for one that was, the user must be its subject and
  /// the token unexpired.
  func permits(token: String, user: String) -> Bool {
    state.withLock { state in
      guard let bound = state.subjectTokens[token] else { return true }
      return bound.subject.lowercased() == user.lowercased() && clock.now < bound.expiry
    }
  }
}

/// A session policy that refuses a subject-bound access token presented for another user
/// (or after it expired), as Gmail refuses a token for the wrong account, and otherwise
/// leaves every decision to the wrapped policy.
struct SubjectCheckingPolicy: SMTPServerPolicy {
  let inner: any SMTPServerPolicy
  let checks: OAuthChecks

  func connectionOpened(session: SMTPSessionInfo) -> SMTPServerDecision {
    inner.connectionOpened(session: session)
  }

  func hello(_ name: String, extended: Bool, session: SMTPSessionInfo) -> SMTPServerDecision {
    inner.hello(name, extended: extended, session: session)
  }

  func authenticate(_ credentials: SMTPCredentials, session: SMTPSessionInfo) -> SMTPAuthDecision {
    // The wrapped policy records the attempt and answers with Gmail's challenge; an empty
    // token is one it never accepts.
    switch credentials {
    case .xoauth2(let user, let token) where !checks.permits(token: token, user: user):
      return inner.authenticate(.xoauth2(user: user, token: ""), session: session)
    case .oauthBearer(let user, let token) where !checks.permits(token: token, user: user):
      return inner.authenticate(.oauthBearer(user: user, token: ""), session: session)
    default:
      return inner.authenticate(credentials, session: session)
    }
  }

  func mailFrom(_ mailFrom: SMTPMailFrom, session: SMTPSessionInfo) -> SMTPServerDecision {
    inner.mailFrom(mailFrom, session: session)
  }

  func recipient(_ recipient: SMTPRecipient, envelope: SMTPEnvelope, session: SMTPSessionInfo)
    -> SMTPServerDecision
  {
    inner.recipient(recipient, envelope: envelope, session: session)
  }

  func dataStarting(envelope: SMTPEnvelope, session: SMTPSessionInfo) -> SMTPServerDecision {
    inner.dataStarting(envelope: envelope, session: session)
  }

  func messageReceived(_ message: SMTPReceivedMessage, session: SMTPSessionInfo)
    -> SMTPServerDecision
  {
    inner.messageReceived(message, session: session)
  }
}
