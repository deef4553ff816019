// SPDX-License-Identifier: MIT
// DNS look-ups for `gsendmailctl doctor`: the addresses of a host (getaddrinfo, as a
// connection would resolve it) and the TXT records of a name (glibc's stub resolver
// through CShim, the reply parsed here). Only the doctor uses this; sending mail never
// looks up TXT records.
// Failure policy: a name that does not exist, or has no record of the type, is an empty
// answer, not an error; a server failure, no reply in time, a malformed reply or a
// resolver that cannot be set up throws a `DNSError`.

import CShim

#if canImport(Glibc)
  import Glibc
#endif

/// Why a DNS look-up has no answer to give.
public enum DNSError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The name is empty, too long, or holds a NUL.
  case invalidName(String)
  /// The resolver could not be set up (`res_ninit` failed: no usable resolv.conf).
  case resolverUnavailable
  /// The server answered SERVFAIL or REFUSED, or no answer came in time.
  case serverFailure(name: String)
  /// The server refused the query for good (FORMERR, NOTIMP) or another resolver error.
  case queryFailed(name: String, detail: String)
  /// The reply could not be parsed.
  case malformedReply(name: String, detail: String)
  /// getaddrinfo failed for the host.
  case resolve(host: String, detail: String)

  /// One line saying what happened.
  public var description: String {
    switch self {
    case .invalidName(let name): return "invalid DNS name '\(name)'"
    case .resolverUnavailable: return "the DNS resolver cannot be set up (check /etc/resolv.conf)"
    case .serverFailure(let name): return "no answer for \(name): the name server failed or did not reply in time"
    case .queryFailed(let name, let detail): return "DNS query for \(name) failed: \(detail)"
    case .malformedReply(let name, let detail): return "malformed DNS reply for \(name): \(detail)"
    case .resolve(let host, let detail): return "cannot resolve \(host): \(detail)"
    }
  }
}

/// A name server to ask in place of the system's (tests point this at a local server).
public struct DNSServer: Equatable, Sendable, CustomStringConvertible {
  /// An IPv4 address.
  public var address: String
  /// The UDP (and TCP) port.
  public var port: UInt16

  /// A server at `address` (IPv4) and `port`.
  public init(address: String, port: UInt16) {
    self.address = address
    self.port = port
  }

  /// Reads `ADDRESS:PORT` (IPv4); nil when it is not that.
  public init?(parsing text: String) {
    guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0
    else { return nil }
    let address = String(text[..<colon])
    var parsed = in_addr()
    guard inet_pton(AF_INET, address, &parsed) == 1 else { return nil }
    self.init(address: address, port: port)
  }

  /// `ADDRESS:PORT`.
  public var description: String { "\(address):\(port)" }
}

/// DNS look-ups.
public enum DNS {
  /// The TXT records at `name`, each one's character-strings joined (RFC 7208 §3.3,
  /// RFC 6376 §3.6.2.2), in the order received. Bytes that are not UTF-8 are replaced.
  /// - Parameters:
  ///   - name: A domain name; it is asked as given (no search list).
  ///   - server: The name server to ask; nil for the system's (/etc/resolv.conf).
  ///   - timeout: About how long to wait for an answer (two tries; at least 1 s each).
  /// - Returns: The records; empty when the name does not exist (NXDOMAIN) or has no TXT.
  /// - Throws: `DNSError`.
  public static func txtRecords(name: String, server: DNSServer? = nil, timeout: Duration = .seconds(5))
    throws(DNSError) -> [String]
  {
    let reply = try query(name: name, type: DNSReply.typeTXT, server: server, timeout: timeout)
    guard let reply else { return [] }
    do {
      return try DNSReply.txtRecords(reply).map { String(decoding: $0, as: UTF8.self) }
    } catch {
      throw .malformedReply(name: name, detail: error.detail)
    }
  }

  /// The addresses of `host` as a TCP connection would try them, as text
  /// (`192.0.2.1`, `2001:db8::1`), duplicates removed.
  /// - Throws: `DNSError.resolve`.
  public static func addresses(of host: String) throws(DNSError) -> [String] {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    let rc = getaddrinfo(host, nil, &hints, &list)
    guard rc == 0 else {
      let detail = rc == EAI_SYSTEM ? errorText(errno) : String(cString: gai_strerror(rc))
      throw .resolve(host: host, detail: detail)
    }
    defer { freeaddrinfo(list) }
    var out: [String] = []
    var entry = list
    while let info = entry?.pointee {
      entry = info.ai_next
      guard let address = info.ai_addr else { continue }
      var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
      let ok: Bool
      switch info.ai_family {
      case AF_INET:
        ok = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
          var a = sin.pointee.sin_addr
          return inet_ntop(AF_INET, &a, &text, socklen_t(text.count)) != nil
        }
      case AF_INET6:
        ok = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
          var a = sin6.pointee.sin6_addr
          return inet_ntop(AF_INET6, &a, &text, socklen_t(text.count)) != nil
        }
      default:
        ok = false
      }
      let string = string(fromCString: text)
      if ok && !out.contains(string) { out.append(string) }
    }
    return out
  }

  /// Sends one query; the raw reply, or nil for NXDOMAIN and NODATA.
  private static func query(name: String, type: UInt16, server: DNSServer?, timeout: Duration)
    throws(DNSError) -> [UInt8]?
  {
    guard !name.isEmpty, name.utf8.count <= 253, !name.utf8.contains(0) else { throw .invalidName(name) }
    var answer = [UInt8](repeating: 0, count: 65535)
    var hError: Int32 = 0
    let seconds = Int32(clamping: max(1, timeout.components.seconds))
    let n = answer.withUnsafeMutableBufferPointer { buffer in
      gs_dns_query(
        name, Int32(type), server?.address, Int32(server?.port ?? 0), seconds, buffer.baseAddress,
        Int32(buffer.count), &hError)
    }
    switch n {
    case GS_DNS_INIT.rawValue: throw .resolverUnavailable
    case GS_DNS_BAD_SERVER.rawValue: throw .queryFailed(name: name, detail: "bad name server address")
    case GS_DNS_NO_ANSWER.rawValue:
      switch hError {
      case HOST_NOT_FOUND, NO_DATA: return nil
      case TRY_AGAIN: throw .serverFailure(name: name)
      default: throw .queryFailed(name: name, detail: String(cString: hstrerror(hError)))
      }
    default:
      return Array(answer[0..<Int(max(0, n))])
    }
  }
}

/// Reads the answer section of a DNS reply (RFC 1035 §4.1). Pure; every read is bounds
/// checked, and compression pointers are skipped, never followed (only the answer
/// records' types and data are needed).
enum DNSReply {
  static let typeTXT: UInt16 = 16

  /// A reply that cannot be read.
  struct Malformed: Error, Equatable {
    var detail: String
  }

  /// The TXT records of the answer section (other records, such as a CNAME in front of
  /// them, are skipped), each as its character-strings joined.
  /// - Throws: `Malformed` when the reply is cut short or inconsistent.
  static func txtRecords(_ reply: [UInt8]) throws(Malformed) -> [[UInt8]] {
    var reader = Reader(bytes: reply)
    _ = try reader.u16()  // id
    let flags = try reader.u16()
    guard flags & 0x8000 != 0 else { throw Malformed(detail: "not a response") }
    guard flags & 0x0200 == 0 else { throw Malformed(detail: "truncated") }
    let questions = try reader.u16()
    let answers = try reader.u16()
    _ = try reader.u16()  // authority
    _ = try reader.u16()  // additional
    for _ in 0..<questions {
      try reader.skipName()
      try reader.skip(4)  // type, class
    }
    var records: [[UInt8]] = []
    for _ in 0..<answers {
      try reader.skipName()
      let type = try reader.u16()
      _ = try reader.u16()  // class
      try reader.skip(4)  // TTL
      let length = Int(try reader.u16())
      let data = try reader.take(length)
      guard type == typeTXT else { continue }
      records.append(try joinedStrings(data))
    }
    return records
  }

  /// TXT RDATA: one or more <length><bytes> character-strings, joined.
  static func joinedStrings(_ data: ArraySlice<UInt8>) throws(Malformed) -> [UInt8] {
    var out: [UInt8] = []
    var index = data.startIndex
    while index < data.endIndex {
      let length = Int(data[index])
      index += 1
      guard data.endIndex - index >= length else { throw Malformed(detail: "TXT string overruns its record") }
      out += data[index..<index + length]
      index += length
    }
    return out
  }

  struct Reader {
    var bytes: [UInt8]
    var offset = 0

    mutating func take(_ count: Int) throws(Malformed) -> ArraySlice<UInt8> {
      guard count >= 0, bytes.count - offset >= count else { throw Malformed(detail: "cut short at byte \(offset)") }
      defer { offset += count }
      return bytes[offset..<offset + count]
    }

    mutating func skip(_ count: Int) throws(Malformed) { _ = try take(count) }

    mutating func u16() throws(Malformed) -> UInt16 {
      let two = try take(2)
      return UInt16(two[two.startIndex]) << 8 | UInt16(two[two.startIndex + 1])
    }

    /// Skips a domain name: labels up to the root label, or up to a compression pointer.
    mutating func skipName() throws(Malformed) {
      var total = 0
      while true {
        let byte = try take(1)
        let length = Int(byte[byte.startIndex])
        switch length & 0xC0 {
        case 0xC0:
          try skip(1)
          return
        case 0x00:
          if length == 0 { return }
          total += length + 1
          guard total <= 255 else { throw Malformed(detail: "name longer than 255 bytes") }
          try skip(length)
        default:
          throw Malformed(detail: "unknown label type")
        }
      }
    }
  }
}
