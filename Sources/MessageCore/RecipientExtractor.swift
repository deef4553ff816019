// SPDX-License-Identifier: MIT
// Recipients of `sendmail -t`: To/Cc/Bcc, or the Resent-To/Cc/Bcc of the most recent resent
// block when any Resent- field is present (RFC 5322 §3.6.6), duplicates removed.
// Failure policy: the first malformed address field throws AddressError.inField naming it.

/// Takes the envelope recipients out of header fields.
public enum RecipientExtractor {
  /// The recipients for `-t`, in header order, without duplicates.
  ///
  /// The most recent resent block is the first one in the header (each resender prepends
  /// theirs): the run of consecutive `Resent-*` fields that starts at the first such field,
  /// ended by a field that is not `Resent-*` or by a `Resent-*` name already seen in the run.
  /// - Parameter fields: The header fields in order.
  /// - Returns: The mailboxes; bare local names are included (`Mailbox.isLocal`).
  /// - Throws: `AddressError.inField` for a malformed address field.
  public static func recipients(from fields: [HeaderField]) throws(AddressError) -> [Mailbox] {
    let chosen: [HeaderField]
    let names: [String]
    if let first = fields.firstIndex(where: { $0.nameHasPrefix("Resent-") }) {
      var block: [HeaderField] = []
      var seen: Set<String> = []
      for field in fields[first...] {
        guard field.nameHasPrefix("Resent-"), seen.insert(field.name.lowercased()).inserted
        else { break }
        block.append(field)
      }
      chosen = block
      names = ["Resent-To", "Resent-Cc", "Resent-Bcc"]
    } else {
      chosen = fields
      names = ["To", "Cc", "Bcc"]
    }
    var out: [Mailbox] = []
    for field in chosen where names.contains(where: field.hasName) {
      do {
        out += try AddressParser.parseAddressList(field.rawValue).flatMap(\.mailboxes)
      } catch {
        throw .inField(name: field.name, error)
      }
    }
    return deduplicated(out)
  }

  /// Removes later duplicates (same `Mailbox.deduplicationKey`), keeping the first of each.
  public static func deduplicated(_ mailboxes: [Mailbox]) -> [Mailbox] {
    var seen: Set<String> = []
    return mailboxes.filter { seen.insert($0.deduplicationKey).inserted }
  }
}
