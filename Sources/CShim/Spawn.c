// SPDX-License-Identifier: MIT
// posix_spawn and descriptor helpers that need _GNU_SOURCE, which Swift's Glibc module
// does not set.
#define _GNU_SOURCE
#include <spawn.h>
#include <unistd.h>
#include "CShim.h"

int gs_spawn_file_actions_closefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int gs_close_descriptors_except(int keep) {
    if (keep < 3) return close_range(3, ~0U, 0);
    int below = keep > 3 ? close_range(3, (unsigned)keep - 1, 0) : 0;
    int above = close_range((unsigned)keep + 1, ~0U, 0);
    return below == 0 && above == 0 ? 0 : -1;
}
