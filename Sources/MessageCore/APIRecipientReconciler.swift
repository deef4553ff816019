// SPDX-License-Identifier: MIT
// Makes the header of a message uploaded to the Gmail API name exactly its envelope
// recipients. The API has no envelope: it delivers to the addresses in To, Cc and Bcc
// of the uploaded message (and removes Bcc from what the recipients get). So:
// - a bare local name in To or Cc that the envelope resolved (cron's `To: root`) is
//   rewritten to the addresses it was delivered to;
// - envelope recipients that To and Cc do not name go into one new Bcc field;
// - a To or Cc address outside the envelope (possible without `-t`) cannot be sent
//   faithfully: the message is refused, naming the address.
// The input is the prepared header, from which any Bcc of the original was already
// removed (RFC 5322 §3.6.3: it is not passed on); recipients it named are in the envelope
// when sendmail was asked to deliver to them (`-t` or arguments), and only then.
// Resent- fields are not recipient fields for the API: a resent message whose To or Cc
// names the original recipients is refused as any other mismatch. Pure.

/// Builds the header to upload to `users.messages.send`.
public enum APIRecipientReconciler {
  /// Why the header cannot be made to agree with the envelope.
  public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
    /// The field names an address the envelope does not include.
    case notInEnvelope(field: String, address: String)
    /// The field names a local name that does not resolve to envelope recipients.
    case unresolvedLocalName(field: String, name: String)
    /// The field cannot be parsed as an address list.
    case malformed(field: String, AddressError)

    public var description: String {
      switch self {
      case .notInEnvelope(let field, let address):
        return "the \(field): header names \(address), which is not an envelope recipient; the Gmail API "
          + "delivers to the header's addresses, so the message cannot be sent as addressed "
          + "(use -t, or give every header recipient on the command line)"
      case .unresolvedLocalName(let field, let name):
        return "the \(field): header names the local name \(name), which is not one of the envelope's "
          + "recipients; the Gmail API delivers to the header's addresses"
      case .malformed(let field, _):
        return "the \(field): header is not a valid address list"
      }
    }
  }

  /// The names of the fields the API reads recipients from and that stay visible.
  static let visibleRecipientFields = ["To", "Cc"]

  /// The bare local names in To and Cc, without duplicates, in order: what the caller
  /// resolves (aliases, `local_recipient`) before calling `reconcile`.
  /// - Throws: `Refusal.malformed`.
  public static func localNames(in fields: [HeaderField]) throws(Refusal) -> [String] {
    var names: [String] = []
    for field in fields where visibleRecipientFields.contains(where: field.hasName) {
      for mailbox in try addresses(of: field).flatMap(\.mailboxes) where mailbox.isLocal && !names.contains(mailbox.localPart) {
        names.append(mailbox.localPart)
      }
    }
    return names
  }

  /// The header to upload.
  /// - Parameters:
  ///   - fields: The prepared header's fields (no Bcc).
  ///   - envelope: The envelope recipients as addr-specs.
  ///   - localNames: Each bare local name of To and Cc → the addresses it resolved to.
  /// - Returns: The header section, CRLF line ends, ending with the empty line.
  /// - Throws: `Refusal`.
  public static func reconcile(_ fields: [HeaderField], envelope: [String], localNames: [String: [String]])
    throws(Refusal) -> [UInt8]
  {
    var envelopeKeys: Set<String> = []
    for address in envelope { envelopeKeys.insert(key(address)) }
    var covered: Set<String> = []
    var out: [UInt8] = []
    for field in fields {
      guard visibleRecipientFields.contains(where: field.hasName) else {
        if !field.hasName("Bcc") { out += field.wireBytes }
        continue
      }
      let addresses = try addresses(of: field)
      var rewritten = false
      var rendered: [String] = []
      for address in addresses {
        var members: [String] = []
        for mailbox in address.mailboxes {
          guard mailbox.isLocal else {
            let address = key(mailbox.addrSpec)
            guard envelopeKeys.contains(address) else {
              throw .notInEnvelope(field: field.name, address: mailbox.addrSpec)
            }
            covered.insert(address)
            members.append(render(mailbox))
            continue
          }
          guard let targets = localNames[mailbox.localPart], !targets.isEmpty,
            targets.allSatisfy({ envelopeKeys.contains(key($0)) })
          else { throw .unresolvedLocalName(field: field.name, name: mailbox.localPart) }
          rewritten = true
          for target in targets {
            covered.insert(key(target))
            members.append(render(Mailbox(displayName: mailbox.displayName, localPart: "", domain: nil), as: target))
          }
        }
        switch address {
        case .mailbox: rendered += members
        case .group(let name, _): rendered.append("\(name): \(members.joined(separator: ", "));")
        }
      }
      out += rewritten ? listField(field.name, rendered).wireBytes : field.wireBytes
    }
    var seen: Set<String> = []
    let hidden = envelope.filter { !covered.contains(key($0)) && seen.insert(key($0)).inserted }
    if !hidden.isEmpty { out += listField("Bcc", hidden).wireBytes }
    out += ASCII.crlf
    return out
  }

  /// The addresses of one address field.
  private static func addresses(of field: HeaderField) throws(Refusal) -> [Address] {
    do {
      return try AddressParser.parseAddressList(field.rawValue)
    } catch {
      throw .malformed(field: field.name, error)
    }
  }

  /// Compares addresses as Gmail does: case-insensitively.
  private static func key(_ addrSpec: String) -> String { addrSpec.lowercased() }

  /// `Name <addr>` with the display name quoted when it is not plain atoms, or `addr`.
  private static func render(_ mailbox: Mailbox, as addrSpec: String? = nil) -> String {
    let address = addrSpec ?? mailbox.addrSpec
    guard let name = mailbox.displayName, !name.isEmpty else { return address }
    return "\(HeaderPreparer.phrase(name)) <\(address)>"
  }

  /// `Name: a, b, …`, one address per continuation line so no line grows long.
  private static func listField(_ name: String, _ items: [String]) -> HeaderField {
    var lines: [[UInt8]] = []
    for (i, item) in items.enumerated() {
      let text = (i == 0 ? "\(name): " : " ") + item + (i == items.count - 1 ? "" : ",")
      lines.append(Array(text.utf8))
    }
    if lines.isEmpty { lines = [Array("\(name):".utf8)] }
    return HeaderField(name: name, physicalLines: lines)
  }
}
