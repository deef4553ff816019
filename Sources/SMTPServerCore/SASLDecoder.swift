// SPDX-License-Identifier: MIT
// Decoding of the SASL payloads the server accepts (RFC 4616 PLAIN, LOGIN, Google's
// XOAUTH2, RFC 7628 OAUTHBEARER). Pure. A payload that is not valid base64 or not in
// the mechanism's format yields nil; the session answers `authUndecodable`.

import Codecs

/// Decoders for SASL client responses.
enum SASLDecoder {
  /// Decodes one base64 client response; `=` stands for an empty response (RFC 4954 §4).
  static func base64(_ text: String) -> [UInt8]? {
    text == "=" ? [] : Base64.decode(text)
  }

  /// `[authzid] NUL authcid NUL passwd` (RFC 4616 §2).
  static func plain(_ bytes: [UInt8]) -> SMTPCredentials? {
    let parts = bytes.split(separator: 0, omittingEmptySubsequences: false)
    guard parts.count == 3, !parts[1].isEmpty else { return nil }
    return .plain(
      authorizationID: string(parts[0]), user: string(parts[1]), password: string(parts[2]))
  }

  /// `user=U ^A auth=Bearer T ^A ^A` (Google's XOAUTH2).
  static func xoauth2(_ bytes: [UInt8]) -> SMTPCredentials? {
    let fields = bytes.split(separator: 1, omittingEmptySubsequences: false)
    guard fields.count == 4, fields[2].isEmpty, fields[3].isEmpty else { return nil }
    let user = string(fields[0])
    let auth = string(fields[1])
    guard user.hasPrefix("user="), let token = bearerToken(auth) else { return nil }
    return .xoauth2(user: String(user.dropFirst(5)), token: token)
  }

  /// `gs2-header ^A *(key=value ^A) ^A` (RFC 7628 §3.1), e.g.
  /// `n,a=user,^Ahost=h^Aport=p^Aauth=Bearer T^A^A`.
  static func oauthBearer(_ bytes: [UInt8]) -> SMTPCredentials? {
    let fields = bytes.split(separator: 1, omittingEmptySubsequences: false).map(string)
    guard fields.count >= 3, fields[fields.count - 1].isEmpty, fields[fields.count - 2].isEmpty
    else { return nil }
    let header = fields[0].split(separator: ",", omittingEmptySubsequences: false)
    guard header.count >= 2, header[0] == "n" || header[0] == "y" else { return nil }
    let user = header[1].hasPrefix("a=") ? String(header[1].dropFirst(2)) : ""
    for field in fields.dropFirst().dropLast(2) {
      if field.hasPrefix("auth="), let token = bearerToken(field) {
        return .oauthBearer(user: user, token: token)
      }
    }
    return nil
  }

  /// The token of an `auth=Bearer T` field (the scheme is case-insensitive).
  private static func bearerToken(_ field: String) -> String? {
    guard field.hasPrefix("auth=") else { return nil }
    let value = field.dropFirst(5)
    guard value.prefix(7).lowercased() == "bearer " else { return nil }
    let token = value.dropFirst(7)
    return token.isEmpty ? nil : String(token)
  }

  private static func string(_ bytes: ArraySlice<UInt8>) -> String {
    String(decoding: bytes, as: UTF8.self)
  }
}
