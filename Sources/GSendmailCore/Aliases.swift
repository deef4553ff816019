// SPDX-License-Identifier: MIT
// The aliases file (aliases(5) subset): `name: target, target` lines, `#`
// comments, continuation lines that start with white space. Targets are mail
// addresses or other names; pipes, files and :include: are local delivery,
// which gsendmail does not do, so they are refused when a name reaches them.
// Names compare without regard to case. Pure: the caller reads the file.

/// A problem resolving a local name.
public enum AliasError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A line of the aliases file is malformed.
  case syntax(path: String, line: Int, message: String)
  /// Names that expand to themselves.
  case loop([String])
  /// A name expands to a pipe, file or :include: target.
  case localDelivery(name: String, target: String)
  /// A local name with no alias, no `local_recipient`, and no account address to go to.
  case unresolved(String)

  public var description: String {
    switch self {
    case .syntax(let path, let line, let message): return "\(path):\(line): \(message)"
    case .loop(let chain): return "alias loop: \(chain.joined(separator: " -> "))"
    case .localDelivery(let name, let target):
      return "alias \(name) expands to \(target), but gsendmail delivers no mail locally"
    case .unresolved(let name):
      return "local recipient '\(name)' has no alias and no address to go to; "
        + "add it to the aliases file or set local_recipient"
    }
  }
}

/// A parsed aliases file.
public struct AliasTable: Equatable, Sendable {
  /// Lower-cased name → targets, in file order.
  public private(set) var entries: [String: [String]] = [:]

  public init() {}

  /// Parses an aliases file.
  /// - Throws: `AliasError.syntax` naming the line.
  public init(parsing text: String, path: String) throws(AliasError) {
    var logical: [(line: Int, text: String)] = []
    for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
      if line.first == "#" { continue }
      if line.trimmingSpaces().isEmpty { continue }
      if line.first == " " || line.first == "\t" {
        guard !logical.isEmpty else {
          throw .syntax(path: path, line: index + 1, message: "continuation line without an alias before it")
        }
        logical[logical.count - 1].text += " " + line.trimmingSpaces()
      } else {
        logical.append((index + 1, String(line)))
      }
    }
    for (lineNumber, line) in logical {
      guard let colon = line.firstIndex(of: ":") else {
        throw .syntax(path: path, line: lineNumber, message: "expected 'name: address, ...'")
      }
      let name = line[..<colon].trimmingSpaces().lowercased()
      guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "\t" }) else {
        throw .syntax(path: path, line: lineNumber, message: "bad alias name '\(name)'")
      }
      let targets = Self.splitTargets(String(line[line.index(after: colon)...]))
      guard !targets.isEmpty else {
        throw .syntax(path: path, line: lineNumber, message: "alias \(name) has no target")
      }
      entries[name, default: []].append(contentsOf: targets)
    }
  }

  /// Splits on commas outside quotes, trimming white space and dropping empties.
  package static func splitTargets(_ text: String) -> [String] {
    var out: [String] = []
    var current = ""
    var quoted = false
    for c in text {
      if c == "\"" { quoted.toggle() }
      if c == "," && !quoted {
        out.append(current.trimmingSpaces())
        current = ""
      } else {
        current.append(c)
      }
    }
    out.append(current.trimmingSpaces())
    return out.filter { !$0.isEmpty }
  }

  /// One resolved target.
  public enum Target: Equatable, Sendable {
    /// A mail address (it contains `@`).
    case address(String)
    /// A local name that has no alias.
    case unresolved(String)
  }

  /// Expands a local name through the table, depth first, detecting loops.
  /// - Returns: The targets, duplicates removed, in order of appearance.
  public func resolve(_ name: String) throws(AliasError) -> [Target] {
    var out: [Target] = []
    try expand(name, chain: [], into: &out)
    var seen: [Target] = []
    for t in out where !seen.contains(t) { seen.append(t) }
    return seen
  }

  private func expand(_ name: String, chain: [String], into out: inout [Target]) throws(AliasError) {
    let key = name.lowercased()
    if chain.contains(key) { throw .loop(chain + [key]) }
    guard let targets = entries[key] else {
      out.append(.unresolved(name))
      return
    }
    for target in targets {
      var t = target
      if t.hasPrefix("<") && t.hasSuffix(">") { t = String(t.dropFirst().dropLast()) }
      if t.hasPrefix("|") || t.hasPrefix("/") || t.lowercased().hasPrefix(":include:") || t.hasPrefix("\"|") {
        throw .localDelivery(name: key, target: t)
      }
      if t.contains("@") {
        out.append(.address(t))
      } else if t.hasPrefix("\\") {
        // `\name` stops expansion in sendmail; it is a local mailbox, which we cannot reach.
        out.append(.unresolved(String(t.dropFirst())))
      } else {
        try expand(t, chain: chain + [key], into: &out)
      }
    }
  }

  /// Checks every name for loops and local-delivery targets (`-bi`, `newaliases`).
  public func check() throws(AliasError) {
    for name in entries.keys.sorted() {
      do { _ = try resolve(name) } catch let error {
        if case .localDelivery = error { continue }  // only fatal when mail is sent to it
        throw error
      }
    }
  }
}
