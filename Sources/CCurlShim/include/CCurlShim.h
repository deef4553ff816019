// SPDX-License-Identifier: MIT
// One HTTP request through libcurl, which is loaded with dlopen() on the first request.
// The curl headers are used by CCurlShim.c only; this header needs none.
#ifndef GSENDMAIL_CCURLSHIM_H
#define GSENDMAIL_CCURLSHIM_H

#include <stddef.h>

/// What `gs_http_request` reports.
enum gs_http_status {
  /// A response was received (any HTTP status).
  GS_HTTP_OK = 0,
  /// libcurl.so.4 could not be loaded or lacks a symbol.
  GS_HTTP_UNAVAILABLE = 1,
  /// The total timeout ran out.
  GS_HTTP_TIMED_OUT = 2,
  /// The host could not be resolved or the connection was refused.
  GS_HTTP_CONNECT = 3,
  /// The response body exceeded `max_body`.
  GS_HTTP_TOO_LARGE = 4,
  /// TLS failed: handshake or certificate verification.
  GS_HTTP_TLS = 5,
  /// Any other transfer failure (reset, malformed response, ...).
  GS_HTTP_TRANSFER = 6,
  /// libcurl refused an option: the request was not sent.
  GS_HTTP_SETUP = 7,
  /// The upload's read callback failed: the body could not be read.
  GS_HTTP_SOURCE = 8,
};

/// The parameters of one request.
typedef struct gs_http_request_params {
  /// The URL (http:// or https:// only; redirects are never followed).
  const char *url;
  /// The body to POST, or NULL for a GET.
  const char *body;
  size_t body_len;
  /// The Content-Type header of the body, or NULL.
  const char *content_type;
  /// The User-Agent header.
  const char *user_agent;
  /// A PEM file of CA certificates to trust in place of the system store, or NULL.
  const char *ca_file;
  /// Total time allowed for the whole request, in milliseconds.
  long timeout_ms;
  /// The most body bytes accepted.
  size_t max_body;
} gs_http_request_params;

/// The outcome of one request.
typedef struct gs_http_response {
  /// The HTTP status code (GS_HTTP_OK only).
  long status;
  /// The body (malloc'ed; free with gs_http_response_free). May be NULL when empty.
  unsigned char *body;
  size_t body_len;
  /// The header lines of the final response, CRLF-separated, NUL-terminated (uploads
  /// only; NULL otherwise). Freed with the body.
  char *headers;
  /// The address and port the response came from (uploads only), for logs.
  char primary_ip[64];
  long primary_port;
} gs_http_response;

/// Fills `buffer` with up to `length` bytes of an upload body. Returns the number of bytes
/// (0 at the end), or -1 when the body cannot be read (the transfer is then aborted).
typedef long (*gs_http_read_fn)(void *context, char *buffer, size_t length);

/// The parameters of one upload: a body of known length produced by a callback, so that
/// nothing holds the whole body in memory.
typedef struct gs_http_upload_params {
  /// The URL (http:// or https:// only; redirects are never followed).
  const char *url;
  /// "POST" or "PUT".
  const char *method;
  /// Extra request header lines, each ended by "\n" (Content-Type, Authorization, ...).
  const char *headers;
  /// The body's exact length in bytes (0: an empty body; `read` is then not called).
  long long body_len;
  gs_http_read_fn read;
  void *read_context;
  /// The User-Agent header.
  const char *user_agent;
  /// A PEM file of CA certificates to trust in place of the system store, or NULL.
  const char *ca_file;
  /// The connect timeout, and the longest time the upload may make no progress.
  long timeout_ms;
  /// The longest wait for the response once the whole body is sent.
  long reply_timeout_ms;
  /// The most response body bytes accepted.
  size_t max_body;
} gs_http_upload_params;

/// Loads libcurl.so.4 (once per process). Returns 0, or -1 with a reason in `err`.
int gs_curl_load(char *err, size_t err_len);
/// 1 when libcurl has been loaded into this process by `gs_curl_load`, else 0.
int gs_curl_is_loaded(void);
/// Performs one request. Returns a `gs_http_status`; on failure `err` holds libcurl's
/// reason. `response` is filled on GS_HTTP_OK and must then be freed.
int gs_http_request(const gs_http_request_params *params, gs_http_response *response, char *err,
                    size_t err_len);
/// Performs one upload. Returns a `gs_http_status` as `gs_http_request` does; on
/// GS_HTTP_OK `response` also holds the response's header lines.
int gs_http_upload(const gs_http_upload_params *params, gs_http_response *response, char *err,
                   size_t err_len);
/// Frees a response's body (and headers).
void gs_http_response_free(gs_http_response *response);

#endif
