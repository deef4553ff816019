// SPDX-License-Identifier: MIT
// Which system trust store a TLS client without a CA file of its own is given (the SMTP
// connection and libcurl's requests alike): SSL_CERT_FILE and SSL_CERT_DIR as OpenSSL
// reads them, and a directory of hash links used alone, so that no bundle file is parsed
// before every connection.

import CShim
import Foundation
import Testing

@Suite("System trust store")
final class SystemTrustTests {
  /// The directories this test made, removed when it ends.
  var made: [String] = []

  deinit { made.forEach { try? FileManager.default.removeItem(atPath: $0) } }

  /// A fresh directory; with `hashLink`, it holds one OpenSSL hash link as
  /// update-ca-certificates makes them.
  func directory(hashLink: Bool) throws -> String {
    let dir = FileManager.default.temporaryDirectory
      .appendingPathComponent("gsendmail-trust-\(UUID().uuidString)")
    made.append(dir.path)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try Data("not a certificate\n".utf8).write(to: dir.appendingPathComponent("ca.pem"))
    if hashLink {
      try FileManager.default.createSymbolicLink(
        atPath: dir.appendingPathComponent("5ad8a5d6.0").path, withDestinationPath: "ca.pem")
    }
    return dir.path
  }

  struct Choice: Equatable {
    var kind: gs_trust_choice
    var file: String?
    var dir: String?
  }

  func choose(file: String?, dir: String?, defaultDir: String?) -> Choice {
    // The chosen pointers point into the arguments: all three stay allocated until the
    // choice has been read.
    let arguments = [file, dir, defaultDir].map { $0.map { strdup($0)! } }
    defer { arguments.forEach { free($0) } }
    var chosenFile: UnsafePointer<CChar>?
    var chosenDir: UnsafePointer<CChar>?
    let kind = gs_choose_system_trust(
      arguments[0], arguments[1], arguments[2], &chosenFile, &chosenDir)
    return Choice(
      kind: gs_trust_choice(rawValue: UInt32(kind)), file: chosenFile.map { String(cString: $0) },
      dir: chosenDir.map { String(cString: $0) })
  }

  @Test("The hashed default directory is used alone: the bundle file is not read")
  func hashedDefault() throws {
    let hashed = try directory(hashLink: true)
    #expect(
      choose(file: nil, dir: nil, defaultDir: hashed)
        == Choice(kind: GS_TRUST_HASHED_DIRECTORY, file: nil, dir: hashed))
    #expect(
      choose(file: "", dir: "", defaultDir: hashed)
        == Choice(kind: GS_TRUST_HASHED_DIRECTORY, file: nil, dir: hashed))
  }

  @Test("SSL_CERT_DIR replaces the default directory, alone when it has hash links")
  func certDirectory() throws {
    let hashed = try directory(hashLink: true)
    let plain = try directory(hashLink: false)
    #expect(
      choose(file: nil, dir: hashed, defaultDir: plain)
        == Choice(kind: GS_TRUST_HASHED_DIRECTORY, file: nil, dir: hashed))
    // Without hash links OpenSSL cannot find a CA in it by name: the bundle stays.
    #expect(
      choose(file: nil, dir: plain, defaultDir: hashed)
        == Choice(kind: GS_TRUST_DIRECTORY_AND_BUNDLE, file: nil, dir: plain))
  }

  @Test("SSL_CERT_FILE names the file, with SSL_CERT_DIR when that is set too")
  func certFile() throws {
    let hashed = try directory(hashLink: true)
    #expect(
      choose(file: "/ca.pem", dir: nil, defaultDir: hashed)
        == Choice(kind: GS_TRUST_FILE, file: "/ca.pem", dir: nil))
    #expect(
      choose(file: "/ca.pem", dir: hashed, defaultDir: nil)
        == Choice(kind: GS_TRUST_FILE, file: "/ca.pem", dir: hashed))
  }

  @Test("No hashed directory anywhere: the built-in defaults")
  func defaults() throws {
    let plain = try directory(hashLink: false)
    #expect(
      choose(file: nil, dir: nil, defaultDir: plain)
        == Choice(kind: GS_TRUST_BUILT_IN, file: nil, dir: nil))
    #expect(
      choose(file: nil, dir: nil, defaultDir: nil)
        == Choice(kind: GS_TRUST_BUILT_IN, file: nil, dir: nil))
    #expect(
      choose(file: nil, dir: nil, defaultDir: "/nonexistent/certs")
        == Choice(kind: GS_TRUST_BUILT_IN, file: nil, dir: nil))
  }
}
