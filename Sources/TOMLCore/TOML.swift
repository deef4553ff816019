// SPDX-License-Identifier: MIT
// A TOML v1.0.0 parser (https://toml.io/en/v1.0.0) on UTF-8 bytes, with the standard
// library only: gsendmail reads its configuration on every message, and this keeps
// Foundation and a C++ library out of the sendmail binary.
//
// Decisions:
// - The whole of TOML 1.0 is accepted, and everything it calls invalid is an error,
//   including every rule against defining a key or a table twice.
// - Integers are Int64; one that does not fit is an error (the spec's "must throw").
// - A second of 60 (a leap second) is accepted, as RFC 3339 and TOML's ABNF allow.
// - CRLF in a multi-line string becomes LF, as the spec permits.
// - A UTF-8 byte order mark at the start is skipped (TOML 1.0 does not mention one;
//   editors on some systems write it, and the TOML parser used before accepted it).
// - Nesting (tables, arrays, inline tables) is limited to 100 levels so that a hostile
//   file cannot exhaust the stack.
// Failure policy: the first problem throws a `TOMLError` with its line, column and a short
// message; messages quote keys but never values.

/// Parses TOML documents.
public enum TOML {
  /// Parses a TOML document.
  /// - Returns: The root table.
  /// - Throws: `TOMLError` at the first problem.
  public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
    var text = text
    text.makeContiguousUTF8()
    // A native string is valid UTF-8 already, so it is not checked again.
    return try text.utf8.withContiguousStorageIfAvailable(Parser.run)!.get()
  }

  /// Parses a TOML document given as bytes, which must be valid UTF-8.
  /// - Returns: The root table.
  /// - Throws: `TOMLError` at the first problem, invalid UTF-8 included.
  public static func parse(utf8 bytes: some Collection<UInt8>) throws(TOMLError) -> TOMLTable {
    func validated(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<TOMLTable, TOMLError> {
      if let offset = firstInvalidUTF8(buffer) {
        return .failure(Parser(bytes: buffer).error(at: offset, "invalid UTF-8"))
      }
      return Parser.run(buffer)
    }
    if let result = bytes.withContiguousStorageIfAvailable(validated) { return try result.get() }
    return try Array(bytes).withUnsafeBufferPointer(validated).get()
  }

  /// The offset of the first byte that is not part of a valid UTF-8 sequence, if any.
  static func firstInvalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    var iterator = bytes.makeIterator()
    var parser = Unicode.UTF8.ForwardParser()
    var offset = 0
    while true {
      switch parser.parseScalar(from: &iterator) {
      case .valid(let scalar): offset += scalar.count
      case .emptyInput: return nil
      case .error: return offset
      }
    }
  }
}
