// SPDX-License-Identifier: MIT
// DNS queries through glibc's stub resolver (res_ninit/res_nquery/res_nclose, all in
// libc.so.6 since glibc 2.34, so nothing more is linked). Each call has its own
// resolver state, so calls from several threads do not interfere, and the name server
// can be replaced by one address and port (a local test server).
// The reply is returned raw: it is parsed in Swift (Transport/DNS.swift), which keeps
// libresolv.so.2 (where ns_initparse/ns_parserr live) out of every program.
// Failure policy: no output, no abort; a negative return value says what failed.
#define _GNU_SOURCE
#include "CShim.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

int gs_dns_query(const char *name, int type, const char *server_ipv4, int server_port,
                 int timeout_seconds, unsigned char *answer, int answer_len, int *h_error) {
  *h_error = 0;
  struct in_addr server;
  if (server_ipv4 != NULL) {
    if (inet_pton(AF_INET, server_ipv4, &server) != 1 || server_port <= 0 || server_port > 65535) {
      return GS_DNS_BAD_SERVER;
    }
  }
  struct __res_state *state = calloc(1, sizeof *state);
  if (state == NULL) return GS_DNS_INIT;
  if (res_ninit(state) != 0) {
    free(state);
    return GS_DNS_INIT;
  }
  if (server_ipv4 != NULL) {
    // One IPv4 server in place of resolv.conf's. glibc asks nsaddr_list[0] once its family
    // is set, even where res_ninit put an IPv6 server in _u._ext.nsaddrs[0] (which
    // res_nclose still frees).
    memset(&state->nsaddr_list[0], 0, sizeof state->nsaddr_list[0]);
    state->nsaddr_list[0].sin_family = AF_INET;
    state->nsaddr_list[0].sin_port = htons((unsigned short)server_port);
    state->nsaddr_list[0].sin_addr = server;
    state->nscount = 1;
  }
  // Two tries in about `timeout_seconds` (the second waits twice as long as the first).
  int first = timeout_seconds / 3;
  state->retrans = first < 1 ? 1 : first;
  state->retry = 2;
  // EDNS0 lets a long TXT record (a DKIM key) come in one UDP reply; a truncated reply is
  // retried over TCP by res_nquery itself.
  state->options |= RES_USE_EDNS0;
  int n = res_nquery(state, name, ns_c_in, type, answer, answer_len);
  if (n < 0) *h_error = state->res_h_errno;
  res_nclose(state);
  free(state);
  return n < 0 ? GS_DNS_NO_ANSWER : n;
}
