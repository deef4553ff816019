// SPDX-License-Identifier: MIT
// Scanning and parsing helpers that feed MessageCore its input in the ways of
// TestSupport's Feeding.
import MessageCore
import TestSupport

/// Scans `input` fed the given way.
func scan(_ input: String, _ feeding: Feeding, options: MessageScanner.Options = .init())
  -> Result<ScannedMessage, MessageError>
{
  scan(Array(input.utf8), feeding, options: options)
}

/// Scans bytes fed the given way.
func scan(_ input: [UInt8], _ feeding: Feeding, options: MessageScanner.Options = .init())
  -> Result<ScannedMessage, MessageError>
{
  var scanner = MessageScanner(options: options)
  return Result { () throws(MessageError) in
    for chunk in feeding.chunks(input) { try scanner.push(chunk) }
    return try scanner.finish()
  }
}

/// All parser events for `input` fed the given way, with adjacent body chunks merged.
func events(_ input: String, _ feeding: Feeding, options: MessageParser.Options = .init())
  -> [MessageParser.Event]
{
  var parser = MessageParser(options: options)
  var out: [MessageParser.Event] = []
  var ended = false
  func drain() {
    while !ended {
      guard let event = try? parser.next() else {
        out.append(.body(Array("<error>".utf8)))
        return
      }
      switch event {
      case .needMore: return
      case .body(let b):
        if case .body(let previous) = out.last {
          out[out.count - 1] = .body(previous + b)
        } else {
          out.append(event)
        }
      case .endOfMessage:
        out.append(event)
        ended = true
      default: out.append(event)
      }
    }
  }
  for chunk in feeding.chunks(Array(input.utf8)) {
    parser.push(chunk)
    drain()
  }
  parser.finish()
  drain()
  return out
}

extension Array where Element == UInt8 {
  /// The bytes as text, for readable expectations.
  var text: String { String(decoding: self, as: UTF8.self) }
}
