// SPDX-License-Identifier: MIT
// The doctor's checks of the sender domain's DNS (gmail.md §9): SPF, DKIM with Google's
// selector, and DMARC. Skipped for gmail.com and googlemail.com, whose records Google
// keeps. The analysis of the records is pure; only `domainRecordChecks` looks them up.
// Failure policy: a missing or weak record is a warning (mail still goes out, but may be
// filtered); conflicting records, which receivers treat as an error, fail; a look-up
// that fails is a warning that says the record could not be checked.

import GSendmailCore
import GSendmailKit
import Codecs
import Transport

extension Doctor {
  /// SPF, DKIM and DMARC of the account's sender domain; none for Gmail's own domains.
  func domainRecordChecks(_ account: Account, config: Configuration) -> [DoctorCheck] {
    guard let at = account.from.lastIndex(of: "@") else { return [] }
    let domain = account.from[account.from.index(after: at)...].lowercased()
    guard !domain.isEmpty, !["gmail.com", "googlemail.com"].contains(domain) else { return [] }

    var server: DNSServer?
    if let text = environment.nonEmpty(Self.dnsServerVariable) {
      guard let parsed = DNSServer(parsing: text) else {
        return ["spf", "dkim", "dmarc"].map {
          DoctorCheck($0, .fail, "\(Self.dnsServerVariable)=\(text) is not ADDRESS:PORT", fix: "unset it (it is for tests)")
        }
      }
      server = parsed
    }
    // A broken resolver should not hold the report for minutes: at most 10 s per name.
    let timeout = Duration.seconds(min(config.timeout, 10))
    func lookUp(_ name: String, _ check: String, _ analyse: ([String]) -> DoctorCheck) -> DoctorCheck {
      do {
        return analyse(try DNS.txtRecords(name: name, server: server, timeout: timeout))
      } catch {
        return DoctorCheck(check, .warn, "cannot look up TXT at \(name): \(error)", fix: "check this machine's DNS (/etc/resolv.conf)")
      }
    }
    return [
      lookUp(domain, "spf") { records in
        DomainRecords.spf(domain: domain, records: records) { try DNS.txtRecords(name: $0, server: server, timeout: timeout) }
      },
      lookUp("google._domainkey." + domain, "dkim") { DomainRecords.dkim(domain: domain, records: $0) },
      lookUp("_dmarc." + domain, "dmarc") { DomainRecords.dmarc(domain: domain, records: $0) },
    ]
  }
}

/// Judges a domain's published TXT records. Pure.
enum DomainRecords {
  static let googleSPF = "include:_spf.google.com"

  // MARK: SPF (RFC 7208)

  /// Exactly one `v=spf1` record, including `_spf.google.com` (directly or through its
  /// includes), not ending in `+all`, within the 10 DNS look-ups receivers allow.
  /// - Parameter lookUp: The TXT records of a name, to follow `include:` and `redirect=`.
  static func spf(domain: String, records: [String], lookUp: (String) throws -> [String]) -> DoctorCheck {
    let spf = records.filter { startsWithTag($0, "v=spf1", separator: " ") }
    let suggested = "v=spf1 \(googleSPF) ~all"
    switch spf.count {
    case 0:
      return DoctorCheck("spf", .warn, "\(domain) has no SPF record", fix: "publish a TXT record at \(domain): \"\(suggested)\"")
    case 1:
      break
    default:
      return DoctorCheck(
        "spf", .fail, "\(domain) has \(spf.count) SPF records; receivers treat that as an error (RFC 7208 §4.5)",
        fix: "merge them into one TXT record that contains \(googleSPF)")
    }
    let record = spf[0]
    var terms = spfTerms(record)
    let walk = SPFWalk(terms: terms, lookUp: lookUp)
    var problems: [String] = []
    var fixes: [String] = []
    let allIndex = terms.firstIndex { mechanism($0) == "all" }
    if let allIndex, terms[allIndex].first != "-", terms[allIndex].first != "~", terms[allIndex].first != "?" {
      problems.append("it ends in \(terms[allIndex]), which lets any server send as \(domain)")
      terms[allIndex] = "~all"
    }
    if walk.googleVia == nil {
      problems.append("it does not include _spf.google.com, so mail sent through Google can fail SPF")
      // One include, before `all` (terms after `all` are never evaluated).
      terms.removeAll { $0.lowercased() == googleSPF }
      terms.insert(googleSPF, at: terms.firstIndex { mechanism($0) == "all" } ?? terms.endIndex)
    }
    let rewritten = (["v=spf1"] + terms).joined(separator: " ")
    if rewritten != (["v=spf1"] + spfTerms(record)).joined(separator: " ") { fixes.append("publish instead: \"\(rewritten)\"") }
    if !walk.loops.isEmpty {
      problems.append("\(walk.loops.joined(separator: ", ")) includes a record that includes it again, which receivers treat as an error")
      fixes.append("break the include loop")
    }
    if !walk.withoutRecord.isEmpty {
      problems.append("\(walk.withoutRecord.joined(separator: ", ")) has no single SPF record, which receivers treat as an error")
      fixes.append("remove or fix " + walk.withoutRecord.joined(separator: ", "))
    }
    let atLeast = walk.unchecked.isEmpty ? "" : "at least "
    if walk.lookups > SPFWalk.limit {
      problems.append(
        "it needs \(atLeast)\(walk.lookups) DNS look-ups (include, a, mx, ptr, exists, redirect, nested ones counted), more than the \(SPFWalk.limit) receivers allow (RFC 7208 §4.6.4)")
      fixes.append("bring the look-ups down to \(SPFWalk.limit): drop includes no longer used, or list their addresses (ip4:, ip6:) instead")
    }
    if !walk.unchecked.isEmpty {
      problems.append(
        "\(walk.unchecked.joined(separator: ", ")) could not be looked up, so the record could not be checked whole (DNS look-ups counted so far: \(walk.lookups))")
      fixes.append("run the doctor again when DNS answers")
    }
    if problems.isEmpty {
      let via = walk.googleVia.flatMap { $0.isEmpty ? nil : " (_spf.google.com through \($0))" } ?? ""
      return DoctorCheck("spf", .ok, "\(domain): \"\(record)\"\(via), \(walk.lookups) DNS look-ups")
    }
    return DoctorCheck(
      "spf", .warn, "\(domain): \"\(record)\": " + problems.joined(separator: "; "), fix: fixes.joined(separator: "; "))
  }

  /// The terms after `v=spf1`.
  static func spfTerms(_ record: String) -> [String] {
    record.split(separator: " ").dropFirst().map(String.init)
  }

  /// A term's mechanism or modifier name, lower-cased, without its qualifier and argument.
  static func mechanism(_ term: String) -> String {
    var lower = Substring(term.lowercased())
    if let first = lower.first, "+-~?".contains(first) { lower = lower.dropFirst() }
    return String(lower.prefix { $0 != ":" && $0 != "/" && $0 != "=" })
  }

  /// The terms a receiver evaluates: mechanisms up to the first `all` (it always matches),
  /// and `redirect=` only when there is no `all` (RFC 7208 §6.1).
  static func evaluatedTerms(_ terms: [String]) -> [String] {
    guard let all = terms.firstIndex(where: { mechanism($0) == "all" }) else { return terms }
    return terms[...all].filter { mechanism($0) != "redirect" }
  }

  /// An SPF record's include/redirect tree as a receiver evaluates it: whether it reaches
  /// `_spf.google.com`, and how many DNS look-ups it costs (RFC 7208 §4.6.4), every
  /// evaluation of a record counted, as receivers count them.
  struct SPFWalk {
    /// Receivers stop after this many DNS-querying terms, with a permanent error.
    static let limit = 10
    /// At most this many records are fetched (a receiver gives up long before).
    static let maximumFetches = 30
    static let lookUpTerms: Set<String> = ["include", "a", "mx", "ptr", "exists", "redirect"]

    /// Empty when the record includes `_spf.google.com` itself; else the top-level term it
    /// is reached through; nil when it is not reached.
    var googleVia: String?
    /// The DNS-querying terms evaluated, nested ones included.
    var lookups = 0
    /// Terms whose target has no SPF record, or several.
    var withoutRecord: [String] = []
    /// Terms whose target could not be looked up (or was not, after one failed).
    var unchecked: [String] = []
    /// Terms that include a record already being evaluated.
    var loops: [String] = []

    private var subtrees: [String: (lookups: Int, google: Bool)] = [:]
    private var fetches = 0
    private var resolverFailed = false

    init(terms: [String], lookUp: (String) throws -> [String]) {
      lookups = evaluate(terms, within: [], lookUp: lookUp).lookups
    }

    /// The look-ups of a record's terms and whether Google's record is among what they
    /// include; `within` are the records being evaluated around it (for loops).
    private mutating func evaluate(
      _ terms: [String], within: [String], lookUp: (String) throws -> [String]
    ) -> (lookups: Int, google: Bool) {
      var count = 0
      var google = false
      for term in DomainRecords.evaluatedTerms(terms) {
        let name = DomainRecords.mechanism(term)
        guard Self.lookUpTerms.contains(name) else { continue }
        count += 1
        guard name == "include" || name == "redirect",
          let separator = term.firstIndex(where: { $0 == ":" || $0 == "=" })
        else { continue }
        let target = term[term.index(after: separator)...].lowercased()
        let direct = target == "_spf.google.com"
        if direct {
          google = true
          if within.isEmpty { googleVia = "" }
        }
        // A macro (%{…}) depends on the message being checked.
        if target.contains("%") { continue }
        if within.contains(target) {
          loops.append(term)
          continue
        }
        let subtree: (lookups: Int, google: Bool)
        if let known = subtrees[target] {
          subtree = known
        } else {
          // After one look-up fails (a timeout, most likely), the others are not tried:
          // the report must not wait for each of them in turn.
          guard !resolverFailed, fetches < Self.maximumFetches else {
            unchecked.append(term)
            continue
          }
          fetches += 1
          let records: [String]
          do {
            records = try lookUp(target).filter { DomainRecords.startsWithTag($0, "v=spf1", separator: " ") }
          } catch {
            unchecked.append(term)
            resolverFailed = true
            continue
          }
          guard records.count == 1 else {
            withoutRecord.append(term)
            subtrees[target] = (0, false)
            continue
          }
          subtree = evaluate(DomainRecords.spfTerms(records[0]), within: within + [target], lookUp: lookUp)
          subtrees[target] = subtree
        }
        count += subtree.lookups
        if subtree.google {
          google = true
          if within.isEmpty && googleVia == nil && !direct { googleVia = term }
        }
      }
      return (count, google)
    }
  }

  // MARK: DKIM (RFC 6376)

  /// A key record at Google's default selector: `v=DKIM1` and a non-empty `p=`.
  static func dkim(domain: String, records: [String]) -> DoctorCheck {
    let name = "google._domainkey.\(domain)"
    let fix = "in the Google Admin console (Apps > Google Workspace > Gmail > Authenticate email), "
      + "generate a 2048-bit key, publish it at \(name), and start authentication"
    guard !records.isEmpty else {
      return DoctorCheck("dkim", .warn, "no DKIM key at \(name)", fix: fix)
    }
    let keys = records.map(tags)
    guard let key = keys.first(where: { $0["v"] == "DKIM1" }) else {
      return DoctorCheck("dkim", .warn, "the TXT record at \(name) is not a DKIM key (no v=DKIM1)", fix: fix)
    }
    let p = key["p", default: ""].filter { $0 != " " }
    guard !p.isEmpty else {
      return DoctorCheck("dkim", .warn, "the DKIM key at \(name) is revoked (empty p=)", fix: fix)
    }
    guard let der = Base64.decode(p) else {
      return DoctorCheck("dkim", .warn, "the DKIM key at \(name) is not valid base64", fix: fix)
    }
    let type = key["k", default: "rsa"].lowercased()
    guard type == "rsa" else { return DoctorCheck("dkim", .ok, "\(name): \(type) key") }
    // An RSA SubjectPublicKeyInfo is the modulus plus 34 to 38 bytes of DER.
    let bits = Int((Double(der.count - 36) / 32).rounded()) * 256
    if bits < 1024 {
      return DoctorCheck("dkim", .warn, "\(name): RSA key of about \(bits) bits, too short", fix: fix)
    }
    return DoctorCheck("dkim", .ok, "\(name): RSA key of about \(bits) bits")
  }

  // MARK: DMARC (RFC 7489)

  /// Exactly one `v=DMARC1` record at `_dmarc.DOMAIN`; its policy is reported.
  static func dmarc(domain: String, records: [String]) -> DoctorCheck {
    let name = "_dmarc.\(domain)"
    let dmarc = records.filter { startsWithTag($0, "v=DMARC1", separator: ";") }
    switch dmarc.count {
    case 0:
      return DoctorCheck(
        "dmarc", .warn, "no DMARC record at \(name); Gmail and Yahoo require one from bulk senders",
        fix: "publish a TXT record at \(name): \"v=DMARC1; p=none; rua=mailto:postmaster@\(domain)\"")
    case 1:
      break
    default:
      return DoctorCheck(
        "dmarc", .fail, "\(name) has \(dmarc.count) DMARC records; receivers then apply none (RFC 7489 §6.6.3)",
        fix: "keep one v=DMARC1 record")
    }
    guard let policy = tags(dmarc[0])["p"], !policy.isEmpty else {
      return DoctorCheck("dmarc", .warn, "\(name) has no p= policy", fix: "add p=none (or quarantine, or reject) to \"\(dmarc[0])\"")
    }
    return DoctorCheck("dmarc", .ok, "\(name): p=\(policy)" + (policy.lowercased() == "none" ? " (monitoring only)" : ""))
  }

  // MARK: Tag lists

  /// Whether a record starts with `tag` (any case), alone or followed by `separator`.
  static func startsWithTag(_ record: String, _ tag: String, separator: Character) -> Bool {
    let lower = record.lowercased().drop { $0 == " " }
    guard lower.hasPrefix(tag.lowercased()) else { return false }
    let rest = lower.dropFirst(tag.count)
    return rest.isEmpty || rest.first == separator || rest.drop { $0 == " " }.first == separator
  }

  /// `k=v; k=v` tags (RFC 6376 §3.2): names lower-cased, values trimmed; the first of a
  /// repeated name wins.
  static func tags(_ record: String) -> [String: String] {
    var out: [String: String] = [:]
    for part in record.split(separator: ";") {
      guard let eq = part.firstIndex(of: "=") else { continue }
      let key = part[..<eq].trimmingSpaces.lowercased()
      if out[key] == nil { out[key] = String(part[part.index(after: eq)...].trimmingSpaces) }
    }
    return out
  }
}

extension Substring {
  /// Without leading and trailing spaces and tabs.
  fileprivate var trimmingSpaces: Substring {
    var trimmed = self
    while let first = trimmed.first, first == " " || first == "\t" { trimmed = trimmed.dropFirst() }
    while let last = trimmed.last, last == " " || last == "\t" { trimmed = trimmed.dropLast() }
    return trimmed
  }
}
