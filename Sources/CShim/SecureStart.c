// SPDX-License-Identifier: MIT
/*
 * SECURE START-UP - the environment of a set-group-ID gsendmail.
 *
 * WARNING: gsendmail is installed set-group-ID `gsendmail` so that any local user
 * can submit mail through the system account without reading its secrets. The
 * caller chooses the whole process environment, and libraries read it behind our
 * back: OpenSSL (OPENSSL_CONF, OPENSSL_MODULES, SSLKEYLOGFILE), libcurl (CURL_*,
 * proxies), the resolver (HOSTALIASES, LOCALDOMAIN, RES_OPTIONS), iconv
 * (GCONV_PATH), message catalogues (NLSPATH), time zones (TZ as a path). Filtering a
 * copy of the environment is not enough: those libraries call getenv() on the real
 * one. So, before main() and before any library is opened with dlopen(), a process
 * that runs with privileges it did not inherit throws the real environment away
 * but for the short allow-list below, each value checked, and a fixed PATH.
 *
 * Do not add a variable to the list unless gsendmail itself reads it and a hostile
 * value cannot make a privileged process read, write or execute a file the caller
 * chose, or send data where the caller chose. The paths gsendmail takes from the
 * environment (GSENDMAIL_CONFIG, XDG_CONFIG_HOME, XDG_STATE_HOME) are opened with
 * the caller's own group only. HOME is kept for what it names, never trusted for a
 * path: under set-group-ID the password database gives the home directory.
 *
 * The umask is fixed too, so the caller's (umask 777) cannot make a shared file
 * that nobody can read; files in shared directories get explicit modes anyway.
 * Descriptors 0, 1 and 2 are opened on /dev/null when closed, in the front end.
 */
#define _GNU_SOURCE
#include "CShim.h"

#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

/* The PATH every privileged gsendmail gets, whatever the caller's. */
#define GS_SAFE_PATH "/usr/sbin:/usr/bin:/sbin:/bin"
/* No kept value is longer: longer ones are dropped, not cut. */
#define GS_MAX_VALUE 1024

static int gs_secure_state = 0;

/* Every byte of [value, value+len) is printable ASCII (no space unless `space`). */
static int gs_printable(const char *value, size_t len, int space) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)value[i];
    if (c < 0x20 || c >= 0x7f || (c == ' ' && !space)) return 0;
  }
  return 1;
}

/* A locale name: C, POSIX, en_US.UTF-8, sr_RS@latin. Never a path. */
static int gs_locale_name(const char *value, size_t len) {
  if (len == 0 || len > 64) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)value[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == '.' || c == '@';
    if (!ok) return 0;
  }
  return strstr(value, "..") == NULL;
}

/* A zone: a POSIX rule (CET-1CEST,M3.5.0,M10.5.0/3 is refused for its '/': no great
 * loss) or a database name (Europe/Paris) looked up under the default directory,
 * since TZDIR is not kept. No leading ':' or '/', no '.', so never a path of the
 * caller's. */
static int gs_zone_name(const char *value, size_t len) {
  if (len == 0 || len > 64 || value[0] == '/' || value[0] == ':') return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)value[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == '+' || c == ',' || c == '<' || c == '>' || c == '/';
    if (!ok) return 0;
    if (c == '/' && (i + 1 == len || value[i + 1] == '/')) return 0;
  }
  return 1;
}

int gs_secure_environment_keeps(const char *entry) {
  const char *eq = strchr(entry, '=');
  if (eq == NULL || eq == entry) return 0;
  size_t name_len = (size_t)(eq - entry);
  const char *value = eq + 1;
  size_t len = strlen(value);
  if (len > GS_MAX_VALUE || !gs_printable(value, len, 1)) return 0;
#define GS_NAME_IS(literal) (name_len == sizeof(literal) - 1 && memcmp(entry, literal, name_len) == 0)
  if (GS_NAME_IS("USER") || GS_NAME_IS("LOGNAME")) {
    /* A login name: no '/', no space, not empty. */
    return len > 0 && len <= 64 && gs_printable(value, len, 0) && memchr(value, '/', len) == NULL;
  }
  if (GS_NAME_IS("HOME") || GS_NAME_IS("GSENDMAIL_CONFIG") || GS_NAME_IS("XDG_CONFIG_HOME") ||
      GS_NAME_IS("XDG_STATE_HOME")) {
    /* An absolute path, opened (if at all) with the caller's own group only. */
    return len > 0 && value[0] == '/';
  }
  if (GS_NAME_IS("TZ")) return gs_zone_name(value, len);
  if (GS_NAME_IS("LANG") || GS_NAME_IS("LC_ALL") || GS_NAME_IS("LC_CTYPE") ||
      GS_NAME_IS("LC_MESSAGES") || GS_NAME_IS("LC_TIME") || GS_NAME_IS("LC_NUMERIC") ||
      GS_NAME_IS("LC_COLLATE") || GS_NAME_IS("LC_MONETARY")) {
    return gs_locale_name(value, len);
  }
#undef GS_NAME_IS
  return 0;
}

int gs_secure_start_state(void) { return gs_secure_state; }

/* Whether the entries [first, last) hold one named like `entry` (through its '='). */
static int gs_name_seen(char **first, char **last, const char *entry) {
  size_t len = (size_t)(strchr(entry, '=') - entry) + 1;
  for (char **p = first; p < last; p++) {
    if (strncmp(*p, entry, len) == 0) return 1;
  }
  return 0;
}

/* Runs before main(), ahead of the program's other constructors.
 *
 * The environment is rebuilt in place, in the array the kernel laid out: kept entries
 * move to its front, the caller's PATH entry becomes ours, the rest is cut off. Nothing
 * is allocated, so nothing can fail; and `environ` keeps pointing where it did, which
 * matters: the Swift runtime finds the argument vector next to it. A caller who set no
 * PATH gets none (gsendmail runs no program through PATH). */
__attribute__((constructor(101))) static void gs_secure_start(void) {
  if (getauxval(AT_SECURE) == 0 && getegid() == getgid() && geteuid() == getuid()) return;
  umask(007);
  static char safe_path[] = "PATH=" GS_SAFE_PATH;
  char **out = environ;
  for (char **p = environ; p != NULL && *p != NULL; p++) {
    char *entry = *p;
    if (strncmp(entry, "PATH=", 5) == 0) entry = safe_path;
    else if (!gs_secure_environment_keeps(entry)) continue;
    /* One entry per name: the first wins, as getenv() would answer. */
    if (gs_name_seen(environ, out, entry)) continue;
    *out++ = entry;
  }
  if (out != NULL) *out = NULL;
  gs_secure_state = 1;
}
