// SPDX-License-Identifier: MIT
// Errors of message framing and scanning. Each case names what was wrong with the input;
// the front end decides the exit code (all of them are a bad message).

/// What was wrong with a message read from standard input.
public enum MessageError: Error, Equatable, Sendable {
  /// A NUL byte at this offset of the input (gsendmail(8), "THE MESSAGE" refuses them anywhere in the message).
  case nulByte(offset: Int)
  /// The header section is longer than the limit, in bytes.
  case headerTooLarge(limit: Int)
  /// The message is longer than the limit (`max_message_size`), in bytes.
  case messageTooLarge(limit: Int)
}
