// SPDX-License-Identifier: MIT
// libFuzzer entry point: feeds arbitrary bytes to the message scanner (whole and in small
// chunks, with and without dot termination), to the address parsers, to the encoders and
// to the TOML parser of the configuration file.
// Any trap, hang or sanitizer report is a bug; parse errors are expected and ignored.
import FuzzSupport
import MessageCore
import TOMLCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  let chunk = bytes.first.map { Int($0 % 7) + 1 } ?? 1

  for dot in [false, true] {
    var whole = MessageScanner(options: .init(dotTerminates: dot, maxHeaderBytes: 4096))
    var split = MessageScanner(options: .init(dotTerminates: dot, maxHeaderBytes: 4096))
    let a = Result { () throws(MessageError) in
      try whole.push(bytes)
      return try whole.finish()
    }
    let b = Result { () throws(MessageError) in
      var i = 0
      while i < bytes.count {
        try split.push(bytes[i..<min(i + chunk, bytes.count)])
        i += chunk
      }
      return try split.finish()
    }
    // Chunking must never change the result.
    if a != b { trap("chunking changed the scan") }
    if case .success(let message) = a {
      for field in message.fields {
        _ = try? AddressParser.parseAddressList(field.rawValue)
      }
      _ = try? RecipientExtractor.recipients(from: message.fields)
      if let prepared = try? HeaderPreparer.preparedFields(message.fields, options: .fuzzDefaults) {
        _ = HeaderPreparer.serialised(prepared)
        _ = try? HeaderPreparer.reencodedFieldsAsQuotedPrintable(prepared)
      }
    }
  }

  _ = try? AddressParser.parseAddressList(bytes)
  let text = String(decoding: bytes, as: UTF8.self)
  _ = try? AddressParser.parseRecipients(text)
  _ = try? AddressParser.parseSender(text)

  var normalizer = LineEndNormalizer()
  var encoder = QuotedPrintableEncoder()
  var encoded = encoder.push(normalizer.push(bytes))
  encoded += encoder.push(normalizer.finish())
  encoded += encoder.finish()
  var column = 0
  for b in encoded {
    if b == 0x0A { column = 0 } else if b != 0x0D { column += 1 }
    if column > 76 { trap("quoted-printable line over 76") }
  }

  // The configuration parser: bytes and text must agree whenever the bytes are UTF-8,
  // and an error must point inside the document.
  let fromBytes = Result { () throws(TOMLError) in try TOML.parse(utf8: bytes) }
  if let valid = String(validating: bytes, as: UTF8.self) {
    let fromText = Result { () throws(TOMLError) in try TOML.parse(valid) }
    if fromBytes != fromText { trap("TOML bytes and text disagree") }
  }
  if case .failure(let error) = fromBytes {
    let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).count
    if error.line < 1 || error.line > lines + 1 || error.column < 1 { trap("TOML error outside the document") }
  }
  return 0
}

extension HeaderPreparer.Options {
  fileprivate static let fuzzDefaults = HeaderPreparer.Options(
    fromAddress: "user@example.org", fromDisplayName: "Fuzz Ünïcode",
    date: .init(epochSeconds: 0, utcOffsetMinutes: 0), messageIDUniquePart: "id",
    messageIDDomain: "example.org")
}
