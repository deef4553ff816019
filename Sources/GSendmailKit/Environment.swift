// SPDX-License-Identifier: MIT
// Everything gsendmail takes from the world other than files and sockets: the
// environment variables, who is running it, the clock, the host name and
// randomness; and where it writes (standard output and error). Tests build one by hand
// to pin them.

import CShim
import GSendmailCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The process's view of the world, injected into the front end.
public struct Environment: Sendable {
  /// Environment variables.
  public var variables: [String: String]
  /// Real user id and group id, and the login name and home directory of that user.
  public var uid: UInt32
  public var gid: UInt32
  public var userName: String {
    get { userNameSource.value }
    set { userNameSource = Lazy(fixed: newValue) }
  }
  public var home: String {
    get { homeSource.value }
    set { homeSource = Lazy(fixed: newValue) }
  }
  /// The names of the groups of the real user (primary and supplementary), for the sender
  /// policy's `@group` entries; looked up only when asked.
  public var groupNames: [String] {
    get { groupNamesSource.value }
    set { groupNamesSource = Lazy(fixed: newValue) }
  }
  private var userNameSource: Lazy<String>
  private var homeSource: Lazy<String>
  private var groupNamesSource = Lazy<[String]>(fixed: [])
  /// Whether the process runs with a group other than the caller's (setgid).
  public var isSetgid: Bool
  /// The machine's fully qualified name, for EHLO and Message-ID.
  public var hostName: String { hostNameSource.value }
  private var hostNameSource: Lazy<String>
  /// Seconds since the epoch, and the local zone's offset from UTC in minutes.
  public var now: @Sendable () -> (seconds: Int, zoneOffsetMinutes: Int)
  /// The local zone's offset from UTC in minutes at a time (seconds since the epoch):
  /// another than now's across a daylight-saving change.
  public var zoneOffsetMinutes: @Sendable (Int) -> Int
  /// Fills a buffer with unpredictable bytes.
  public var randomBytes: @Sendable (Int) -> [UInt8]
  /// Whether standard error is a terminal.
  public var stderrIsTerminal: Bool

  public init(
    variables: [String: String], uid: UInt32, gid: UInt32, userName: String, home: String,
    isSetgid: Bool = false, hostName: String,
    now: @escaping @Sendable () -> (seconds: Int, zoneOffsetMinutes: Int),
    zoneOffsetMinutes: (@Sendable (Int) -> Int)? = nil,
    randomBytes: @escaping @Sendable (Int) -> [UInt8], stderrIsTerminal: Bool = false
  ) {
    self.variables = variables
    self.uid = uid
    self.gid = gid
    self.userNameSource = Lazy(fixed: userName)
    self.homeSource = Lazy(fixed: home)
    self.isSetgid = isSetgid
    self.hostNameSource = Lazy(fixed: hostName)
    self.now = now
    self.zoneOffsetMinutes = zoneOffsetMinutes ?? { _ in now().zoneOffsetMinutes }
    self.randomBytes = randomBytes
    self.stderrIsTerminal = stderrIsTerminal
  }

  /// The variables of an `environ`-style list: each entry split at its first "=" byte (a
  /// value may hold more, and may start with a combining mark), entries without one
  /// skipped, the first of a repeated name kept (as getenv(3) and the set-group-ID
  /// start-up do).
  static func variables(from entries: UnsafePointer<UnsafeMutablePointer<CChar>?>) -> [String: String] {
    var count = 0
    while entries[count] != nil { count += 1 }
    var vars: [String: String] = [:]
    vars.reserveCapacity(count)
    for i in 0..<count {
      guard let entry = entries[i], let eq = strchr(entry, 0x3D) else { continue }
      let nameLength = entry.distance(to: eq)
      let name = entry.withMemoryRebound(to: UInt8.self, capacity: nameLength) {
        String(decoding: UnsafeBufferPointer(start: $0, count: nameLength), as: UTF8.self)
      }
      if vars[name] == nil { vars[name] = String(cString: eq + 1) }
    }
    return vars
  }

  /// The real environment of this process.
  public static func current() -> Environment {
    let vars = variables(from: environ)
    let uid = getuid()
    let isSetgid = getegid() != getgid()
    // Under set-group-ID the process environment was rebuilt from an allow-list before
    // main() (CShim's SecureStart.c); what is read here is only what survived that, and
    // commands gsendmail runs get a fixed environment of their own (PasswordSource).
    precondition(!isSetgid || gs_secure_start_state() == 1, "set-group-ID without the secure start-up")
    let nameVariable = vars["USER"] ?? vars["LOGNAME"] ?? ""
    let homeVariable = vars["HOME"] ?? ""
    var environment = Environment(
      variables: vars, uid: uid, gid: getgid(), userName: nameVariable, home: homeVariable, isSetgid: isSetgid,
      hostName: "",
      now: {
        var t = time(nil)
        var parts = tm()
        localtime_r(&t, &parts)
        return (Int(t), Int(parts.tm_gmtoff) / 60)
      },
      zoneOffsetMinutes: { seconds in
        var t = time_t(seconds)
        var parts = tm()
        localtime_r(&t, &parts)
        return Int(parts.tm_gmtoff) / 60
      },
      randomBytes: { count in
        // The system generator reads getrandom(2), one call per 8 bytes drawn.
        var generator = SystemRandomNumberGenerator()
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
          withUnsafeBytes(of: generator.next()) { out += $0.prefix(count - out.count) }
        }
        return out
      },
      stderrIsTerminal: isatty(2) != 0)
    // Looked up only when something needs it (EHLO without `helo`, a Message-ID without a
    // sender domain): the resolver is not free, and most runs never ask.
    environment.hostNameSource = Lazy(lookup: fullyQualifiedHostName)
    // The password database, likewise, only when asked: the user name for a pattern
    // account's sender, the home directory when HOME is unset or cannot be trusted.
    let entry = Lazy<PasswordEntry?>(lookup: { PasswordEntry(uid: uid) })
    // Under setgid the name decides what the sender policy allows: never the caller's USER.
    let fallbackName = isSetgid ? "" : nameVariable
    environment.userNameSource = Lazy(lookup: { entry.value?.name ?? fallbackName })
    let gid = getgid()
    environment.groupNamesSource = Lazy(lookup: { entry.value.map { memberships(user: $0.name, gid: gid) } ?? [] })
    // Under setgid, HOME is the caller's to choose; the password database is not.
    if homeVariable.isEmpty || isSetgid {
      environment.homeSource = Lazy(lookup: { entry.value?.home ?? homeVariable })
    }
    return environment
  }

  /// The host name, made fully qualified through the resolver when it has no dot.
  static func fullyQualifiedHostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
    let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    if name.contains(".") { return name }
    var hints = addrinfo()
    hints.ai_flags = AI_CANONNAME
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var result: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(name, nil, &hints, &result) == 0, let info = result else { return name }
    defer { freeaddrinfo(result) }
    if let canon = info.pointee.ai_canonname {
      let fqdn = String(cString: canon)
      if fqdn.contains(".") { return fqdn }
    }
    return name
  }

  /// `$XDG_CONFIG_HOME`, else `~/.config`.
  public var configHome: String { nonEmpty("XDG_CONFIG_HOME") ?? home + "/.config" }
  /// `$XDG_STATE_HOME`, else `~/.local/state`.
  public var stateHome: String { nonEmpty("XDG_STATE_HOME") ?? home + "/.local/state" }

  package func nonEmpty(_ key: String) -> String? {
    guard let v = variables[key], !v.isEmpty else { return nil }
    return v
  }
}

/// A value fixed, or looked up once on first use.
final class Lazy<Value: Sendable>: Sendable {
  private let state: Mutex<Value?>
  private let lookup: @Sendable () -> Value

  init(fixed: Value) {
    state = Mutex(fixed)
    lookup = { fixed }
  }

  init(lookup: @escaping @Sendable () -> Value) {
    state = Mutex(nil)
    self.lookup = lookup
  }

  var value: Value {
    state.withLock { cached in
      if let cached { return cached }
      let fresh = lookup()
      cached = fresh
      return fresh
    }
  }
}

/// The names of the groups `user` is in (getgrouplist(3): the group database, plus `gid`).
func memberships(user: String, gid: gid_t) -> [String] {
  var count: Int32 = 32
  var ids = [gid_t](repeating: 0, count: Int(count))
  while getgrouplist(user, gid, &ids, &count) < 0 {
    guard count > Int32(ids.count), count <= 65536 else { return [] }
    ids = [gid_t](repeating: 0, count: Int(count))
  }
  var buffer = [CChar](repeating: 0, count: 65536)
  return ids.prefix(Int(count)).compactMap { id in
    // The record's strings point into the buffer: read them while it is pinned.
    buffer.withUnsafeMutableBufferPointer { storage in
      var record = group()
      var found: UnsafeMutablePointer<group>?
      guard let base = storage.baseAddress, getgrgid_r(id, &record, base, storage.count, &found) == 0, found != nil
      else { return nil }
      return String(cString: record.gr_name)
    }
  }
}

/// The login name and home directory of a user in the password database.
struct PasswordEntry: Sendable {
  let name: String
  let home: String

  init?(uid: uid_t) {
    // Directory services can return long entries: the buffer grows until it fits.
    var size = 4096
    while size <= 1 << 20 {
      var buffer = [CChar](repeating: 0, count: size)
      var code: Int32 = 0
      // The record's strings point into the buffer: read them while it is pinned.
      let fields: (String, String)? = buffer.withUnsafeMutableBufferPointer { storage in
        var record = passwd()
        var found: UnsafeMutablePointer<passwd>?
        guard let base = storage.baseAddress else { return nil }
        code = getpwuid_r(uid, &record, base, storage.count, &found)
        guard code == 0, found != nil else { return nil }
        return (String(cString: record.pw_name), String(cString: record.pw_dir))
      }
      if let (name, home) = fields {
        self.name = name
        self.home = home
        return
      }
      switch code {
      case ERANGE: size *= 2
      case EINTR: continue
      default: return nil
      }
    }
    return nil
  }
}

// MARK: - Output

// Where the front end writes: standard output and standard error as plain file
// descriptors (no buffering surprises when the process exits), or a capture for tests.

/// A byte sink.
public protocol OutputSink: AnyObject {
  func write(_ bytes: [UInt8])
}

extension OutputSink {
  /// Writes UTF-8 text.
  public func write(_ text: String) { write(Array(text.utf8)) }
}

/// Writes to a file descriptor, retrying short writes and EINTR.
public final class FileDescriptorSink: OutputSink {
  let fd: Int32
  public init(fd: Int32) { self.fd = fd }
  public func write(_ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return }
      offset += n
    }
  }
}

/// Collects output in memory (tests).
public final class CaptureSink: OutputSink {
  public private(set) var bytes: [UInt8] = []
  public init() {}
  public func write(_ bytes: [UInt8]) { self.bytes += bytes }
  public var text: String { String(decoding: bytes, as: UTF8.self) }
}
