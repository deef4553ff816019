// SPDX-License-Identifier: MIT
// Errors of configuration loading, validation and account choice (exit 78).

/// Something is wrong with the configuration.
public enum ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
  /// No configuration file exists in any of these places.
  case notFound(searched: [String])
  /// A file named explicitly (`-C`, `$GSENDMAIL_CONFIG`) does not exist or cannot be read.
  case unreadable(path: String, reason: String)
  /// The system configuration, which this caller may not read: not a fault in the file
  /// (gsendmailctl runs with the caller's groups, not group gsendmail).
  case systemConfigDenied(path: String, reason: String)
  /// TOML syntax error.
  case syntax(path: String, line: Int, column: Int, message: String)
  /// A key that does not exist; `suggestion` is the nearest valid key.
  case unknownKey(path: String, line: Int?, key: String, suggestion: String?)
  /// A key with a value of the wrong type or outside its range.
  case invalidValue(path: String, line: Int?, key: String, message: String)
  /// A required key is missing.
  case missingKey(path: String, table: String, key: String)
  /// A file holding secrets can be read by others.
  case unsafePermissions(path: String, problem: String, fix: String)
  /// A file the account needs (client secret, key, password) is malformed.
  case badSecretFile(path: String, problem: String)
  /// `--account` or `default` names an account that does not exist.
  case unknownAccount(String)
  /// No account matches the sender and there is no default.
  case noAccountMatches(sender: String)

  public var description: String {
    switch self {
    case .notFound(let searched):
      return "no configuration file found (looked for \(searched.joined(separator: ", "))); "
        + "create one from \(SetupGuide.exampleConfig), see gsendmail.conf(5) and \(SetupGuide.setupDoc)"
    case .unreadable(let path, let reason):
      return "cannot read \(path): \(reason)"
    case .systemConfigDenied(let path, let reason):
      return "cannot read \(path): \(reason); \(SetupGuide.groupAccessHint)"
    case .syntax(let path, let line, let column, let message):
      return "\(path):\(line):\(column): \(message)"
    case .unknownKey(let path, let line, let key, let suggestion):
      let at = line.map { "\(path):\($0)" } ?? path
      return "\(at): unknown key '\(key)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? "")
    case .invalidValue(let path, let line, let key, let message):
      let at = line.map { "\(path):\($0)" } ?? path
      return "\(at): \(key): \(message)"
    case .missingKey(let path, let table, let key):
      return "\(path): [\(table)] needs '\(key)'"
    case .unsafePermissions(let path, let problem, let fix):
      return "\(path) \(problem); fix with: \(fix)"
    case .badSecretFile(let path, let problem):
      return "\(path): \(problem)"
    case .unknownAccount(let name):
      return "no account named '\(name)' in the configuration"
    case .noAccountMatches(let sender):
      return "no account matches sender \(sender.isEmpty ? "<>" : sender) and no default is set; "
        + "set 'default' or use --account"
    }
  }
}
