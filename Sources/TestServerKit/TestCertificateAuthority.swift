// SPDX-License-Identifier: MIT
// The test PKI: a CA and a server certificate for localhost, 127.0.0.1 and ::1, made
// with the `openssl` command-line tool into a directory and reused when present, so a
// client can trust the CA file as its `tls_ca_file`.
// Failure policy: a missing `openssl` or a failed step throws
// `GmailTestServerError.certificateGeneration` naming the step; half-made files are
// left for inspection and regenerated next time (the server files are checked last).

import Foundation

/// The files of the test PKI.
public struct TestCertificateAuthority: Sendable {
  /// The CA certificate (PEM): give it to the client as `tls_ca_file`.
  public let caFile: String
  /// The server certificate (PEM), signed by the CA.
  public let certificateFile: String
  /// The server's private key (PEM, mode 0600).
  public let privateKeyFile: String

  /// Uses the files in `directory`, generating them when any is missing.
  /// - Throws: `GmailTestServerError.certificateGeneration`.
  public init(directory: String) throws(GmailTestServerError) {
    caFile = "\(directory)/ca.pem"
    certificateFile = "\(directory)/server.pem"
    privateKeyFile = "\(directory)/server.key"
    let files = FileManager.default
    if [caFile, certificateFile, privateKeyFile].allSatisfy({ files.fileExists(atPath: $0) }) {
      return
    }
    do {
      try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw .certificateGeneration("cannot create \(directory)")
    }
    let caKey = "\(directory)/ca.key"
    let request = "\(directory)/server.csr"
    let extensions = "\(directory)/server.ext"
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    try Self.openssl(
      ["req", "-x509"] + ec + [
        "-keyout", caKey, "-out", caFile, "-days", "3650", "-subj", "/CN=gmail-test-server CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
      ], step: "CA")
    try Self.openssl(
      ["req"] + ec + ["-keyout", privateKeyFile, "-out", request, "-subj", "/CN=localhost"],
      step: "server key")
    let extensionText =
      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
      + "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
    guard files.createFile(atPath: extensions, contents: Data(extensionText.utf8)) else {
      throw .certificateGeneration("cannot write \(extensions)")
    }
    try Self.openssl(
      [
        "x509", "-req", "-in", request, "-CA", caFile, "-CAkey", caKey, "-set_serial",
        String(UInt32.random(in: 1...UInt32.max)), "-days", "825", "-extfile", extensions,
        "-out", certificateFile,
      ], step: "server certificate")
    try? files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: privateKeyFile)
    try? files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: caKey)
    try? files.removeItem(atPath: request)
  }

  private static func openssl(_ arguments: [String], step: String) throws(GmailTestServerError) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl"] + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      throw .certificateGeneration("\(step): cannot run openssl")
    }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw .certificateGeneration("\(step): openssl exited with \(process.terminationStatus)")
    }
  }
}
