// SPDX-License-Identifier: MIT
// The one error of the TOML parser: where the document stops being valid TOML, and why.
// Messages may quote keys but never values, which can be secrets.

/// A syntax or semantic error in a TOML document.
public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The 1-based line.
  public let line: Int
  /// The 1-based column, counted in Unicode scalars (not bytes) from the start of the line.
  public let column: Int
  /// What is wrong, short: `duplicate key 'from'`, `expected '=' after key`.
  public let message: String

  init(line: Int, column: Int, message: String) {
    self.line = line
    self.column = column
    self.message = message
  }

  /// `line:column: message`.
  public var description: String { "\(line):\(column): \(message)" }
}
