// SPDX-License-Identifier: MIT
// The directory part of a path, for the places that derive one: a configuration file's
// directory (relative paths in it), the directory to fsync after a rename in it, a cache
// directory's parent. Pure: no file system access.

extension String {
  /// What precedes the last "/": "/" for a name at the root, nil when there is no "/".
  public var directoryPart: String? {
    guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
    return slash == startIndex ? "/" : String(self[..<slash])
  }
}
