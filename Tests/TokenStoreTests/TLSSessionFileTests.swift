// SPDX-License-Identifier: MIT
// The saved TLS session beside the token cache: its name, its header binding it to one
// server and trust store, the checksum that tells a torn file, and the owner and mode
// rules of the token cache (created 0600 / 0660, or only rewritten in place).

import Foundation
import Testing

@testable import TokenStore

@Suite("TLSSessionFile")
struct TLSSessionFileTests {
  let session: [UInt8] = Array(0..<200).map { UInt8($0) }
  static let now = 1_800_000_000

  func file(_ directory: TemporaryDirectory, host: String = "smtp.gmail.com", caFile: String? = nil, isSystem: Bool = false)
    -> TLSSessionFile
  {
    TLSSessionFile(
      location: TokenCacheLocation(directory: directory.path + "/tokens", isSystem: isSystem), account: "work",
      host: host, port: 587, caFile: caFile, now: Self.now)
  }

  func mode(_ path: String) throws -> Int {
    try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
  }

  @Test("one file per account and host:port; names that cannot be file names have none")
  func paths() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    #expect(file(directory).path == directory.path + "/tokens/work@smtp.gmail.com:587.tls")
    for host in ["", "a/b", "a b", "a\nb", "a@b"] { #expect(file(directory, host: host).path == nil) }
    var other = file(directory)
    other.account = ".hidden"
    #expect(other.path == nil)
  }

  @Test("saved and loaded back, 0600 in a 0700 directory")
  func roundTrip() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let f = file(directory)
    #expect(f.load() == nil)
    f.save(session)
    #expect(f.load()?.session == session)
    #expect(try mode(f.path!) == 0o600)
    #expect(try mode(directory.path + "/tokens") == 0o700)
    let system = file(directory, isSystem: true)
    system.save(session)
    #expect(try mode(system.path!) == 0o660)
  }

  @Test("a session saved for another host or trust store does not load")
  func boundToServer() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let f = file(directory)
    f.save(session)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: f.path!))
    var other = file(directory, host: "smtp-relay.gmail.com")
    try bytes.write(to: URL(fileURLWithPath: other.path!))
    chmod(other.path!, 0o600)
    #expect(other.load() == nil)
    other = file(directory, caFile: "/etc/test-ca.pem")
    #expect(other.load() == nil)
  }

  @Test("a torn, truncated, wide-mode, foreign or oversized file does not load")
  func rejected() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let f = file(directory)
    let path = f.path!
    try FileManager.default.createDirectory(atPath: directory.path + "/tokens", withIntermediateDirectories: true)
    let good = f.encode(session)
    var torn = good
    torn[torn.count - 1] ^= 1
    for bytes in [torn, Array(good.dropLast()), Array(good.prefix(20)), []] {
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      chmod(path, 0o600)
      #expect(f.load() == nil)
    }
    try Data(good).write(to: URL(fileURLWithPath: path))
    chmod(path, 0o600)
    #expect(f.load()?.session == session)
    chmod(path, 0o640)
    #expect(f.load() == nil)
    chmod(path, 0o600)
    var foreign = f
    foreign.location.writesInPlace = true
    foreign.location.inPlaceOwner = geteuid() &+ 1
    #expect(foreign.load() == nil)
    try Data(f.encode(Array(repeating: 7, count: TLSSessionFile.maximumSize))).write(to: URL(fileURLWithPath: path))
    chmod(path, 0o600)
    #expect(f.load() == nil)
  }

  @Test("a symbolic link is neither read nor followed when saving")
  func symlink() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let f = file(directory)
    f.save(session)
    let target = directory.path + "/elsewhere"
    try FileManager.default.moveItem(atPath: f.path!, toPath: target)
    try FileManager.default.createSymbolicLink(atPath: f.path!, withDestinationPath: target)
    #expect(f.load() == nil)
    f.save(Array(session.reversed()))
    // The link was replaced by a file; its target is untouched.
    #expect(f.load()?.session == Array(session.reversed()))
    #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(f.encode(session)))
  }

  @Test("written in place for another user: only an existing file of the owner is rewritten, keeping its inode")
  func inPlace() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    var f = file(directory, isSystem: true)
    f.location.writesInPlace = true
    f.location.inPlaceOwner = geteuid()
    f.save(session)
    #expect(!FileManager.default.fileExists(atPath: f.path!))
    file(directory, isSystem: true).save(Array(repeating: 1, count: 500))
    let inode = try FileManager.default.attributesOfItem(atPath: f.path!)[.systemFileNumber] as? Int
    f.save(session)
    #expect(f.load()?.session == session)
    #expect(try FileManager.default.attributesOfItem(atPath: f.path!)[.systemFileNumber] as? Int == inode)
    var foreign = f
    foreign.location.inPlaceOwner = geteuid() &+ 1
    foreign.save([9, 9, 9])
    #expect(f.load()?.session == session)
  }

  @Test("reserved: an empty file of the cache's mode, no session, then rewritten in place by a sender")
  func reserved() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let owner = file(directory, isSystem: true)
    owner.reserve()  // no cache directory yet: nothing
    #expect(!FileManager.default.fileExists(atPath: owner.path!))
    try FileManager.default.createDirectory(atPath: directory.path + "/tokens", withIntermediateDirectories: false)
    var sender = owner
    sender.location.writesInPlace = true
    sender.location.inPlaceOwner = geteuid()
    sender.reserve()
    #expect(!FileManager.default.fileExists(atPath: owner.path!))
    owner.reserve()
    let attributes = try FileManager.default.attributesOfItem(atPath: owner.path!)
    #expect((attributes[.posixPermissions] as? NSNumber)?.uint32Value == 0o660)
    #expect((attributes[.size] as? NSNumber)?.intValue == 0)
    #expect(sender.load() == nil)
    sender.save(session)
    #expect(sender.load()?.session == session)
    owner.reserve()
    #expect(owner.load()?.session == session)
  }

  @Test("sessions follow one another from a full handshake for a day at most")
  func verifiedAge() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    var f = file(directory)
    f.save(session)
    // A day of resumptions: each new ticket keeps the time of the full handshake.
    f.now += TLSSessionFile.maximumVerifiedAge
    #expect(f.load()?.session == session)
    f.save(Array(session.reversed()), verified: try #require(f.load()).verified)
    #expect(f.load()?.session == Array(session.reversed()))
    f.now += 1
    #expect(f.load() == nil)
    // A full handshake verifies again and starts a new day.
    f.save(session)
    #expect(f.load()?.session == session)
    // A time far ahead of the clock (a clock set back) is not trusted either.
    f.now -= 301
    #expect(f.load() == nil)
    f.now += 1
    #expect(f.load()?.session == session)
  }

  @Test("logout's removeAll takes the account's own files only, even when names share a prefix")
  func removeAll() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    var me = file(directory)
    me.account = "me"
    var other = file(directory)
    other.account = "me@example.com"
    var third = file(directory, host: "127.0.0.1")
    third.account = "me"
    for f in [me, other, third] { f.save(session) }
    TLSSessionFile.removeAll(location: me.location, account: "me")
    #expect(!FileManager.default.fileExists(atPath: me.path!))
    #expect(!FileManager.default.fileExists(atPath: third.path!))
    #expect(other.load()?.session == session)
  }
}
