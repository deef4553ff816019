// SPDX-License-Identifier: MIT
// posix_spawn helpers that need _GNU_SOURCE, which Swift's Glibc module does not set.
#define _GNU_SOURCE
#include <spawn.h>
#include "CShim.h"

int gs_spawn_file_actions_closefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
