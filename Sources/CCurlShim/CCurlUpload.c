// SPDX-License-Identifier: MIT
// Uploads (gs_http_upload): a POST or PUT whose body libcurl pulls from the caller's read
// callback as it sends, so nothing holds the whole body; the final response's header
// lines are kept, and its peer address. The policy of every request (CCurlShim.c) holds.
// Timeouts: connecting and each stretch without upload progress get `timeout_ms`; the
// wait for the response after the last body byte gets `reply_timeout_ms`.
// Failure policy: as gs_http_request; a failing read callback gives GS_HTTP_SOURCE.
// Header lines (they carry the bearer token) never go into an error.
#include "CCurlShim.h"
#include "gs_curl_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct gs_upload_state {
  gs_http_read_fn read;
  void *context;
  int source_failed;
  // Progress watch: the upload must move at least every timeout_ms, and the response
  // must come within reply_timeout_ms of the last body byte.
  long long total;
  long long sent;
  long long last_change_ms;
  long timeout_ms;
  long reply_timeout_ms;
  int stalled;
  // The response's header lines (the last response only).
  char *headers;
  size_t headers_len;
} gs_upload_state;

static long long gs_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static size_t gs_read_body(char *buffer, size_t size, size_t nitems, void *userdata) {
  gs_upload_state *u = userdata;
  long n = u->read(u->context, buffer, size * nitems);
  if (n < 0) {
    u->source_failed = 1;
    return CURL_READFUNC_ABORT;
  }
  return (size_t)n;
}

static int gs_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  (void)dltotal;
  (void)ultotal;
  gs_upload_state *u = userdata;
  long long now = gs_now_ms();
  if (ulnow != u->sent || dlnow > 0) {
    u->sent = ulnow;
    u->last_change_ms = now;
    return 0;
  }
  long limit = u->sent >= u->total ? u->reply_timeout_ms : u->timeout_ms;
  if (now - u->last_change_ms > limit) {
    u->stalled = 1;
    return 1;  // aborts with CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

static size_t gs_header_line(char *buffer, size_t size, size_t nitems, void *userdata) {
  gs_upload_state *u = userdata;
  size_t n = size * nitems;
  // A new status line starts a new response (after a 100 Continue): keep only the last.
  if (n >= 5 && memcmp(buffer, "HTTP/", 5) == 0) u->headers_len = 0;
  if (u->headers_len + n + 1 > 65536) return n;  // more header than anyone needs: ignored
  char *grown = realloc(u->headers, u->headers_len + n + 1);
  if (grown == NULL) return 0;
  u->headers = grown;
  memcpy(u->headers + u->headers_len, buffer, n);
  u->headers_len += n;
  u->headers[u->headers_len] = 0;
  return n;
}

int gs_http_upload(const gs_http_upload_params *p, gs_http_response *response, char *err,
                   size_t err_len) {
  CURL *c = gs_begin(response, err, err_len);
  if (c == NULL) return GS_HTTP_UNAVAILABLE;
  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = 0;
  gs_body body = {.max = p->max_body};
  gs_upload_state u = {.read = p->read,
                       .context = p->read_context,
                       .total = p->body_len,
                       .last_change_ms = gs_now_ms(),
                       .timeout_ms = p->timeout_ms,
                       .reply_timeout_ms = p->reply_timeout_ms};
  struct curl_slist *headers = NULL;
  int failed = gs_common_options(c, errbuf, p->url, p->ca_file, p->user_agent, &body, &headers);
  SET_LONG(CURLOPT_CONNECTTIMEOUT_MS, p->timeout_ms);
  failed |= gs_curl.setopt(c, CURLOPT_HEADERFUNCTION, gs_header_line) != CURLE_OK;
  SET_PTR(CURLOPT_HEADERDATA, &u);
  failed |= gs_curl.setopt(c, CURLOPT_XFERINFOFUNCTION, gs_progress) != CURLE_OK;
  SET_PTR(CURLOPT_XFERINFODATA, &u);
  SET_LONG(CURLOPT_NOPROGRESS, 0L);
  // The caller's lines, one per "\n"; a line longer than the buffer is refused.
  char line[8192];
  for (const char *at = p->headers; at != NULL && *at != 0 && headers != NULL;) {
    const char *end = strchr(at, '\n');
    size_t len = end ? (size_t)(end - at) : strlen(at);
    if (len >= sizeof line) {
      failed = 1;
      break;
    }
    if (len > 0) {
      memcpy(line, at, len);
      line[len] = 0;
      headers = gs_curl.slist_append(headers, line);
    }
    at = end ? end + 1 : at + len;
  }
  memset(line, 0, sizeof line);  // it held the Authorization header
  int is_put = p->method != NULL && strcmp(p->method, "PUT") == 0;
  if (is_put) {
    SET_LONG(CURLOPT_UPLOAD, 1L);
    failed |= gs_curl.setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)p->body_len) != CURLE_OK;
  } else {
    SET_LONG(CURLOPT_POST, 1L);
    failed |= gs_curl.setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->body_len) != CURLE_OK;
    if (p->body_len == 0) SET_PTR(CURLOPT_POSTFIELDS, "");
  }
  if (p->body_len > 0) {
    failed |= gs_curl.setopt(c, CURLOPT_READFUNCTION, gs_read_body) != CURLE_OK;
    SET_PTR(CURLOPT_READDATA, &u);
  }
  int status = gs_perform(c, failed, errbuf, &body, headers, response, err, err_len);
  if (status == GS_HTTP_OK) {
    response->headers = u.headers;
    u.headers = NULL;
    const char *ip = NULL;
    if (gs_curl.getinfo(c, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != NULL) {
      gs_copy(response->primary_ip, sizeof response->primary_ip, ip);
    }
    gs_curl.getinfo(c, CURLINFO_PRIMARY_PORT, &response->primary_port);
  } else if (u.source_failed) {
    gs_copy(err, err_len, "the message could not be read");
    status = GS_HTTP_SOURCE;
  } else if (u.stalled) {
    gs_copy(err, err_len, u.sent >= u.total ? "no response" : "the upload made no progress");
    status = GS_HTTP_TIMED_OUT;
  }
  free(u.headers);
  gs_end(c, &body, headers);
  return status;
}

