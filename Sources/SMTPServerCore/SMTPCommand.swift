// SPDX-License-Identifier: MIT
// Parsing one SMTP command line (without its CRLF) into a command (RFC 5321 §4.1).
// Pure. Bad input becomes a typed error that the session turns into a 5xx reply;
// nothing here traps on hostile bytes.

/// A parsed client command.
public enum SMTPCommand: Equatable, Sendable {
  /// `EHLO name`.
  case ehlo(String)
  /// `HELO name`.
  case helo(String)
  /// `MAIL FROM:<path> [params]`; `address` is empty for `<>`.
  case mail(address: String, parameters: [SMTPParameter])
  /// `RCPT TO:<path> [params]`.
  case rcpt(address: String, parameters: [SMTPParameter])
  /// `DATA`.
  case data
  /// `BDAT size [LAST]` (RFC 3030).
  case bdat(size: Int, last: Bool)
  /// `RSET`.
  case rset
  /// `NOOP [text]`.
  case noop
  /// `QUIT`.
  case quit
  /// `VRFY string`.
  case vrfy(String)
  /// `HELP [topic]`.
  case help
  /// `STARTTLS`.
  case startTLS
  /// `AUTH mechanism [initial-response]`; the mechanism upper-cased.
  case auth(mechanism: String, initialResponse: String?)

  /// Why a line is not a valid command.
  public enum ParseError: Error, Equatable, Sendable {
    /// The verb is not one the server knows.
    case unknownVerb
    /// The verb is known but its arguments are malformed (e.g. `DATA x`, `BDAT abc`).
    case badArguments
    /// `HELO`/`EHLO` without an argument.
    case missingHelloArgument
    /// The `MAIL`/`RCPT` path is not an RFC 5321 path.
    case badPath
    /// A `MAIL`/`RCPT` parameter is not `KEY[=VALUE]`.
    case badParameter
  }

  /// Parses one command line.
  /// - Parameters:
  ///   - line: The line without CRLF.
  ///   - localNames: Whether `MAIL`/`RCPT` paths may be bare local parts (`<root>`).
  /// - Returns: The command.
  /// - Throws: `ParseError` naming what is wrong.
  public static func parse(_ line: [UInt8], localNames: Bool = false) throws(ParseError) -> SMTPCommand {
    let text = String(decoding: line, as: UTF8.self)
    let verbEnd = text.firstIndex(of: " ") ?? text.endIndex
    let verb = asciiUppercased(text[..<verbEnd])
    let rest = text[verbEnd...].drop { $0 == " " }
    let argument = String(rest.reversed().drop { $0 == " " }.reversed())
    switch verb {
    case "EHLO", "HELO":
      let name = argument.split(separator: " ").first.map(String.init) ?? ""
      if name.isEmpty { throw .missingHelloArgument }
      return verb == "EHLO" ? .ehlo(name) : .helo(name)
    case "MAIL":
      let (address, parameters) = try parsePathCommand(argument, keyword: "FROM:", localNames: localNames)
      return .mail(address: address, parameters: parameters)
    case "RCPT":
      let (address, parameters) = try parsePathCommand(argument, keyword: "TO:", localNames: localNames)
      return .rcpt(address: address, parameters: parameters)
    case "DATA":
      guard argument.isEmpty else { throw .badArguments }
      return .data
    case "BDAT":
      let words = argument.split(separator: " ")
      guard words.count == 1 || (words.count == 2 && asciiUppercased(words[1]) == "LAST"),
        words[0].allSatisfy({ $0.isASCII && $0.isNumber }), words[0].count <= 18,
        let size = Int(words[0])
      else { throw .badArguments }
      return .bdat(size: size, last: words.count == 2)
    case "RSET":
      guard argument.isEmpty else { throw .badArguments }
      return .rset
    case "NOOP":
      return .noop
    case "QUIT":
      guard argument.isEmpty else { throw .badArguments }
      return .quit
    case "VRFY":
      guard !argument.isEmpty else { throw .badArguments }
      return .vrfy(argument)
    case "HELP":
      return .help
    case "STARTTLS":
      guard argument.isEmpty else { throw .badArguments }
      return .startTLS
    case "AUTH":
      let words = argument.split(separator: " ")
      guard words.count == 1 || words.count == 2 else { throw .badArguments }
      return .auth(
        mechanism: asciiUppercased(words[0]), initialResponse: words.count == 2 ? String(words[1]) : nil
      )
    default:
      throw .unknownVerb
    }
  }

  /// Parses `FROM:<path> params` / `TO:<path> params`. A space after the colon is
  /// tolerated, as most servers do.
  private static func parsePathCommand(_ argument: String, keyword: String, localNames: Bool)
    throws(ParseError) -> (String, [SMTPParameter])
  {
    guard asciiUppercased(argument).hasPrefix(keyword) else { throw .badArguments }
    let afterKeyword = argument.dropFirst(keyword.count).drop { $0 == " " }
    let (address, rest) = try SMTPPath.parse(Substring(afterKeyword), localNames: localNames)
    if !rest.isEmpty && rest.first != " " { throw .badPath }
    var parameters: [SMTPParameter] = []
    for word in rest.split(separator: " ") {
      parameters.append(try parseParameter(word))
    }
    return (address, parameters)
  }

  /// Parses `KEY[=VALUE]` (RFC 5321 §4.1.2: esmtp-keyword, esmtp-value).
  private static func parseParameter(_ word: Substring) throws(ParseError) -> SMTPParameter {
    let name: Substring
    let value: Substring?
    if let equals = word.firstIndex(of: "=") {
      name = word[..<equals]
      value = word[word.index(after: equals)...]
    } else {
      name = word
      value = nil
    }
    guard let first = name.unicodeScalars.first, first.isASCIIAlphanumeric,
      name.unicodeScalars.allSatisfy({ $0.isASCIIAlphanumeric || $0 == "-" })
    else { throw .badParameter }
    if let value {
      // esmtp-value: %d33-60 / %d62-126, or UTF-8 beyond ASCII (RFC 6531).
      guard !value.isEmpty,
        value.unicodeScalars.allSatisfy({
          ($0.value >= 33 && $0.value <= 126 && $0 != "=") || $0.value > 127
        })
      else { throw .badParameter }
    }
    return SMTPParameter(asciiUppercased(name), value.map(String.init))
  }
}

extension Unicode.Scalar {
  var isASCIIAlphanumeric: Bool {
    (self >= "A" && self <= "Z") || (self >= "a" && self <= "z") || (self >= "0" && self <= "9")
  }
}

/// Upper-cases ASCII letters only: SMTP's verbs and keywords are ASCII (RFC 5321 §2.4), and
/// Unicode case mapping would let `MAıL` or `RſET` pass for `MAIL` and `RSET`.
func asciiUppercased(_ text: some StringProtocol) -> String {
  String(decoding: text.utf8.map { $0 >= 0x61 && $0 <= 0x7a ? $0 - 0x20 : $0 }, as: UTF8.self)
}
