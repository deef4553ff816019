/* Runs one command once and prints "WALL_MS CPU_MS MAXRSS_KB STATUS" on one line:
 * wall time from fork to reaping (CLOCK_MONOTONIC), user+system CPU and peak RSS
 * from wait4() of the child (which includes the children it waited for, such as
 * msmtp's passwordeval shell). Standard input comes from a file, standard output is
 * discarded, standard error goes to a file for diagnosis.
 *
 * Written in C and compiled by the benchmark scripts because Linux folds the peak
 * RSS of the memory image a process had before exec() into ru_maxrss: a child forked
 * from Python or a shell would report the parent's 10-13 MB. This program's image is
 * about 1 MB, below anything measured.
 *
 * Usage: run1 STDIN_FILE ERR_FILE ARGV...
 * Failure policy: a command that cannot be started exits 127 in the child and is
 * reported with that status; bad usage exits 2. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double ms(struct timeval tv) { return tv.tv_sec * 1e3 + tv.tv_usec / 1e3; }

int main(int argc, char **argv) {
  if (argc < 4) {
    fputs("usage: run1 STDIN_FILE ERR_FILE ARGV...\n", stderr);
    return 2;
  }
  int in = open(argv[1], O_RDONLY | O_CLOEXEC);
  int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
  int err = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (in < 0 || out < 0 || err < 0) {
    perror("run1: open");
    return 2;
  }
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  pid_t pid = fork();
  if (pid < 0) {
    perror("run1: fork");
    return 2;
  }
  if (pid == 0) {
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execvp(argv[3], argv + 3);
    perror("run1: exec");
    _exit(127);
  }
  int status = 0;
  struct rusage usage;
  if (wait4(pid, &status, 0, &usage) < 0) {
    perror("run1: wait4");
    return 2;
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  double wall = (end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) / 1e6;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  printf("%.3f %.3f %ld %d\n", wall, ms(usage.ru_utime) + ms(usage.ru_stime), usage.ru_maxrss, code);
  return 0;
}
