// SPDX-License-Identifier: MIT
// Where an account's token cache lives and with which modes (docs/design.md, "Token cache"): per user
// `$XDG_STATE_HOME/gsendmail/tokens/` (directory 0700, files 0600), or the system's
// `/var/lib/gsendmail/tokens/` (directory 2770 root:gsendmail, files 0660). Pure data.

/// A token cache directory and the modes of what is created in it.
public struct TokenCacheLocation: Equatable, Sendable {
  /// The directory holding `ACCOUNT.json` and `ACCOUNT.lock`.
  public var directory: String
  /// Whether this is the shared system cache (group `gsendmail`).
  public var isSystem: Bool

  /// Set when writing for a caller who must not own what is written: the system cache
  /// written by any process but root's (a user through the set-group-ID gsendmail, the
  /// queue runner). A file a process creates belongs to its user, who could then read it;
  /// so existing files (made by root: `gsendmailctl login`, `doctor`) are updated in place
  /// and keep their owner, nothing is created, and a file owned by anyone but root is not
  /// written to.
  public var writesInPlace: Bool
  /// Whose files `writesInPlace` updates: root (tests use their own user).
  public var inPlaceOwner: UInt32 = 0

  public init(directory: String, isSystem: Bool, writesInPlace: Bool = false) {
    self.directory = directory
    self.isSystem = isSystem
    self.writesInPlace = writesInPlace
  }

  /// The per-user cache under a state home (`$XDG_STATE_HOME`, else `~/.local/state`).
  public static func user(stateHome: String) -> TokenCacheLocation {
    TokenCacheLocation(directory: stateHome + "/gsendmail/tokens", isSystem: false)
  }

  /// The system cache of `/etc/gsendmail/config.toml`.
  public static let system = TokenCacheLocation(
    directory: "/var/lib/gsendmail/tokens", isSystem: true)

  /// The directory's mode when this code creates it: 0700, or 2770 (setgid, so files
  /// inherit group `gsendmail`).
  public var directoryMode: UInt32 { isSystem ? 0o2770 : 0o700 }
  /// The mode of cache and lock files: 0600, or 0660.
  public var fileMode: UInt32 { isSystem ? 0o660 : 0o600 }

  /// The cache file of an account.
  public func cachePath(account: String) -> String { directory + "/" + account + ".json" }
  /// The lock file of an account.
  public func lockPath(account: String) -> String { directory + "/" + account + ".lock" }

  /// Checks that an account name can be a file name here.
  func validate(account: String) throws(TokenError) {
    let ok =
      !account.isEmpty && account.utf8.count <= 200 && !account.hasPrefix(".")
      && !account.contains("/") && !account.unicodeScalars.contains { $0.value < 0x20 }
    guard ok else { throw .invalidAccountName(account) }
  }
}
