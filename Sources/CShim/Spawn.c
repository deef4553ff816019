// SPDX-License-Identifier: MIT
// Process start and descriptor helpers that need _GNU_SOURCE, which Swift's Glibc module does not set.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "CShim.h"

pid_t gs_spawn_command(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd,
                       int set_group, gid_t group) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    // The child: only async-signal-safe calls from here on. Any failure ends it with 127,
    // as a shell reports a command it could not run.
    if (set_group && syscall(SYS_setresgid, group, group, group) != 0) _exit(127);
    if (setpgid(0, 0) != 0) _exit(127);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || dup2(null_fd, 0) != 0 || dup2(out_fd, 1) != 1 || dup2(err_fd, 2) != 2) _exit(127);
    // Nothing else of ours reaches the command (sockets, queue files, the caller's pipes).
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(path, argv, envp);
    _exit(127);
}

int gs_close_descriptors_except(int keep) {
    if (keep < 3) return close_range(3, ~0U, 0);
    int below = keep > 3 ? close_range(3, (unsigned)keep - 1, 0) : 0;
    int above = close_range((unsigned)keep + 1, ~0U, 0);
    return below == 0 && above == 0 ? 0 : -1;
}
