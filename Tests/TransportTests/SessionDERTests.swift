// SPDX-License-Identifier: MIT
// gs_der_drop_field: the DER edit that saves TLS sessions without the server's
// certificate. Short and long lengths, the field absent, and inputs that are not one
// whole DER SEQUENCE left alone.

import CShim
import Testing

@Suite("Session DER edit")
struct SessionDERTests {
  private func drop(_ bytes: [UInt8], _ tag: Int32 = 3) -> [UInt8]? {
    var der = bytes
    let n = der.withUnsafeMutableBufferPointer { gs_der_drop_field($0.baseAddress, $0.count, tag) }
    return n == 0 ? nil : Array(der[0..<n])
  }

  @Test("the field is removed and the outer length rewritten")
  func short() {
    let der: [UInt8] = [0x30, 0x0b, 0x02, 0x01, 0x01, 0xa3, 0x03, 0x04, 0x01, 0x07, 0xa4, 0x01, 0x00]
    #expect(drop(der) == [0x30, 0x06, 0x02, 0x01, 0x01, 0xa4, 0x01, 0x00])
  }

  @Test("a long field under a long outer length: the header shrinks with the contents")
  func long() {
    let peer: [UInt8] = [0xa3, 0x81, 0x90] + Array(repeating: 0x55, count: 0x90)
    let rest: [UInt8] = [0x02, 0x01, 0x01, 0xa6, 0x03, 0x04, 0x01, 0x41]
    let contents = rest.prefix(3) + peer + rest.dropFirst(3)
    let der: [UInt8] = [0x30, 0x81, UInt8(contents.count)] + contents
    #expect(drop(der) == [0x30, UInt8(rest.count)] + rest)
  }

  @Test("no such field: unchanged")
  func absent() {
    let der: [UInt8] = [0x30, 0x03, 0x02, 0x01, 0x01]
    #expect(drop(der) == der)
    #expect(drop(der, 4) == der)
  }

  @Test("not one whole DER SEQUENCE: refused", arguments: [
    [], [0x30], [0x31, 0x00], [0x30, 0x05, 0x02, 0x01, 0x01], [0x30, 0x03, 0x02, 0x01, 0x01, 0x00],
    [0x30, 0x03, 0x02, 0x05, 0x01], [0x30, 0x81, 0x03, 0x02, 0x01, 0x01], [0x30, 0x02, 0x1f, 0x00],
  ] as [[UInt8]])
  func malformed(der: [UInt8]) {
    #expect(drop(der) == nil)
  }
}
