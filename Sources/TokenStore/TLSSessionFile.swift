// SPDX-License-Identifier: MIT
// The TLS session an account keeps for one server, beside its token cache (docs/design.md,
// "Token cache"): `ACCOUNT@HOST:PORT.tls`, so that the next process resumes the session
// instead of a full handshake. The session is a secret (whoever holds it can pass for the
// server to the next sender), so the file gets the token cache's modes and rules.
// Failure policy: a cache, never an error. A file that is missing, damaged, too big, not a
// regular file, or of another owner or wider mode reads as no session (a full handshake,
// after which it is replaced); a failed write is silently dropped.

import Codecs

#if canImport(Glibc)
  import Glibc
#endif

/// The saved TLS session of an account for one server and trust store.
public struct TLSSessionFile: Sendable {
  /// The token cache it lives in, with its modes and owner rules.
  public var location: TokenCacheLocation
  /// The account, the server's host name or IP literal, and its port.
  public var account: String
  public var host: String
  public var port: Int
  /// The CA file the server's certificate was verified with, nil for the system store: a
  /// session verified under one trust store is never resumed under another.
  public var caFile: String?
  /// Whether `load()` gives the saved session. False makes every handshake a full one
  /// (the doctor checks the certificate the server presents now) while `save` still keeps
  /// the session it gives.
  public var offersSession = true
  /// The time, seconds since the epoch.
  public var now: Int

  /// The largest file read: a session (at most 16 KiB) and the header.
  static let maximumSize = 20 * 1024
  static let magic = "gsendmail-tls-session 2"
  /// How long sessions may follow one another from one full handshake: a resumed session
  /// brings a new ticket, so without a bound the server's certificate (revoked, replaced,
  /// or no longer trusted by the trust store) would never be checked again. RFC 8446
  /// §4.6.1 allows a ticket at most 7 days; a day is what this one trusts.
  static let maximumVerifiedAge = 86_400

  public init(location: TokenCacheLocation, account: String, host: String, port: Int, caFile: String?, now: Int) {
    self.location = location
    self.account = account
    self.host = host
    self.port = port
    self.caFile = caFile
    self.now = now
  }

  /// The file's path, or nil when the account or host cannot be part of a file name.
  public var path: String? {
    let hostOK =
      !host.isEmpty && host.utf8.count <= 253 && !host.contains("/") && !host.contains("@")
      && !host.unicodeScalars.contains { $0.value < 0x21 || $0.value == 0x7f }
    guard hostOK, (try? location.validate(account: account)) != nil else { return nil }
    return location.directory + "/" + account + "@" + host + ":" + String(port) + ".tls"
  }

  /// The header naming what the session is for and when the server's certificate was
  /// last verified (the full handshake the session descends from); the file is the
  /// header, a blank line and the session (DER).
  func header(checksum: UInt64, verified: Int) -> [UInt8] {
    let trust = caFile.map { "file " + $0 } ?? "system"
    let hex = String(checksum, radix: 16)
    return Array(
      "\(Self.magic)\npeer \(host):\(port)\ntrust \(trust)\nverified \(verified)\nfnv1a64 \(hex)\n\n".utf8)
  }

  /// The file's bytes for `session`.
  /// - Parameter verified: When the certificate was last verified (default: now).
  func encode(_ session: [UInt8], verified: Int? = nil) -> [UInt8] {
    header(checksum: Self.fnv1a64(session), verified: verified ?? now) + session
  }

  /// A saved session and when the server's certificate was last verified for it.
  public struct Saved: Equatable, Sendable {
    public var session: [UInt8]
    /// Seconds since the epoch: the full handshake the session descends from.
    public var verified: Int
  }

  /// The session in `file` and when its certificate was last verified, when it was saved
  /// for this server and trust store and is whole (a torn in-place write fails the
  /// checksum).
  func decode(_ file: [UInt8]) -> Saved? {
    let separator: [UInt8] = [10, 10]
    guard let end = file.indices.dropLast().first(where: { file[$0] == 10 && file[$0 + 1] == 10 })
    else { return nil }
    let session = Array(file[(end + separator.count)...])
    let lines = file[..<end].split(separator: 10, omittingEmptySubsequences: false)
    let key = Array("verified ".utf8)
    guard !session.isEmpty, lines.count == 5, lines[3].starts(with: key),
      let verified = Int(String(decoding: lines[3].dropFirst(key.count), as: UTF8.self)),
      Array(file[..<(end + 2)]) == header(checksum: Self.fnv1a64(session), verified: verified)
    else { return nil }
    return Saved(session: session, verified: verified)
  }

  /// FNV-1a, 64 bits: tells a torn file, not a forged one (whoever may write the file may
  /// also read the token beside it).
  static func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
      hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
    }
    return hash
  }

  /// The owner the file must have: the caller, or root for a system cache written in place.
  private var owner: uid_t { location.writesInPlace ? uid_t(location.inPlaceOwner) : geteuid() }

  /// The open file's status when it may be used: a regular file of `owner`, its mode no
  /// wider than the cache's.
  private func trusted(_ fd: Int32) -> stat? {
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == owner,
      st.st_mode & 0o7777 & ~mode_t(location.fileMode) == 0
    else { return nil }
    return st
  }

  /// The saved session, or nil when there is none to use: none saved, or one whose
  /// certificate was last verified more than `maximumVerifiedAge` ago (or in the future).
  public func load() -> Saved? {
    guard offersSession, let saved = readFile(),
      saved.verified <= now + 300, now - saved.verified <= Self.maximumVerifiedAge
    else { return nil }
    return saved
  }

  /// The file's session and verification time, whatever their age.
  private func readFile() -> Saved? {
    guard let path else { return nil }
    // O_NONBLOCK: a FIFO put there must not hang the sender before the type is checked.
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    guard let st = trusted(fd), st.st_size <= Self.maximumSize else { return nil }
    var file = [UInt8](repeating: 0, count: Self.maximumSize + 1)
    var got = 0
    while got < file.count {
      let n = file.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
      if n < 0 && errno == EINTR { continue }
      guard n >= 0 else { return nil }
      if n == 0 { break }
      got += n
    }
    guard got <= Self.maximumSize else { return nil }
    return decode(Array(file[0..<got]))
  }

  /// Saves `session`, replacing the file (written whole under a temporary name, then
  /// renamed), or, for a system cache written in place, rewriting the existing root-owned
  /// file. Not synced: losing it costs one full handshake.
  /// - Parameter verified: When the certificate was last verified: nil for a session from a
  ///   full handshake (now); the offered session's time for one from a resumed handshake.
  public func save(_ session: [UInt8], verified: Int? = nil) {
    guard let path, !session.isEmpty else { return }
    let content = encode(session, verified: verified)
    if location.writesInPlace {
      rewrite(path, with: content)
      return
    }
    // The cache directory and its parent (`$XDG_STATE_HOME/gsendmail`) are made when
    // missing, but not the state directory above them: a home that does not exist is
    // not created for a cache.
    let parent = location.directory.directoryPart ?? ""
    var st = stat()
    guard stat(parent.directoryPart ?? "", &st) == 0, st.st_mode & S_IFMT == S_IFDIR,
      (try? CacheFiles.makeDirectory(location.directory, mode: location.directoryMode)) != nil
    else { return }
    let temporary = path + ".tmp" + String(getpid())
    _ = unlink(temporary)
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode_t(location.fileMode))
    guard fd >= 0 else { return }
    // The umask may have narrowed the mode (a system cache needs 0660): set it exactly.
    let written = fchmod(fd, mode_t(location.fileMode)) == 0 && writeAll(fd, content, at: nil)
    if close(fd) != 0 || !written || rename(temporary, path) != 0 { _ = unlink(temporary) }
  }

  /// Creates the file empty when it is missing, with the cache's mode, so that callers
  /// that may only rewrite an existing file (the non-root senders and queue runner of the
  /// system account) keep the sessions they get. Nothing for such a caller itself, and
  /// nothing when the cache directory is missing. An empty file reads as no session.
  public func reserve() {
    guard !location.writesInPlace, let path else { return }
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode_t(location.fileMode))
    guard fd >= 0 else { return }
    _ = fchmod(fd, mode_t(location.fileMode))
    close(fd)
  }

  /// Deletes every session file of `account` in `location` (logout: the sessions go with
  /// the tokens). What cannot be deleted stays; it is no use without the tokens.
  public static func removeAll(location: TokenCacheLocation, account: String) {
    guard (try? location.validate(account: account)) != nil, let dir = opendir(location.directory) else { return }
    defer { closedir(dir) }
    while let entry = readdir(dir) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      // ACCOUNT@HOST:PORT.tls: a host has no "@", an account may (`me@example.com`).
      guard name.hasSuffix(".tls"), let at = name.lastIndex(of: "@"), name[..<at] == account else { continue }
      _ = unlink(location.directory + "/" + name)
    }
  }

  /// Rewrites an existing file of the expected owner in place, so that it keeps its owner;
  /// a reader in between sees a torn file, which fails the checksum.
  private func rewrite(_ path: String, with content: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
    guard fd >= 0 else { return }
    defer { close(fd) }
    guard trusted(fd) != nil else { return }
    if writeAll(fd, content, at: 0) { _ = ftruncate(fd, off_t(content.count)) }
  }

  private func writeAll(_ fd: Int32, _ content: [UInt8], at offset: Int?) -> Bool {
    var done = 0
    while done < content.count {
      let n = content.withUnsafeBytes { bytes in
        offset.map { pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t($0 + done)) }
          ?? write(fd, bytes.baseAddress! + done, bytes.count - done)
      }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { return false }
      done += n
    }
    return true
  }
}
