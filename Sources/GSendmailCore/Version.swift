// SPDX-License-Identifier: MIT
/// The version printed by `--version` of both programs.
public let gsendmailVersion = "0.1.0"
