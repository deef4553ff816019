// SPDX-License-Identifier: MIT
// The `<path>` of MAIL and RCPT (RFC 5321 §4.1.2: Reverse-path, Forward-path, Mailbox).
// Pure. Anything that is not a path (a display name, a missing bracket, a space
// outside quotes, an over-long path) is refused as `badPath`.

/// Parsing of an angle-bracketed SMTP path.
enum SMTPPath {
  /// The longest path content, brackets excluded (RFC 5321 §4.5.3.1.3: 256 with them).
  static let maxLength = 254

  /// Parses `<…>` at the start of `text`.
  /// - Parameter localNames: Whether a bare local part (`<root>`) is a path, as a local
  ///   submission server accepts it; otherwise only `postmaster` is.
  /// - Returns: The mailbox (empty for `<>`; a source route dropped) and the text after `>`.
  /// - Throws: `SMTPCommand.ParseError.badPath`.
  static func parse(_ text: Substring, localNames: Bool = false) throws(SMTPCommand.ParseError) -> (String, Substring) {
    guard text.first == "<" else { throw .badPath }
    var inQuotes = false
    var escaped = false
    var index = text.index(after: text.startIndex)
    while index < text.endIndex {
      let character = text[index]
      if escaped {
        escaped = false
      } else if inQuotes {
        if character == "\\" { escaped = true } else if character == "\"" { inQuotes = false }
      } else if character == "\"" {
        inQuotes = true
      } else if character == ">" {
        break
      } else if character == "<" || character == " " || character == "\t" {
        throw .badPath
      }
      index = text.index(after: index)
    }
    guard index < text.endIndex else { throw .badPath }
    var content = text[text.index(after: text.startIndex)..<index]
    let rest = text[text.index(after: index)...]
    if content.utf8.count > maxLength { throw .badPath }
    if content.isEmpty { return ("", rest) }
    if content.first == "@" {
      // A source route `@a,@b:` (RFC 5321 §4.1.2, to be accepted and ignored, §C).
      guard let colon = content.firstIndex(of: ":") else { throw .badPath }
      content = content[content.index(after: colon)...]
    }
    guard isMailbox(content, localNames: localNames) else { throw .badPath }
    return (String(content), rest)
  }

  /// Whether `text` is `Local-part "@" ( Domain / address-literal )`, or `postmaster`, or
  /// with `localNames` any local part.
  static func isMailbox(_ text: Substring, localNames: Bool = false) -> Bool {
    if text.unicodeScalars.contains("\u{FFFD}") { return false }
    guard let at = text.lastIndex(of: "@") else {
      return localNames ? isLocalPart(text) : text.lowercased() == "postmaster"
    }
    let local = text[..<at]
    let domain = text[text.index(after: at)...]
    return isLocalPart(local) && isDomain(domain)
  }

  private static func isLocalPart(_ local: Substring) -> Bool {
    if local.isEmpty { return false }
    if local.first == "\"" {
      guard local.count >= 2, local.last == "\"" else { return false }
      return local.dropFirst().dropLast().unicodeScalars.allSatisfy { $0.value >= 32 }
    }
    return local.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { atom in
      !atom.isEmpty && atom.unicodeScalars.allSatisfy(isAtext)
    }
  }

  private static func isDomain(_ domain: Substring) -> Bool {
    if domain.first == "[" {
      guard domain.count >= 3, domain.last == "]" else { return false }
      return domain.dropFirst().dropLast().unicodeScalars.allSatisfy {
        $0.value > 32 && $0.value < 127 && $0 != "[" && $0 != "]" && $0 != "\\"
      }
    }
    return domain.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
      !label.isEmpty && label.first != "-" && label.last != "-"
        && label.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "-" || $0.value > 127 }
    }
  }

  /// RFC 5322 atext, plus UTF-8 beyond ASCII (RFC 6531 §3.3); SMTPUTF8 is checked by
  /// the session.
  private static func isAtext(_ scalar: Unicode.Scalar) -> Bool {
    scalar.isASCIIAlphanumeric || "!#$%&'*+-/=?^_`{|}~".unicodeScalars.contains(scalar)
      || scalar.value > 127
  }
}
