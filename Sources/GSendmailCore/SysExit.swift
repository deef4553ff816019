// SPDX-License-Identifier: MIT
// The sysexits(3) codes gsendmail uses, with their meaning (after Postfix's
// sys_exits.c). Which code an outcome gets is decided in ExitStatus.swift only.

/// A process exit status from `<sysexits.h>`.
public struct SysExit: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  public var rawValue: Int32
  public init(rawValue: Int32) { self.rawValue = rawValue }

  /// Success. The corresponding C value is `EX_OK` (0).
  public static let ok = SysExit(rawValue: 0)
  /// The command line was wrong. `EX_USAGE` (64).
  public static let usage = SysExit(rawValue: 64)
  /// The message was bad: NUL bytes, too big, no recipients, bad address. `EX_DATAERR` (65).
  public static let dataError = SysExit(rawValue: 65)
  /// Standard input could not be read. `EX_NOINPUT` (66).
  public static let noInput = SysExit(rawValue: 66)
  /// A recipient does not exist or was refused permanently. `EX_NOUSER` (67).
  public static let noUser = SysExit(rawValue: 67)
  /// The server refused the message permanently. `EX_UNAVAILABLE` (69).
  public static let unavailable = SysExit(rawValue: 69)
  /// An internal error. `EX_SOFTWARE` (70).
  public static let software = SysExit(rawValue: 70)
  /// The queue file could not be created. `EX_CANTCREAT` (73).
  public static let cannotCreate = SysExit(rawValue: 73)
  /// A temporary failure: try again later. `EX_TEMPFAIL` (75).
  public static let temporaryFailure = SysExit(rawValue: 75)
  /// The server broke the protocol. `EX_PROTOCOL` (76).
  public static let protocolError = SysExit(rawValue: 76)
  /// The account cannot authenticate. `EX_NOPERM` (77).
  public static let noPermission = SysExit(rawValue: 77)
  /// The configuration is missing or invalid. `EX_CONFIG` (78).
  public static let configuration = SysExit(rawValue: 78)

  /// Every code gsendmail can exit with, in numeric order, with the C name, the RFC 3463
  /// status a failure notice gives a recipient when no server reply names one (as Postfix's
  /// sys_exits.c pairs them), and what it means.
  public static let table: [(code: SysExit, name: String, status: String, meaning: String)] = [
    (.ok, "EX_OK", "2.0.0", "sent, or safely queued"),
    (.usage, "EX_USAGE", "5.3.0", "bad command line"),
    (.dataError, "EX_DATAERR", "5.6.0", "bad message: NUL byte, too big, no recipients, bad address"),
    (.noInput, "EX_NOINPUT", "5.3.0", "standard input unreadable"),
    (.noUser, "EX_NOUSER", "5.1.1", "recipient refused permanently, or unknown local name"),
    (.unavailable, "EX_UNAVAILABLE", "5.3.0", "server refused the message permanently"),
    (.software, "EX_SOFTWARE", "5.3.0", "internal error"),
    (.cannotCreate, "EX_CANTCREAT", "5.2.0", "queue file cannot be written"),
    (.temporaryFailure, "EX_TEMPFAIL", "4.3.0", "temporary failure, not queued"),
    (.protocolError, "EX_PROTOCOL", "5.5.0", "the server broke the protocol"),
    (.noPermission, "EX_NOPERM", "5.7.0", "the account cannot authenticate"),
    (.configuration, "EX_CONFIG", "5.3.5", "configuration missing or invalid"),
  ]

  /// The RFC 3463 status of this code (see `table`).
  public var status: String { Self.table.first { $0.code == self }?.status ?? "5.3.0" }

  public var description: String { String(rawValue) }
}
