// SPDX-License-Identifier: MIT
// gmail-test-server: the local Gmail look-alike for tests, benchmarks and the README
// demo. Prints its listeners, then serves until SIGTERM/SIGINT (or end of standard
// input with --exit-on-stdin-eof). Exit 0 after a clean stop, 2 on a usage error,
// 1 when it cannot start. Logs go to standard error and never carry a secret.

import Foundation
import TestServerKit

let standardError = FileHandle.standardError
func complain(_ text: String) {
  standardError.write(Data("gmail-test-server: \(text)\n".utf8))
}

let defaultState = NSTemporaryDirectory() + "gmail-test-server-\(getpid())"
let options: GmailTestServerOptions
do {
  options = try GmailTestServerOptions.parse(
    Array(CommandLine.arguments.dropFirst()), defaultStateDirectory: defaultState)
} catch {
  complain("\(error)")
  complain("try --help")
  exit(2)
}
if options.help {
  print(GmailTestServerOptions.usage)
  exit(0)
}

var stopSignals = sigset_t()
sigemptyset(&stopSignals)
sigaddset(&stopSignals, SIGTERM)
sigaddset(&stopSignals, SIGINT)
pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

var configuration = options.configuration
if options.verbose { configuration.log = { complain($0) } }
let server: GmailTestServer
do {
  server = try GmailTestServer(configuration)
} catch {
  complain("cannot start: \(error)")
  exit(1)
}
server.setTokenEndpointBehavior(options.tokenBehavior)
for (email, file) in options.trustedServiceAccounts {
  guard let pem = try? String(contentsOfFile: file, encoding: .utf8) else {
    complain("cannot read the public key \(file)")
    exit(1)
  }
  server.trustServiceAccount(TrustedServiceAccount(clientEmail: email, publicKeyPEM: pem))
}

var lines: [String] = []
if let port = server.startTLSPort { lines.append("smtp 127.0.0.1:\(port) starttls") }
if let port = server.implicitTLSPort { lines.append("smtps 127.0.0.1:\(port)") }
if let port = server.httpPort { lines.append("http 127.0.0.1:\(port)") }
if let port = server.httpsPort { lines.append("https 127.0.0.1:\(port)") }
lines.append("ca \(server.caFile)")
if let directory = server.recordDirectory { lines.append("records \(directory)") }
lines.append("ready")
FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))

// SIGTERM and SIGINT were blocked in every thread (below, before the server started its
// threads); the main thread takes them with sigwait. End of input raises SIGTERM.
if options.exitOnStdinEOF {
  Thread.detachNewThread {
    while !FileHandle.standardInput.availableData.isEmpty {}
    kill(getpid(), SIGTERM)
  }
}
var received: Int32 = 0
while sigwait(&stopSignals, &received) != 0 {}
server.stop()
exit(0)
