// SPDX-License-Identifier: MIT
// Everything gsendmail takes from the world other than files and sockets: the
// environment variables, who is running it, the clock, the host name and
// randomness. Tests build one by hand to pin them.

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
  public var userName: String
  public var home: String
  /// Whether the process runs with a group other than the caller's (setgid).
  public var isSetgid: Bool
  /// The machine's fully qualified name, for EHLO and Message-ID.
  public var hostName: String { hostNameSource.value }
  private var hostNameSource: HostName
  /// Seconds since the epoch, and the local zone's offset from UTC in minutes.
  public var now: @Sendable () -> (seconds: Int, zoneOffsetMinutes: Int)
  /// Fills a buffer with unpredictable bytes.
  public var randomBytes: @Sendable (Int) -> [UInt8]
  /// Whether standard error is a terminal.
  public var stderrIsTerminal: Bool

  public init(
    variables: [String: String], uid: UInt32, gid: UInt32, userName: String, home: String,
    isSetgid: Bool = false, hostName: String,
    now: @escaping @Sendable () -> (seconds: Int, zoneOffsetMinutes: Int),
    randomBytes: @escaping @Sendable (Int) -> [UInt8], stderrIsTerminal: Bool = false
  ) {
    self.variables = variables
    self.uid = uid
    self.gid = gid
    self.userName = userName
    self.home = home
    self.isSetgid = isSetgid
    self.hostNameSource = HostName(fixed: hostName)
    self.now = now
    self.randomBytes = randomBytes
    self.stderrIsTerminal = stderrIsTerminal
  }

  /// The real environment of this process.
  public static func current() -> Environment {
    var vars: [String: String] = [:]
    var p = environ
    while let entry = p.pointee {
      let s = String(cString: entry)
      if let eq = s.firstIndex(of: "=") { vars[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
      p += 1
    }
    let uid = getuid()
    let isSetgid = getegid() != getgid()
    var name = vars["USER"] ?? vars["LOGNAME"] ?? ""
    var home = vars["HOME"] ?? ""
    if let pw = getpwuid(uid) {
      name = String(cString: pw.pointee.pw_name)
      // Under setgid, HOME is the caller's to choose; the password database is not.
      if home.isEmpty || isSetgid { home = String(cString: pw.pointee.pw_dir) }
    }
    if isSetgid {
      // Environment that could redirect a setgid program is ignored (SPEC §5). The dynamic
      // loader already ignores LD_* in secure mode; this keeps such variables out of what
      // gsendmail itself reads, and commands it runs get a fixed environment
      // (PasswordSource).
      for key in vars.keys where key.hasPrefix("LD_") || ["TMPDIR", "GCONV_PATH", "LOCALDOMAIN", "HOSTALIASES", "RES_OPTIONS", "NLSPATH"].contains(key) {
        vars[key] = nil
      }
    }
    var environment = Environment(
      variables: vars, uid: uid, gid: getgid(), userName: name, home: home, isSetgid: isSetgid,
      hostName: "",
      now: {
        var t = time(nil)
        var parts = tm()
        localtime_r(&t, &parts)
        return (Int(t), Int(parts.tm_gmtoff) / 60)
      },
      randomBytes: { count in
        // The system generator reads getrandom(2).
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
      },
      stderrIsTerminal: isatty(2) != 0)
    // Looked up only when something needs it (EHLO without `helo`, a Message-ID without a
    // sender domain): the resolver is not free, and most runs never ask.
    environment.hostNameSource = HostName(lookup: fullyQualifiedHostName)
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

  func nonEmpty(_ key: String) -> String? {
    guard let v = variables[key], !v.isEmpty else { return nil }
    return v
  }
}

/// The host name, fixed or looked up once on first use.
final class HostName: Sendable {
  private let state: Mutex<String?>
  private let lookup: @Sendable () -> String

  init(fixed: String) {
    state = Mutex(fixed)
    lookup = { fixed }
  }

  init(lookup: @escaping @Sendable () -> String) {
    state = Mutex(nil)
    self.lookup = lookup
  }

  var value: String {
    state.withLock { cached in
      if let cached { return cached }
      let name = lookup()
      cached = name
      return name
    }
  }
}
