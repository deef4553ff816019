// SPDX-License-Identifier: MIT
// What is wrong with a client-secret or service-account key file. Pure.

import Codecs

/// A credentials file (Google's client-secret JSON or a service-account key) is unusable.
/// The text names the field, never a secret value.
public enum CredentialsFileError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file is not JSON.
  case notJSON(JSONError)
  /// The JSON is not the expected kind of file (`expected` says which).
  case wrongKind(expected: String)
  /// A required field is absent or empty.
  case missingField(String)
  /// A field holds the wrong kind of value.
  case wrongType(field: String, expected: String)
  /// A field's value is not acceptable.
  case invalidValue(field: String, reason: String)

  public var description: String {
    switch self {
    case .notJSON(let error): return error.description
    case .wrongKind(let expected): return "not \(expected)"
    case .missingField(let field): return "'\(field)' is missing or empty"
    case .wrongType(let field, let expected): return "'\(field)' should be \(expected)"
    case .invalidValue(let field, let reason): return "'\(field)' \(reason)"
    }
  }
}

extension JSONValue {
  /// A required non-empty string member.
  func requiredString(_ key: String, in path: String = "") throws(CredentialsFileError) -> String {
    let name = path.isEmpty ? key : path + "." + key
    guard let value = self[key], value != .null else { throw .missingField(name) }
    guard let s = value.stringValue else { throw .wrongType(field: name, expected: "a string") }
    guard !s.isEmpty else { throw .missingField(name) }
    return s
  }

  /// An optional string member (absent, null or empty is nil).
  func optionalString(_ key: String, in path: String = "") throws(CredentialsFileError) -> String? {
    let name = path.isEmpty ? key : path + "." + key
    guard let value = self[key], value != .null else { return nil }
    guard let s = value.stringValue else { throw .wrongType(field: name, expected: "a string") }
    return s.isEmpty ? nil : s
  }
}
