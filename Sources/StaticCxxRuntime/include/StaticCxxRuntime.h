// SPDX-License-Identifier: MIT
// Links the parts of the C++ runtime that the Swift runtime needs statically into
// gsendmail (see module.modulemap). Nothing to call.
