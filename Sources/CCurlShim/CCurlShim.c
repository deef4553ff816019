// SPDX-License-Identifier: MIT
// HTTP requests over libcurl, loaded with dlopen("libcurl.so.4") on the first request so
// that programs which never talk to the token endpoint (gsendmail --version, a send with
// a cached token) never map libcurl and its dependency tree (about 4.5 ms of startup).
// curl.h is included for types and option constants only; every function is called
// through a pointer found with dlsym(), which also replaces the variadic
// curl_easy_setopt/getinfo with typed calls.
// Policy, fixed here: TLS peer and host verification on (TLS 1.2 minimum) against the
// system store (or SSL_CERT_FILE / SSL_CERT_DIR, as for SMTP), OpenSSL initialised by
// CShim without a configuration file and each TLS context given CShim's policy (TLS 1.2,
// security level 2, as for SMTP), no redirects,
// only http and https, proxies from the environment ignored, no signals (thread-safe),
// a total timeout, a cap on the body size.
// Failure policy: no abort, no output; each failure returns a gs_http_status and leaves
// libcurl's reason in a buffer. Request bodies (which carry secrets) are never copied
// into an error.
#define _GNU_SOURCE
#include "CCurlShim.h"
#include "CShim.h"
#include "gs_curl_internal.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gs_curl_functions gs_curl;

static pthread_once_t gs_curl_once = PTHREAD_ONCE_INIT;
static atomic_int gs_curl_loaded;
static char gs_curl_error[256];

void gs_copy(char *dst, size_t len, const char *src) {
  if (dst == NULL || len == 0) return;
  snprintf(dst, len, "%s", src == NULL ? "" : src);
}

static void gs_curl_load_once(void) {
  // OpenSSL first, as CShim loads and initialises it for the SMTP connection: libcurl
  // then finds libssl and libcrypto already mapped and bound, and its own initialisation
  // finds OpenSSL initialised without a configuration file, which it would otherwise
  // parse (CShim.c says why gsendmail never reads one). Without it, no request is made:
  // libcurl would read the configuration, and gs_ssl_ctx_policy could not apply.
  char openssl_error[200];
  if (gs_openssl_load(openssl_error, sizeof openssl_error) != 0) {
    snprintf(gs_curl_error, sizeof gs_curl_error, "cannot load OpenSSL for libcurl: %s", openssl_error);
    return;
  }
  // As OpenSSL is loaded (gs_dlopen_local). RTLD_NOW: a library that lacks a function
  // fails here, where it is reported, not with "symbol lookup error" half-way through a
  // send (RTLD_LAZY would save 2.5M instructions). With OpenSSL loaded first and
  // RTLD_DEEPBIND, loading libcurl takes 13.0M instructions instead of 18.2M and 1.2 MB
  // less peak RSS (Benchmarks/README.md).
  void *lib = gs_dlopen_local("libcurl.so.4");
  if (lib == NULL) {
    const char *why = dlerror();
    snprintf(gs_curl_error, sizeof gs_curl_error,
             "cannot load libcurl.so.4 (%s); install libcurl4", why ? why : "not found");
    return;
  }
  gs_curl.global_init = (gs_global_init_fn)dlsym(lib, "curl_global_init");
  gs_curl.easy_init = (gs_easy_init_fn)dlsym(lib, "curl_easy_init");
  gs_curl.setopt = (gs_setopt_fn)dlsym(lib, "curl_easy_setopt");
  gs_curl.perform = (gs_perform_fn)dlsym(lib, "curl_easy_perform");
  gs_curl.getinfo = (gs_getinfo_fn)dlsym(lib, "curl_easy_getinfo");
  gs_curl.cleanup = (gs_cleanup_fn)dlsym(lib, "curl_easy_cleanup");
  gs_curl.strerror = (gs_strerror_fn)dlsym(lib, "curl_easy_strerror");
  gs_curl.slist_append = (gs_slist_append_fn)dlsym(lib, "curl_slist_append");
  gs_curl.slist_free_all = (gs_slist_free_all_fn)dlsym(lib, "curl_slist_free_all");
  if (!gs_curl.global_init || !gs_curl.easy_init || !gs_curl.setopt || !gs_curl.getinfo || !gs_curl.perform ||
      !gs_curl.cleanup || !gs_curl.strerror || !gs_curl.slist_append || !gs_curl.slist_free_all) {
    snprintf(gs_curl_error, sizeof gs_curl_error, "libcurl.so.4 lacks a needed function");
    return;
  }
  // curl_global_init is not thread-safe; pthread_once makes this the only call.
  if (gs_curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(gs_curl_error, sizeof gs_curl_error, "curl_global_init failed");
    return;
  }
  atomic_store(&gs_curl_loaded, 1);
  // The relocation tables of libcurl's dependencies, as of gsendmail's and OpenSSL's.
  (void)gs_release_relocation_tables();
}

int gs_curl_load(char *err, size_t err_len) {
  pthread_once(&gs_curl_once, gs_curl_load_once);
  if (atomic_load(&gs_curl_loaded)) return 0;
  gs_copy(err, err_len, gs_curl_error);
  return -1;
}

int gs_curl_is_loaded(void) { return atomic_load(&gs_curl_loaded); }

// MARK: - One request

size_t gs_write_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  gs_body *b = userdata;
  size_t n = size * nmemb;
  if (n > b->max - b->len) {
    b->overflow = 1;
    return 0;  // a short count makes libcurl stop with CURLE_WRITE_ERROR
  }
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    if (cap > b->max) cap = b->max;
    unsigned char *grown = realloc(b->data, cap);
    if (grown == NULL) return 0;
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  return n;
}

/// The gs_http_status for a failed transfer.
static int gs_status_for(CURLcode rc, const gs_body *body) {
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: return GS_HTTP_TIMED_OUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT: return GS_HTTP_CONNECT;
    case CURLE_FILESIZE_EXCEEDED: return GS_HTTP_TOO_LARGE;
    case CURLE_WRITE_ERROR: return body->overflow ? GS_HTTP_TOO_LARGE : GS_HTTP_TRANSFER;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR: return GS_HTTP_TLS;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return GS_HTTP_SETUP;
    default: return GS_HTTP_TRANSFER;
  }
}

// libcurl's TLS context gets the SMTP connection's policy (CShim): TLS 1.2 at least,
// security level 2, no compression or renegotiation; a context that refuses it fails the
// request.
static CURLcode gs_ssl_ctx_callback(CURL *curl, void *ssl_ctx, void *userptr) {
  (void)curl, (void)userptr;
  return gs_ssl_ctx_policy(ssl_ctx) ? CURLE_OK : CURLE_SSL_CONNECT_ERROR;
}

int gs_common_options(CURL *c, char *errbuf, const char *url, const char *ca_file,
                      const char *user_agent, gs_body *body, struct curl_slist **headers) {
  int failed = 0;
  SET_PTR(CURLOPT_ERRORBUFFER, errbuf);
  SET_PTR(CURLOPT_URL, url);
  // Only http and https, also for anything a server might point at.
  SET_PTR(CURLOPT_PROTOCOLS_STR, "http,https");
  SET_LONG(CURLOPT_FOLLOWLOCATION, 0L);
  // The token endpoint is reached directly, as the SMTP server is: http_proxy/https_proxy
  // from the environment are ignored (a setgid gsendmail must not be redirected by its
  // caller's environment), and so is ~/.netrc.
  SET_PTR(CURLOPT_PROXY, "");
  SET_LONG(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
  SET_LONG(CURLOPT_NOSIGNAL, 1L);
  SET_LONG(CURLOPT_SSL_VERIFYPEER, 1L);
  SET_LONG(CURLOPT_SSL_VERIFYHOST, 2L);
  SET_LONG(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
  failed |= gs_curl.setopt(c, CURLOPT_SSL_CTX_FUNCTION, gs_ssl_ctx_callback) != CURLE_OK;
  if (ca_file != NULL) {
    SET_PTR(CURLOPT_CAINFO, ca_file);
  } else {
    // The system store, as the SMTP connection sees it: OpenSSL's SSL_CERT_FILE and
    // SSL_CERT_DIR replace the bundle and the directory libcurl was built with and, as in
    // OpenSSL, are ignored when running setuid/setgid. A hashed directory is used alone:
    // with the bundle file as well, OpenSSL parses all of Debian's ~150 certificates
    // before every request (about 50 ms of CPU), where the directory costs one file per
    // chain verified.
    const char *default_dir = NULL;
    if (gs_curl.getinfo(c, CURLINFO_CAPATH, &default_dir) != CURLE_OK) default_dir = NULL;
    const char *file = NULL, *dir = NULL;
    switch (gs_choose_system_trust(secure_getenv("SSL_CERT_FILE"), secure_getenv("SSL_CERT_DIR"),
                                   default_dir, &file, &dir)) {
      case GS_TRUST_FILE:
        SET_PTR(CURLOPT_CAINFO, file);
        if (dir != NULL) SET_PTR(CURLOPT_CAPATH, dir);
        break;
      case GS_TRUST_HASHED_DIRECTORY:
        SET_PTR(CURLOPT_CAINFO, NULL);  // NULL: no bundle file (CURLOPT_CAINFO(3))
        SET_PTR(CURLOPT_CAPATH, dir);
        break;
      case GS_TRUST_DIRECTORY_AND_BUNDLE:
        SET_PTR(CURLOPT_CAPATH, dir);
        break;
      default:  // GS_TRUST_BUILT_IN: libcurl's own bundle and directory
        break;
    }
  }
  if (user_agent != NULL) SET_PTR(CURLOPT_USERAGENT, user_agent);
  failed |= gs_curl.setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)body->max) != CURLE_OK;
  failed |= gs_curl.setopt(c, CURLOPT_WRITEFUNCTION, gs_write_body) != CURLE_OK;
  SET_PTR(CURLOPT_WRITEDATA, body);
  *headers = gs_curl.slist_append(NULL, "Accept: application/json");
  // No "Expect: 100-continue" round trip for small bodies.
  if (*headers) *headers = gs_curl.slist_append(*headers, "Expect:");
  return failed;
}

CURL *gs_begin(gs_http_response *response, char *err, size_t err_len) {
  memset(response, 0, sizeof *response);
  if (gs_curl_load(err, err_len) != 0) return NULL;
  CURL *c = gs_curl.easy_init();
  if (c == NULL) gs_copy(err, err_len, "curl_easy_init failed");
  return c;
}

int gs_perform(CURL *c, int setup_failed, const char *errbuf, gs_body *body,
               struct curl_slist *headers, gs_http_response *response, char *err,
               size_t err_len) {
  setup_failed |= headers == NULL || gs_curl.setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
  if (setup_failed) {
    gs_copy(err, err_len, "libcurl refused an option (libcurl 7.85 or later is needed)");
    return GS_HTTP_SETUP;
  }
  CURLcode rc = gs_curl.perform(c);
  if (rc != CURLE_OK) {
    gs_copy(err, err_len, errbuf[0] ? errbuf : gs_curl.strerror(rc));
    return gs_status_for(rc, body);
  }
  long code = 0;
  gs_curl.getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  response->status = code;
  response->body = body->data;
  response->body_len = body->len;
  body->data = NULL;
  return GS_HTTP_OK;
}

void gs_end(CURL *c, gs_body *body, struct curl_slist *headers) {
  free(body->data);
  gs_curl.slist_free_all(headers);
  gs_curl.cleanup(c);
}

int gs_http_request(const gs_http_request_params *p, gs_http_response *response, char *err,
                    size_t err_len) {
  CURL *c = gs_begin(response, err, err_len);
  if (c == NULL) return GS_HTTP_UNAVAILABLE;
  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = 0;
  gs_body body = {.max = p->max_body};
  struct curl_slist *headers = NULL;
  char content_type[256];
  int failed = gs_common_options(c, errbuf, p->url, p->ca_file, p->user_agent, &body, &headers);
  SET_LONG(CURLOPT_TIMEOUT_MS, p->timeout_ms);
  SET_LONG(CURLOPT_CONNECTTIMEOUT_MS, p->timeout_ms);
  if (p->body != NULL) {
    SET_LONG(CURLOPT_POST, 1L);
    failed |= gs_curl.setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->body_len) != CURLE_OK;
    SET_PTR(CURLOPT_POSTFIELDS, p->body);
    if (p->content_type != NULL && headers) {
      snprintf(content_type, sizeof content_type, "Content-Type: %s", p->content_type);
      headers = gs_curl.slist_append(headers, content_type);
    }
  } else {
    SET_LONG(CURLOPT_HTTPGET, 1L);
  }
  int status = gs_perform(c, failed, errbuf, &body, headers, response, err, err_len);
  gs_end(c, &body, headers);
  return status;
}

void gs_http_response_free(gs_http_response *response) {
  free(response->headers);
  response->headers = NULL;
  free(response->body);
  response->body = NULL;
  response->body_len = 0;
}
