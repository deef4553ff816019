// SPDX-License-Identifier: MIT
// Shell completion of account names and queue ids (bash, zsh and fish call
// `gsendmailctl ---completion ...`, which swift-argument-parser routes here). The
// configuration is found as for any command, `-C FILE` on the command line being
// typed included; any failure completes nothing.
import GSendmailAdmin
import GSendmailCore
import ArgumentParser
import GSendmailKit

enum Completions {
  /// The file given with `-C` or `--config` among the words typed so far.
  static func configFile(_ words: [String]) -> String? {
    for (index, word) in words.enumerated() {
      if (word == "-C" || word == "--config"), index + 1 < words.count { return words[index + 1] }
      if word.hasPrefix("--config=") { return String(word.dropFirst("--config=".count)) }
    }
    return nil
  }

  /// The accounts of the configuration that start with `prefix` (the configuration alone:
  /// completing a name makes no queue directory).
  @Sendable static func accounts(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
    guard let config = try? ConfigLocator.load(configFile: configFile(words), environment: .current()) else {
      return []
    }
    return config.accounts.map(\.name).filter { $0.hasPrefix(prefix) }
  }

  /// The ids in the queue and in failed/ that start with `prefix`.
  @Sendable static func queueIDs(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
    guard let control = try? Control(configFile: configFile(words)) else { return [] }
    return control.queueIDs().filter { $0.hasPrefix(prefix) }
  }
}
