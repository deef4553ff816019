// SPDX-License-Identifier: MIT
// libFuzzer entry point for the JSON reader (RFC 8259) and the OAuth documents read with
// it: token endpoint responses (RFC 6749 §5.1, §5.2), the token cache, Google's
// client-secret and service-account key files.
//
// Invariants checked:
// - parsing never traps, and an error's offset lies inside the input;
// - bytes and text give the same result when the bytes are UTF-8;
// - a parsed value, serialised and parsed again, is the same value, and serialising is
//   stable (parse → serialize → parse → serialize gives the same text);
// - a token cache read and written back reads as the same tokens;
// - no description or error text of the OAuth readers shows a token, a client secret or a
//   private key. A value counts as secret here when it holds `~` and is at least 8 bytes
//   long (the seed corpus has such values; `~` appears in no fixed message) and appears in
//   no other string of the document, which an error may quote.
import Codecs
import FuzzSupport
import OAuth2

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))

  let parsed = Result { () throws(JSONError) in try JSON.parse(bytes) }
  if let text = String(validating: bytes, as: UTF8.self),
    Result(catching: { () throws(JSONError) in try JSON.parse(text) }) != parsed
  {
    trap("bytes and text parse differently")
  }
  for depth in [0, 1, 2] {
    if case .failure(let error) = Result(catching: { () throws(JSONError) in try JSON.parse(bytes, maximumDepth: depth) }) {
      checkOffset(error, count: bytes.count)
    }
  }
  switch parsed {
  case .failure(let error):
    checkOffset(error, count: bytes.count)
  case .success(let value):
    checkRoundTrip(value)
  }

  var texts: [String] = []
  for status in [200, 400, 429, 503] {
    do {
      let response = try TokenResponse.parse(status: status, body: bytes)
      if response.accessToken.isEmpty || response.expiresIn <= 0 { trap("a token response without a token or lifetime") }
      texts.append(response.description)
    } catch {
      texts += [error.description, error.explanation(account: "fuzz@example.com")]
    }
  }
  do {
    let tokens = try StoredTokens.parse(bytes)
    texts.append(tokens.description)
    checkCacheRoundTrip(tokens)
  } catch {
    texts.append(error.description)
  }
  do {
    texts.append(try ServiceAccountKey.parse(bytes).description)
  } catch {
    texts.append(error.description)
  }
  do {
    texts.append(try ClientSecret.parse(bytes).description)
  } catch {
    texts.append(error.description)
  }
  if case .success(let value) = parsed { checkNoSecret(in: texts, document: value) }
  return 0
}

private func checkOffset(_ error: JSONError, count: Int) {
  switch error {
  case .unexpected(let offset), .invalidString(let offset), .invalidNumber(let offset), .trailingData(let offset):
    if offset < 0 || offset > count { trap("a JSON error points outside the input") }
  case .tooLarge, .truncated, .tooDeep: break
  }
}

private func checkRoundTrip(_ value: JSONValue) {
  let text = JSON.serialize(value)
  let again: JSONValue
  do {
    again = try JSON.parse(Array(text.utf8), maximumBytes: .max)
  } catch {
    trap("serialised JSON does not parse: \(error)")
  }
  if again != value { trap("a JSON value changed on its way through text") }
  if JSON.serialize(again) != text { trap("serialising JSON is not stable") }
}

private func checkCacheRoundTrip(_ tokens: StoredTokens) {
  var expected = tokens
  // The issue time of a refresh token is kept only with the token.
  if expected.refreshToken == nil { expected.refreshTokenIssuedAt = nil }
  do {
    if try StoredTokens.parse(Array(tokens.serialized.utf8)) != expected {
      trap("the token cache changed on its way through a file")
    }
  } catch {
    trap("a written token cache does not read back: \(error)")
  }
}

private let secretKeys: Set = ["access_token", "refresh_token", "client_secret", "private_key"]

/// No text shows a value that only a secret member of the document holds.
private func checkNoSecret(in texts: [String], document: JSONValue) {
  var secrets: [String] = []
  var others: [String] = []
  collect(document, secrets: &secrets, others: &others)
  for secret in secrets where secret.utf8.count >= 8 && secret.contains("~") {
    if others.contains(where: { $0.contains(secret) }) { continue }
    if texts.contains(where: { $0.contains(secret) }) { trap("a secret appears in a message") }
  }
}

private func collect(_ value: JSONValue, secrets: inout [String], others: inout [String]) {
  switch value {
  case .string(let s): others.append(s)
  case .array(let items):
    for item in items { collect(item, secrets: &secrets, others: &others) }
  case .object(let members):
    for (key, member) in members {
      others.append(key)
      if secretKeys.contains(key), case .string(let s) = member {
        secrets.append(s)
      } else {
        collect(member, secrets: &secrets, others: &others)
      }
    }
  case .number, .bool, .null: break
  }
}
