// SPDX-License-Identifier: MIT
// What CCurlShim.c shares with CCurlUpload.c: libcurl's functions found by dlsym(), the
// response body buffer, and the options every request has. Not part of the module's
// public header.
#ifndef GSENDMAIL_CURL_INTERNAL_H
#define GSENDMAIL_CURL_INTERNAL_H

#include <curl/curl.h>
#include <stddef.h>

#define GS_HIDDEN __attribute__((visibility("hidden")))

typedef CURLcode (*gs_global_init_fn)(long);
typedef CURL *(*gs_easy_init_fn)(void);
typedef CURLcode (*gs_setopt_fn)(CURL *, CURLoption, ...);
typedef CURLcode (*gs_perform_fn)(CURL *);
typedef CURLcode (*gs_getinfo_fn)(CURL *, CURLINFO, ...);
typedef void (*gs_cleanup_fn)(CURL *);
typedef const char *(*gs_strerror_fn)(CURLcode);
typedef struct curl_slist *(*gs_slist_append_fn)(struct curl_slist *, const char *);
typedef void (*gs_slist_free_all_fn)(struct curl_slist *);

// curl_easy_setopt and curl_easy_getinfo are variadic: Swift cannot call them, so they
// are called from here, through variadic pointers, with each argument cast to the type
// the option expects (long, pointer, curl_off_t, function pointer).
typedef struct {
  gs_global_init_fn global_init;
  gs_easy_init_fn easy_init;
  gs_setopt_fn setopt;
  gs_perform_fn perform;
  gs_getinfo_fn getinfo;
  gs_cleanup_fn cleanup;
  gs_strerror_fn strerror;
  gs_slist_append_fn slist_append;
  gs_slist_free_all_fn slist_free_all;
} gs_curl_functions;
/// The functions, set once by gs_curl_load().
extern GS_HIDDEN gs_curl_functions gs_curl;

typedef struct gs_body {
  unsigned char *data;
  size_t len;
  size_t cap;
  size_t max;
  int overflow;
} gs_body;


/// Copies `src` (NULL: empty) into `dst`, truncated and NUL-terminated.
GS_HIDDEN void gs_copy(char *dst, size_t len, const char *src);
/// libcurl's write callback: appends to a gs_body, refusing more than its `max`.
GS_HIDDEN size_t gs_write_body(char *ptr, size_t size, size_t nmemb, void *userdata);
/// `response` emptied, libcurl loaded and a new handle, or NULL with `err` set (status
/// GS_HTTP_UNAVAILABLE).
GS_HIDDEN CURL *gs_begin(gs_http_response *response, char *err, size_t err_len);
/// The options every request has, the reply read into `body` (at most its `max`), and
/// `*headers` started with the lines every request sends (NULL when out of memory);
/// nonzero when an option was refused.
GS_HIDDEN int gs_common_options(CURL *c, char *errbuf, const char *url, const char *ca_file,
                                const char *user_agent, gs_body *body, struct curl_slist **headers);
/// Sends `headers` (NULL: out of memory, a setup failure) and runs the transfer set up on
/// `c`, unless `setup_failed`: on success the response's status and body (taken from
/// `body`), GS_HTTP_OK; else the error text in `err` and the gs_http_status.
GS_HIDDEN int gs_perform(CURL *c, int setup_failed, const char *errbuf, gs_body *body,
                         struct curl_slist *headers, gs_http_response *response, char *err,
                         size_t err_len);
/// Frees what a request holds: the body not handed over, the header lines, the handle.
GS_HIDDEN void gs_end(CURL *c, gs_body *body, struct curl_slist *headers);

// Setting an option, in a function with `CURL *c` and `int failed`: a refused option sets
// `failed`.
#define SET_LONG(opt, v) failed |= gs_curl.setopt(c, opt, (long)(v)) != CURLE_OK
#define SET_PTR(opt, v) failed |= gs_curl.setopt(c, opt, (const void *)(v)) != CURLE_OK

#endif
