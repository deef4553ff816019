// SPDX-License-Identifier: MIT
// gs_release_relocation_tables() unmaps relocation tables after start-up and after
// OpenSSL is loaded; everything must work as before afterwards.

import CShim
import Testing
import Transport

@Suite("Relocation table pages")
struct RelocationPagesTests {
  @Test("the tables of this program are released, and OpenSSL still loads and works after")
  func released() throws {
    // The test binary is a PIE with tens of thousands of relocations in a read-only segment.
    #expect(gs_release_relocation_tables() > 64 * 1024)
    let digest = try Crypto.sha256(Array("abc".utf8))
    #expect(digest.prefix(4) == [0xba, 0x78, 0x16, 0xbf])
    // Once OpenSSL is in (gs_openssl_load released its tables too), a second pass is harmless.
    #expect(gs_openssl_is_loaded() == 1)
    #expect(gs_release_relocation_tables() > 0)
    #expect(try Crypto.sha256([]).prefix(4) == [0xe3, 0xb0, 0xc4, 0x42])
    #expect(try Crypto.randomBytes(count: 16).count == 16)
  }
}
