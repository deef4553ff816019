// SPDX-License-Identifier: MIT
import Codecs
import Testing

@Suite("Directory part of a path")
struct DirectoryPartTests {
  @Test(
    "directoryPart is what precedes the last slash: the root for a name at the root, nil without one",
    arguments: [
      ("/etc/gsendmail/config.toml", "/etc/gsendmail"), ("/config.toml", "/"), ("/", "/"),
      ("state/queue/entries", "state/queue"), ("tokens/", "tokens"), ("config.toml", nil), ("", nil),
    ] as [(String, String?)])
  func directoryPart(path: String, expected: String?) {
    #expect(path.directoryPart == expected)
  }
}
