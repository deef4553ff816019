// SPDX-License-Identifier: MIT
// Chooses how a body goes to the server (gsendmail(8), "THE MESSAGE"): as it is (7bit or BODY=8BITMIME),
// re-encoded as quoted-printable, or refused when it needs re-encoding but is not a
// single-part 7bit/8bit message. Pure function of the scan and the server's EHLO.

/// Why a body that needs re-encoding cannot be re-encoded.
public enum ReencodingRefusal: Error, Equatable, Sendable {
  /// The message is multipart or message/* (RFC 2046 §5: composite types are never encoded).
  case compositeType(String)
  /// The body already has this Content-Transfer-Encoding (neither 7bit nor 8bit).
  case transferEncoding(String)
}

/// How the body goes to the server.
public enum TransferEncodingDecision: Equatable, Sendable {
  /// Unchanged apart from line ends; no BODY parameter.
  case sevenBit
  /// Unchanged apart from line ends, with MAIL FROM's `BODY=8BITMIME` (RFC 6152).
  case eightBitMIME
  /// Re-encoded with QuotedPrintableEncoder and the header rewritten by HeaderPreparer;
  /// `declare8BitMIME` when the header itself holds 8-bit text and the server offers 8BITMIME.
  case quotedPrintable(declare8BitMIME: Bool)
  /// It needs re-encoding but cannot be (the front end refuses the message: exit 65).
  case refuse(ReencodingRefusal)

  /// Decides for a scanned message.
  ///
  /// Re-encoding is needed for a line over 998 octets (RFC 5321 §4.5.3.1.6), or for 8-bit
  /// bytes when the server lacks 8BITMIME. An 8-bit header with a server that lacks 8BITMIME
  /// cannot be helped: it goes as `.sevenBit` (or re-encoded for the body's sake).
  /// - Parameters:
  ///   - fields: The header fields.
  ///   - body: The body statistics.
  ///   - serverSupports8BitMIME: The server advertised 8BITMIME.
  public static func decide(fields: [HeaderField], body: BodyStatistics,
                            serverSupports8BitMIME: Bool) -> TransferEncodingDecision {
    let header8bit = fields.contains { $0.has8bit }
    let needsReencoding = body.longestLine > 998 || (body.has8bit && !serverSupports8BitMIME)
    if needsReencoding {
      if let refusal = reencodingRefusal(fields) { return .refuse(refusal) }
      return .quotedPrintable(declare8BitMIME: header8bit && serverSupports8BitMIME)
    }
    if (body.has8bit || header8bit) && serverSupports8BitMIME { return .eightBitMIME }
    return .sevenBit
  }

  /// Why this header's body cannot be re-encoded, or nil when it can: no MIME header, or a
  /// discrete Content-Type with no Content-Transfer-Encoding or 7bit/8bit.
  static func reencodingRefusal(_ fields: [HeaderField]) -> ReencodingRefusal? {
    if let type = fields.first(where: { $0.hasName("Content-Type") }) {
      let token = leadingToken(type.rawValue, stoppingAt: [UInt8(ascii: "/"), ASCII.semicolon])
      if token == "multipart" || token == "message" {
        return .compositeType(token)
      }
    }
    for cte in fields where cte.hasName("Content-Transfer-Encoding") {
      let token = leadingToken(cte.rawValue, stoppingAt: [ASCII.semicolon])
      if token != "7bit" && token != "8bit" { return .transferEncoding(token) }
    }
    return nil
  }

  /// The lower-cased first token of a MIME field value, comments and white space removed.
  static func leadingToken(_ value: [UInt8], stoppingAt stops: [UInt8]) -> String {
    var out: [UInt8] = []
    var depth = 0
    var i = 0
    while i < value.count {
      let b = value[i]
      if b == ASCII.backslash, depth > 0 {
        i += 1
      } else if b == ASCII.leftParen {
        depth += 1
      } else if b == ASCII.rightParen, depth > 0 {
        depth -= 1
      } else if depth == 0 {
        if stops.contains(b) { break }
        if !ASCII.isWSP(b) { out.append(ASCII.lower(b)) }
      }
      i += 1
    }
    return ASCII.text(out)
  }
}
