// SPDX-License-Identifier: MIT
// SHA-256, random bytes and RS256 signatures, checked against known vectors and the
// openssl CLI.

import Testing
import Transport

@Suite("Crypto")
struct CryptoTests {
  private func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes { out += [digits[Int(b >> 4)], digits[Int(b & 15)]] }
    return String(decoding: out, as: UTF8.self)
  }

  @Test(
    "SHA-256 test vectors (FIPS 180-2)",
    arguments: [
      ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
      ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ])
  func sha256(input: String, digest: String) throws {
    #expect(hex(try Crypto.sha256(Array(input.utf8))) == digest)
  }

  @Test("random bytes have the asked length and differ")
  func random() throws {
    let a = try Crypto.randomBytes(count: 32)
    let b = try Crypto.randomBytes(count: 32)
    #expect(a.count == 32 && b.count == 32)
    #expect(a != b)
    #expect(try Crypto.randomBytes(count: 0).isEmpty)
  }

  @Test("an RS256 signature verifies with openssl dgst")
  func rsaSignature() throws {
    let pki = try #require(PKI.shared)
    let key = try #require(readFile(pki.key("rsa")))
    let data = Array("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0".utf8)
    let signature = try Crypto.rsaSHA256Signature(of: data, privateKeyPEM: key)
    #expect(signature.count == 256)
    writeFile(pki.dir + "/jwt.txt", data)
    writeFile(pki.dir + "/jwt.sig", signature)
    let status = run([
      "openssl", "dgst", "-sha256", "-verify", pki.dir + "/rsa.pub", "-signature",
      pki.dir + "/jwt.sig", pki.dir + "/jwt.txt",
    ])
    #expect(status == 0)
    // PKCS#1 v1.5 is deterministic.
    #expect(try Crypto.rsaSHA256Signature(of: data, privateKeyPEM: key) == signature)
  }

  @Test("a bad or non-RSA key is refused without echoing it")
  func badKeys() throws {
    let pki = try #require(PKI.shared)
    let garbage = Array(
      "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n".utf8)
    #expect {
      _ = try Crypto.rsaSHA256Signature(of: [1], privateKeyPEM: garbage)
    } throws: { error in
      guard case .signing(let detail) = error as? CryptoError else { return false }
      return !detail.contains("c2VjcmV0") && !detail.isEmpty
    }
    let ecKey = try #require(readFile(pki.key("good")))
    #expect(throws: CryptoError.signing("private key is not an RSA key")) {
      _ = try Crypto.rsaSHA256Signature(of: [1], privateKeyPEM: ecKey)
    }
    #expect {
      _ = try Crypto.rsaSHA256Signature(of: [1], privateKeyPEM: [])
    } throws: { error in
      guard case .signing = error as? CryptoError else { return false }
      return true
    }
  }
}
