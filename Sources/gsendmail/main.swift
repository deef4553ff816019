// SPDX-License-Identifier: MIT
// gsendmail: a sendmail-compatible front end. All logic lives in GSendmailKit.
import GSendmailKit
import StaticCxxRuntime

Frontend.main()
