// SPDX-License-Identifier: MIT
// The doctor's report as text: a heading per section, one line per check with the fix
// under it, and a closing summary. Pure; the doctor prints these pieces as the checks
// complete, and `render` puts the same pieces together.

/// Formats doctor results.
public enum DoctorReport {
  /// The whole report for finished sections.
  public static func render(_ sections: [DoctorSection]) -> String {
    var out = ""
    for (index, section) in sections.enumerated() {
      out += heading(section.title, first: index == 0)
      for check in section.checks { out += line(check) }
    }
    return out + summary(sections)
  }

  /// A section's heading, after an empty line unless it is the first.
  public static func heading(_ title: String, first: Bool) -> String {
    (first ? "" : "\n") + title + "\n"
  }

  /// `  ok    name: detail`, and for a fix, `        fix: …` under it.
  public static func line(_ check: DoctorCheck) -> String {
    let status = check.status.rawValue
    var out = "  " + status + String(repeating: " ", count: max(1, 6 - status.count)) + check.name + ": " + check.detail + "\n"
    if let fix = check.fix { out += "        fix: " + fix + "\n" }
    return out
  }

  /// The closing line: how many checks failed, warned and were skipped.
  public static func summary(_ sections: [DoctorSection]) -> String {
    let checks = sections.flatMap(\.checks)
    func count(_ status: DoctorCheck.Status) -> Int { checks.filter { $0.status == status }.count }
    let failed = count(.fail), warned = count(.warn), skipped = count(.skip)
    var parts = ["\(failed) failed", "\(warned) warning\(warned == 1 ? "" : "s")"]
    if skipped > 0 { parts.append("\(skipped) skipped") }
    return "\n" + (failed == 0 ? "ok: " : "FAILED: ") + "\(checks.count) check\(checks.count == 1 ? "" : "s"), " + parts.joined(separator: ", ") + "\n"
  }

  /// Whether any check failed (`gsendmailctl doctor` then exits 1).
  public static func failed(_ sections: [DoctorSection]) -> Bool {
    sections.contains { $0.checks.contains { $0.status == .fail } }
  }
}
