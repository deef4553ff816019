// SPDX-License-Identifier: MIT
// The text of the message layer's errors (addresses, header preparation, re-encoding),
// as printed after `gsendmail: ` and in BadMessage.

import MessageCore

/// A readable description of a MessageCore error.
package func describe(_ error: any Error) -> String {
  switch error {
  case let e as AddressError: return describeAddress(e)
  case let e as PreparationError:
    switch e {
    case .unfoldableLine(let field): return "the \(field) header has a line over 998 octets that cannot be folded"
    case .invalidFromAddress(let a): return "invalid From address \(printable(a))"
    case .invalidMessageID(let m): return "invalid Message-ID part \(printable(m))"
    case .cannotReencode(let r): return describeRefusal(r)
    }
  default: return "\(error)"
  }
}

func describeRefusal(_ refusal: ReencodingRefusal) -> String {
  switch refusal {
  case .compositeType(let type):
    return "a \(type)/* message with lines over 998 octets or 8-bit data for a 7-bit server cannot be re-encoded; encode its parts"
  case .transferEncoding(let cte):
    return "the body needs re-encoding but already has Content-Transfer-Encoding \(cte)"
  }
}

func describeAddress(_ error: AddressError) -> String {
  switch error {
  case .empty: return "no address"
  case .unexpected(let near): return "unexpected character near \(printable(near))"
  case .unterminatedQuotedString(let near): return "unterminated quoted string near \(printable(near))"
  case .unterminatedComment(let near): return "unterminated comment near \(printable(near))"
  case .unterminatedDomainLiteral(let near): return "unterminated domain literal near \(printable(near))"
  case .unterminatedAngleAddress(let near): return "missing '>' near \(printable(near))"
  case .emptyAngleAddress(let near): return "empty <> near \(printable(near))"
  case .badLocalPart(let near): return "bad local part near \(printable(near))"
  case .badDomain(let near): return "bad domain near \(printable(near))"
  case .badGroup(let near): return "bad group near \(printable(near))"
  case .lineBreak(let near): return "line break inside an address near \(printable(near))"
  case .controlCharacter(let near): return "control character near \(printable(near))"
  case .invalidUTF8(let near): return "invalid UTF-8 near \(printable(near))"
  case .notASingleMailbox(let near): return "expected one address near \(printable(near))"
  case .inField(let name, let inner): return "\(name): \(describeAddress(inner))"
  }
}
