// SPDX-License-Identifier: MIT
// TLS sessions and crypto helpers over OpenSSL 3, loaded with dlopen() on first use.
// The OpenSSL headers are included for types and constants only: every OpenSSL
// function is called through a pointer found with dlsym(), so nothing here needs
// -lssl/-lcrypto and a process that never calls in here never maps them.
// Failure policy: no abort, no output; each failure returns a status and leaves a
// readable reason (OpenSSL reason string or X.509 verify result) in a buffer.
// Sockets are non-blocking; the caller waits (poll) when told WANT_READ/WANT_WRITE.
// Writes go through a custom BIO using send(MSG_NOSIGNAL) so that a peer that closed
// never raises SIGPIPE.
// One file over 400 lines on purpose: every OpenSSL function gsendmail calls is looked
// up here with dlsym, next to the code that uses it, so the table and its users stay in step.
#define _GNU_SOURCE
#include "CShim.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

int gs_accept_nonblocking(int listen_fd) {
  return accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

// MARK: - Loading

// Every OpenSSL function used here. dlsym() on the libssl handle also finds libcrypto's
// symbols, since libcrypto is a dependency of libssl.
#define GS_OPENSSL_FUNCTIONS(X)                                                              \
  X(OPENSSL_init_crypto) X(TLS_client_method) X(TLS_server_method) X(SSL_CTX_new) X(SSL_CTX_free) X(SSL_CTX_ctrl)    \
  X(SSL_CTX_set_options) X(SSL_CTX_set_security_level) X(SSL_CTX_set_verify) X(SSL_CTX_set_default_verify_paths)            \
  X(SSL_CTX_load_verify_locations) X(SSL_CTX_use_certificate_chain_file)                      \
  X(SSL_CTX_use_PrivateKey_file) X(SSL_CTX_check_private_key) X(SSL_CTX_up_ref) X(SSL_new)    \
  X(SSL_free) X(SSL_ctrl) X(SSL_set_bio) X(SSL_set_connect_state) X(SSL_set_accept_state)     \
  X(SSL_set1_host) X(SSL_get0_param) X(SSL_do_handshake) X(SSL_read_ex) X(SSL_write_ex)       \
  X(SSL_shutdown) X(SSL_get_error) X(SSL_get_version) X(SSL_get_current_cipher)               \
  X(SSL_CIPHER_get_name) X(SSL_get_verify_result) X(SSL_get1_peer_certificate)                \
  X(SSL_get_servername) X(SSL_set_ex_data) X(SSL_get_ex_data) X(X509_STORE_CTX_get_ex_data)    \
  X(SSL_get_ex_data_X509_STORE_CTX_idx) X(X509_STORE_CTX_get0_cert) X(SSL_CTX_load_verify_dir)  \
  X(X509_get_default_cert_dir) X(X509_get_default_cert_dir_env) X(X509_get_default_cert_file_env) \
  X(X509_VERIFY_PARAM_set_hostflags) X(X509_VERIFY_PARAM_set1_ip_asc)                         \
  X(X509_verify_cert_error_string) X(X509_get_subject_name) X(X509_get_issuer_name)           \
  X(X509_NAME_oneline) X(X509_free) X(ERR_get_error) X(ERR_peek_last_error) X(ERR_clear_error) \
  X(ERR_reason_error_string) X(ERR_error_string_n) X(BIO_get_new_index) X(BIO_meth_new)       \
  X(BIO_meth_set_write_ex) X(BIO_meth_set_read_ex) X(BIO_meth_set_ctrl) X(BIO_meth_set_create) \
  X(BIO_new) X(BIO_set_data) X(BIO_get_data) X(BIO_set_init) X(BIO_set_flags)                 \
  X(BIO_clear_flags) X(BIO_new_mem_buf) X(BIO_free) X(PEM_read_bio_PrivateKey)               \
  X(EVP_PKEY_free) X(EVP_PKEY_get_base_id) X(EVP_sha256) X(EVP_Digest) X(EVP_MD_CTX_new)      \
  X(EVP_MD_CTX_free) X(EVP_DigestSignInit) X(EVP_DigestSign) X(SSL_CTX_sess_set_new_cb)        \
  X(SSL_CTX_set_num_tickets) X(SSL_CTX_set_timeout) X(SSL_CTX_callback_ctrl) X(SSL_CTX_set_cert_verify_callback) X(SSL_CTX_set_ex_data)          \
  X(CRYPTO_get_ex_new_index) X(X509_verify_cert) X(X509_STORE_CTX_set_error) X(SSL_set_session)  \
  X(SSL_session_reused) X(SSL_SESSION_free) X(i2d_SSL_SESSION) X(d2i_SSL_SESSION)                \
  X(SSL_SESSION_get_time) X(SSL_SESSION_get_timeout) X(SSL_SESSION_get_ticket_lifetime_hint)     \
  X(SSL_SESSION_is_resumable) X(SSL_SESSION_get0_hostname) X(SSL_SESSION_set1_hostname)

#define GS_DECLARE(name) static __typeof__(name) *p_##name;
GS_OPENSSL_FUNCTIONS(GS_DECLARE)
#undef GS_DECLARE

static pthread_once_t gs_load_once = PTHREAD_ONCE_INIT;
static atomic_int gs_loaded;
static char gs_load_error[256];
static BIO_METHOD *gs_socket_bio_method;

static void gs_copy(char *dst, size_t len, const char *src) {
  if (dst == NULL || len == 0) return;
  snprintf(dst, len, "%s", src);
}

static BIO_METHOD *gs_make_socket_bio_method(void);
static int gs_ca_index = -1;  // SSL_CTX ex_data: its gs_trust
static void gs_trust_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                          void *argp);

// RTLD_DEEPBIND, except under AddressSanitizer and ThreadSanitizer, which refuse it.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GS_DEEPBIND 0
#endif
#endif
#ifndef GS_DEEPBIND
#define GS_DEEPBIND RTLD_DEEPBIND
#endif

void *gs_dlopen_local(const char *soname) {
  return dlopen(soname, RTLD_NOW | RTLD_LOCAL | GS_DEEPBIND);
}

static void gs_load(void) {
  // RTLD_LOCAL: OpenSSL's symbols stay out of the global namespace. RTLD_DEEPBIND: the
  // 4,000 symbols libcrypto and libssl bind at load (they are linked -z now) are looked
  // up in their own scope first, not after every library of the process (5% fewer
  // instructions for a whole send). OpenSSL memory is only ever freed by OpenSSL.
  void *crypto = gs_dlopen_local("libcrypto.so.3");
  if (crypto == NULL) {
    const char *why = dlerror();
    snprintf(gs_load_error, sizeof gs_load_error, "cannot load libcrypto.so.3 (%s)",
             why ? why : "unknown reason");
    return;
  }
  void *ssl = gs_dlopen_local("libssl.so.3");
  if (ssl == NULL) {
    const char *why = dlerror();
    snprintf(gs_load_error, sizeof gs_load_error, "cannot load libssl.so.3 (%s)",
             why ? why : "unknown reason");
    return;
  }
#define GS_RESOLVE(name)                                                                  \
  p_##name = (__typeof__(name) *)dlsym(ssl, #name);                                       \
  if (p_##name == NULL) {                                                                 \
    snprintf(gs_load_error, sizeof gs_load_error, "libssl.so.3 lacks %s (OpenSSL 3 needed)", \
             #name);                                                                      \
    return;                                                                               \
  }
  GS_OPENSSL_FUNCTIONS(GS_RESOLVE)
#undef GS_RESOLVE
  // No atexit(OPENSSL_cleanup): freeing every table OpenSSL built costs a few hundred
  // microseconds at the end of each process and returns nothing the kernel would not.
  // No legacy cipher-name table (OPENSSL_INIT_NO_ADD_ALL_CIPHERS): libssl fetches its
  // ciphers from the provider, and only encrypted PEM keys, which gsendmail never reads,
  // look ciphers up by name; filling that table cost 0.3 ms per process. The digest
  // table stays: certificate checks look digests up by name.
  // No configuration file (OPENSSL_INIT_NO_LOAD_CONFIG): parsing openssl.cnf costs 0.82M
  // instructions (7% of loading OpenSSL and making a context), and every setting gsendmail
  // depends on is made in code instead: TLS 1.2 at least, security level 2 (Debian's
  // default), verification always on, the default provider (loaded on first use without a
  // configuration). A configuration could only weaken these or load other providers, and
  // the set-group-ID gsendmail must not take OPENSSL_CONF from its caller anyway.
  // No libcrypto error strings (OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS): 0.93M instructions
  // (8%) to fill a table of thousands of reasons that a send never looks up; libssl's
  // own reasons ("certificate verify failed", "wrong version number") are still loaded,
  // and for a libcrypto error the messages give their own fallback text and the code.
  if (p_OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
                                OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS,
                            NULL) != 1) {
    gs_copy(gs_load_error, sizeof gs_load_error, "cannot initialise libcrypto");
    return;
  }
  gs_ca_index = p_CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, NULL, NULL, NULL,
                                          gs_trust_free);
  gs_socket_bio_method = gs_make_socket_bio_method();
  if (gs_ca_index < 0 || gs_socket_bio_method == NULL) {
    gs_copy(gs_load_error, sizeof gs_load_error, "cannot create the socket BIO method");
    return;
  }
  atomic_store(&gs_loaded, 1);
  (void)gs_release_relocation_tables();
}

int gs_openssl_load(char *err, size_t err_len) {
  pthread_once(&gs_load_once, gs_load);
  if (atomic_load(&gs_loaded)) return 0;
  gs_copy(err, err_len, gs_load_error);
  return -1;
}

int gs_openssl_is_loaded(void) { return atomic_load(&gs_loaded); }

// MARK: - Errors

// The reason of the most recent OpenSSL error on this thread ("certificate verify failed",
// "unsupported protocol"…), or `fallback`. Clears the thread's error queue.
static void gs_openssl_reason(char *dst, size_t len, const char *prefix, const char *fallback) {
  unsigned long e = p_ERR_peek_last_error();
  const char *reason = e ? p_ERR_reason_error_string(e) : NULL;
  char text[160];
  if (e && reason == NULL) {
    // A libcrypto reason (its strings are not loaded): the fallback, and the code, which
    // `openssl errstr` translates.
    char code[64];
    p_ERR_error_string_n(e, code, sizeof code);
    snprintf(text, sizeof text, "%s (%s)", fallback, code);
    reason = text;
  }
  if (prefix && *prefix)
    snprintf(dst, len, "%s: %s", prefix, reason ? reason : fallback);
  else
    snprintf(dst, len, "%s", reason ? reason : fallback);
  p_ERR_clear_error();
}

// MARK: - Socket BIO

struct gs_tls {
  SSL *ssl;
  int fd;
  int last_errno;
  int is_client;
  char error[384];
  char rejected_peer[320];  // subject and issuer of a certificate that failed verification
  int ca_failed;            // the trust store could not be loaded (GS_TLS_CA_FILE)
  SSL_SESSION *new_session;  // the latest session the server gave, verified, not yet taken
  char *host;                // client: the name (or IP literal) the certificate was checked for
};

static int gs_bio_write(BIO *b, const char *data, size_t len, size_t *written) {
  gs_tls *t = p_BIO_get_data(b);
  p_BIO_clear_flags(b, BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY);
  for (;;) {
    ssize_t n = send(t->fd, data, len, MSG_NOSIGNAL);
    if (n >= 0) {
      *written = (size_t)n;
      return 1;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      p_BIO_set_flags(b, BIO_FLAGS_WRITE | BIO_FLAGS_SHOULD_RETRY);
    } else {
      t->last_errno = errno;
    }
    return 0;
  }
}

static int gs_bio_read(BIO *b, char *data, size_t len, size_t *nread) {
  gs_tls *t = p_BIO_get_data(b);
  p_BIO_clear_flags(b, BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY);
  for (;;) {
    ssize_t n = recv(t->fd, data, len, 0);
    if (n > 0) {
      *nread = (size_t)n;
      return 1;
    }
    if (n == 0) return 0;  // EOF: no retry flag
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      p_BIO_set_flags(b, BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY);
    } else {
      t->last_errno = errno;
    }
    return 0;
  }
}

static long gs_bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  (void)b;
  (void)num;
  (void)ptr;
  // Writes are unbuffered, so a flush has nothing to do; every other control is unsupported.
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int gs_bio_create(BIO *b) {
  (void)b;
  return 1;
}

static BIO_METHOD *gs_make_socket_bio_method(void) {
  int index = p_BIO_get_new_index();
  if (index == -1) return NULL;
  BIO_METHOD *m = p_BIO_meth_new(index | BIO_TYPE_SOURCE_SINK, "gsendmail socket");
  if (m == NULL) return NULL;
  if (!p_BIO_meth_set_write_ex(m, gs_bio_write) || !p_BIO_meth_set_read_ex(m, gs_bio_read) ||
      !p_BIO_meth_set_ctrl(m, gs_bio_ctrl) || !p_BIO_meth_set_create(m, gs_bio_create))
    return NULL;
  return m;
}

// MARK: - Contexts

// Options common to both sides: TLS 1.2 minimum, no compression, no renegotiation, and a
// peer that closes without close_notify reads as end of stream (SMTP detects truncation
// itself: a reply or the end of DATA is either complete or missing).
int gs_ssl_ctx_policy(void *ssl_ctx) {
  SSL_CTX *ctx = ssl_ctx;
  if (ctx == NULL || !atomic_load(&gs_loaded)) return 0;
  if (p_SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL) != 1) return 0;
  // Level 2 (112-bit security: RSA and DH keys of 2048 bits and more, no SHA-1 signatures),
  // Debian's OpenSSL default, set here because no configuration file is read.
  p_SSL_CTX_set_security_level(ctx, 2);
  p_SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  return 1;
}

static int gs_ctx_common(SSL_CTX *ctx) {
  if (!gs_ssl_ctx_policy(ctx)) return 0;
  p_SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Partial writes and a moving buffer let the caller retry a non-blocking write with
  // whatever is left of its buffer.
  p_SSL_CTX_ctrl(ctx, SSL_CTRL_MODE,
                 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, NULL);
  return 1;
}

// Records which certificate failed, for the error message; the verdict is OpenSSL's.
static int gs_verify_callback(int preverify_ok, X509_STORE_CTX *store) {
  if (preverify_ok) return 1;
  SSL *ssl = p_X509_STORE_CTX_get_ex_data(store, p_SSL_get_ex_data_X509_STORE_CTX_idx());
  gs_tls *t = ssl ? p_SSL_get_ex_data(ssl, 0) : NULL;
  X509 *cert = p_X509_STORE_CTX_get0_cert(store);  // the leaf being verified
  if (t != NULL && cert != NULL && t->rejected_peer[0] == 0) {
    char subject[150], issuer[150];
    if (p_X509_NAME_oneline(p_X509_get_subject_name(cert), subject, sizeof subject) == NULL)
      gs_copy(subject, sizeof subject, "?");
    if (p_X509_NAME_oneline(p_X509_get_issuer_name(cert), issuer, sizeof issuer) == NULL)
      gs_copy(issuer, sizeof issuer, "?");
    snprintf(t->rejected_peer, sizeof t->rejected_peer, "subject=%s; issuer=%s", subject, issuer);
  }
  return 0;
}

// fopen() the file first, so that a missing or unreadable file gets the system's reason
// ("No such file or directory") rather than OpenSSL's "system lib".
static int gs_check_readable(const char *path, const char *what, char *err, size_t err_len) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    char msg[400];
    snprintf(msg, sizeof msg, "cannot read %s %s: %s", what, path, strerror(errno));
    gs_copy(err, err_len, msg);
    return 0;
  }
  fclose(f);
  return 1;
}

// True when `dir` holds OpenSSL hash links ("5ad8a5d6.0"), as update-ca-certificates and
// c_rehash make them.
static int gs_dir_has_hash_links(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) return 0;
  int found = 0;
  struct dirent *e;
  while (!found && (e = readdir(d)) != NULL) {
    const char *n = e->d_name;
    int hex = 0;
    while (hex < 8 && isxdigit((unsigned char)n[hex])) hex++;
    found = hex == 8 && n[8] == '.' && isdigit((unsigned char)n[9]);
  }
  closedir(d);
  return found;
}

static int gs_set(const char *s) { return s != NULL && s[0] != 0; }

int gs_choose_system_trust(const char *cert_file, const char *cert_dir, const char *default_dir,
                           const char **file, const char **dir) {
  *file = NULL;
  *dir = NULL;
  if (gs_set(cert_file)) {
    *file = cert_file;
    if (gs_set(cert_dir)) *dir = cert_dir;
    return GS_TRUST_FILE;
  }
  const char *candidate = gs_set(cert_dir) ? cert_dir : default_dir;
  if (gs_set(candidate) && gs_dir_has_hash_links(candidate)) {
    *dir = candidate;
    return GS_TRUST_HASHED_DIRECTORY;
  }
  if (gs_set(cert_dir)) {
    *dir = cert_dir;
    return GS_TRUST_DIRECTORY_AND_BUNDLE;
  }
  return GS_TRUST_BUILT_IN;
}

// The system trust store. SSL_CTX_set_default_verify_paths() parses the whole CA bundle
// file up front (40-100 ms on a busy 2-core machine); the hashed directory holds the same
// certificates and is read lazily, one CA per handshake, so it is used alone when
// gs_choose_system_trust says so. Every other choice is OpenSSL's own reading of
// SSL_CERT_FILE / SSL_CERT_DIR, which, as the choice, are ignored when running
// setuid/setgid.
static int gs_load_system_store(SSL_CTX *ctx) {
  const char *file, *dir;
  int choice = gs_choose_system_trust(secure_getenv(p_X509_get_default_cert_file_env()),
                                      secure_getenv(p_X509_get_default_cert_dir_env()),
                                      p_X509_get_default_cert_dir(), &file, &dir);
  if (choice == GS_TRUST_HASHED_DIRECTORY) return p_SSL_CTX_load_verify_dir(ctx, dir);
  return p_SSL_CTX_set_default_verify_paths(ctx);
}

// The trust store of a client context, loaded on the first certificate chain to verify:
// a resumed session presents none, so it never pays for parsing the CA file (2.5M
// instructions for the test CA file, more for a bundle). Lives as long as its context.
typedef struct gs_trust {
  pthread_mutex_t lock;
  SSL_CTX *ctx;       // not a reference: the context owns this
  char *ca_file;      // NULL: the system store
  int loaded;
  char error[400];    // why the last load failed
} gs_trust;

static void gs_trust_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                          void *argp) {
  (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
  gs_trust *trust = ptr;
  if (trust == NULL) return;
  pthread_mutex_destroy(&trust->lock);
  free(trust->ca_file);
  free(trust);
}

// Loads the trust store into the context's X509_STORE once; 1 on success. A failure is
// not remembered, so the next handshake tries again.
static int gs_trust_load(gs_trust *trust) {
  pthread_mutex_lock(&trust->lock);
  if (!trust->loaded) {
    p_ERR_clear_error();
    if (trust->ca_file != NULL) {
      // Only this file: the system store is deliberately not loaded.
      if (p_SSL_CTX_load_verify_locations(trust->ctx, trust->ca_file, NULL) == 1) {
        trust->loaded = 1;
      } else if (gs_check_readable(trust->ca_file, "CA file", trust->error,
                                   sizeof trust->error)) {
        char prefix[300];
        snprintf(prefix, sizeof prefix, "cannot load CA file %s", trust->ca_file);
        gs_openssl_reason(trust->error, sizeof trust->error, prefix, "no certificate found");
      }
    } else if (gs_load_system_store(trust->ctx) == 1) {
      trust->loaded = 1;
    } else {
      gs_openssl_reason(trust->error, sizeof trust->error, "cannot load the system CA store",
                        "unknown error");
    }
  }
  int loaded = trust->loaded;
  pthread_mutex_unlock(&trust->lock);
  return loaded;
}

// OpenSSL's chain verification (X509_verify_cert, with the host name and every check set
// on the session), after loading the trust store it needs.
static int gs_cert_verify(X509_STORE_CTX *store, void *arg) {
  gs_trust *trust = arg;
  if (gs_trust_load(trust)) return p_X509_verify_cert(store);
  SSL *ssl = p_X509_STORE_CTX_get_ex_data(store, p_SSL_get_ex_data_X509_STORE_CTX_idx());
  gs_tls *t = ssl ? p_SSL_get_ex_data(ssl, 0) : NULL;
  if (t != NULL) {
    t->ca_failed = 1;
    pthread_mutex_lock(&trust->lock);
    gs_copy(t->error, sizeof t->error, trust->error);
    pthread_mutex_unlock(&trust->lock);
  }
  p_X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
  return 0;
}

// Keeps the session the server gave for resumption by a later process (TLS 1.3 sends it
// after the handshake, in NewSessionTicket; TLS 1.2 at its end), but only one whose
// certificate passed verification. Returns 1: this code now holds the reference.
static int gs_new_session(SSL *ssl, SSL_SESSION *session) {
  gs_tls *t = p_SSL_get_ex_data(ssl, 0);
  if (t == NULL || t->host == NULL || p_SSL_get_verify_result(ssl) != X509_V_OK) return 0;
  // The session records the name its certificate was verified for: OpenSSL keeps the SNI
  // name only when the server acknowledged it, and never an IP literal.
  if (p_SSL_SESSION_set1_hostname(session, t->host) != 1) {
    p_ERR_clear_error();
    return 0;
  }
  if (t->new_session) p_SSL_SESSION_free(t->new_session);
  t->new_session = session;
  return 1;
}

// The client context is cached for the last CA choice: making one costs more than a
// handshake, which is worth doing once per process, not once per connection.
static pthread_mutex_t gs_client_ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *gs_client_ctx;
static gs_trust *gs_client_trust;  // the cached context's, owned by it (ca_file NULL: system store)

static SSL_CTX *gs_client_ctx_get(const char *ca_file, int *status, char *err, size_t err_len) {
  pthread_mutex_lock(&gs_client_ctx_lock);
  if (gs_client_ctx != NULL) {
    const char *cached = gs_client_trust->ca_file;
    int same = (ca_file == NULL && cached == NULL) ||
               (ca_file != NULL && cached != NULL && strcmp(ca_file, cached) == 0);
    if (same) {
      SSL_CTX *ctx = gs_client_ctx;
      p_SSL_CTX_up_ref(ctx);
      pthread_mutex_unlock(&gs_client_ctx_lock);
      return ctx;
    }
  }
  // A missing or unreadable CA file is a configuration error before any byte is sent;
  // parsing it waits for the first certificate to verify.
  if (ca_file != NULL && !gs_check_readable(ca_file, "CA file", err, err_len)) {
    *status = GS_TLS_CA_FILE;
    pthread_mutex_unlock(&gs_client_ctx_lock);
    return NULL;
  }
  p_ERR_clear_error();
  SSL_CTX *ctx = p_SSL_CTX_new(p_TLS_client_method());
  gs_trust *trust = calloc(1, sizeof *trust);
  char *ca_copy = ca_file ? strdup(ca_file) : NULL;
  if (ctx == NULL || trust == NULL || (ca_file != NULL && ca_copy == NULL) ||
      !gs_ctx_common(ctx) || p_SSL_CTX_set_ex_data(ctx, gs_ca_index, trust) != 1) {
    gs_openssl_reason(err, err_len, "cannot create a TLS client context", "unknown error");
    if (ctx) p_SSL_CTX_free(ctx);
    free(trust);
    free(ca_copy);
    *status = GS_TLS_ERROR;
    pthread_mutex_unlock(&gs_client_ctx_lock);
    return NULL;
  }
  pthread_mutex_init(&trust->lock, NULL);
  trust->ctx = ctx;
  trust->ca_file = ca_copy;
  // Verification is not optional: SSL_VERIFY_PEER makes the handshake fail on any
  // chain, expiry or host-name problem.
  p_SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, gs_verify_callback);
  p_SSL_CTX_set_cert_verify_callback(ctx, gs_cert_verify, trust);
  // Sessions are handed to the caller (gs_tls_take_session), never kept in the context.
  p_SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE,
                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE, NULL);
  p_SSL_CTX_sess_set_new_cb(ctx, gs_new_session);
  if (gs_client_ctx) p_SSL_CTX_free(gs_client_ctx);
  gs_client_ctx = ctx;
  gs_client_trust = trust;
  p_SSL_CTX_up_ref(ctx);  // one reference for the cache, one for the caller
  pthread_mutex_unlock(&gs_client_ctx_lock);
  return ctx;
}

struct gs_tls_server_ctx {
  SSL_CTX *ctx;
};

// Accepts whatever name the client asks for, so that the server acknowledges SNI (an
// empty server_name extension, RFC 6066 §3) as public servers such as smtp.gmail.com do.
static int gs_accept_server_name(SSL *ssl, int *alert, void *arg) {
  (void)ssl, (void)alert, (void)arg;
  return SSL_TLSEXT_ERR_OK;
}

gs_tls_server_ctx *gs_tls_server_ctx_new(const char *cert_file, const char *key_file,
                                         long session_lifetime, char *err, size_t err_len) {
  if (gs_openssl_load(err, err_len) != 0) return NULL;
  p_ERR_clear_error();
  SSL_CTX *ctx = p_SSL_CTX_new(p_TLS_server_method());
  if (ctx == NULL || !gs_ctx_common(ctx)) {
    gs_openssl_reason(err, err_len, "cannot create a TLS server context", "unknown error");
    if (ctx) p_SSL_CTX_free(ctx);
    return NULL;
  }
  char prefix[300];
  if (!gs_check_readable(cert_file, "certificate", err, err_len) ||
      !gs_check_readable(key_file, "private key", err, err_len)) {
    p_SSL_CTX_free(ctx);
    return NULL;
  }
  if (p_SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
    snprintf(prefix, sizeof prefix, "cannot load certificate %s", cert_file);
    gs_openssl_reason(err, err_len, prefix, "unknown error");
    p_SSL_CTX_free(ctx);
    return NULL;
  }
  if (p_SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
      p_SSL_CTX_check_private_key(ctx) != 1) {
    snprintf(prefix, sizeof prefix, "cannot load private key %s", key_file);
    gs_openssl_reason(err, err_len, prefix, "unknown error");
    p_SSL_CTX_free(ctx);
    return NULL;
  }
  p_SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                          (void (*)(void))gs_accept_server_name);
  if (session_lifetime > 0) {
    // The lifetime of sessions, and the lifetime hint of the tickets that carry them.
    p_SSL_CTX_set_timeout(ctx, session_lifetime);
  } else {
    // No resumption at all: no tickets (TLS 1.3 NewSessionTicket, TLS 1.2 RFC 5077) and
    // no session IDs remembered by the server.
    p_SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    p_SSL_CTX_set_num_tickets(ctx, 0);
    p_SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_OFF, NULL);
  }
  gs_tls_server_ctx *s = calloc(1, sizeof *s);
  if (s == NULL) {
    gs_copy(err, err_len, "out of memory");
    p_SSL_CTX_free(ctx);
    return NULL;
  }
  s->ctx = ctx;
  return s;
}

void gs_tls_server_ctx_free(gs_tls_server_ctx *s) {
  if (s == NULL) return;
  p_SSL_CTX_free(s->ctx);
  free(s);
}

// MARK: - Sessions

static gs_tls *gs_tls_new(SSL_CTX *ctx, int fd, char *err, size_t err_len) {
  gs_tls *t = calloc(1, sizeof *t);
  if (t == NULL) {
    gs_copy(err, err_len, "out of memory");
    return NULL;
  }
  t->fd = fd;
  t->ssl = p_SSL_new(ctx);
  BIO *bio = t->ssl ? p_BIO_new(gs_socket_bio_method) : NULL;
  if (bio == NULL) {
    gs_openssl_reason(err, err_len, "cannot create a TLS session", "unknown error");
    if (t->ssl) p_SSL_free(t->ssl);
    free(t);
    return NULL;
  }
  p_BIO_set_data(bio, t);
  p_BIO_set_init(bio, 1);
  p_SSL_set_bio(t->ssl, bio, bio);  // the SSL owns the BIO from here
  return t;
}

static int gs_is_ip_literal(const char *host) {
  unsigned char addr[16];
  return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

// The saved session `der`, when it may be resumed for `host` at `now`: a session OpenSSL
// can resume, whose certificate was verified for exactly this host name or IP literal
// (gs_new_session), neither expired at `now` (its lifetime, and the server's ticket
// lifetime hint) nor from more than 5 minutes ahead of `now`. NULL otherwise, also when it
// cannot be decoded.
static SSL_SESSION *gs_resumable_session(const unsigned char *der, size_t len, const char *host,
                                         long long now) {
  if (der == NULL || len == 0 || len > GS_TLS_SESSION_MAX) return NULL;
  const unsigned char *p = der;
  SSL_SESSION *session = p_d2i_SSL_SESSION(NULL, &p, (long)len);
  p_ERR_clear_error();
  if (session == NULL) return NULL;
  const char *name = p_SSL_SESSION_get0_hostname(session);
  long long made = p_SSL_SESSION_get_time(session);
  long long lifetime = p_SSL_SESSION_get_timeout(session);
  unsigned long hint = p_SSL_SESSION_get_ticket_lifetime_hint(session);
  if (hint > 0 && (long long)hint < lifetime) lifetime = (long long)hint;
  int ok = p == der + len && p_SSL_SESSION_is_resumable(session) == 1 &&
           name != NULL && strcmp(name, host) == 0 &&
           made - 300 <= now && now < made + lifetime;
  if (!ok) {
    p_SSL_SESSION_free(session);
    return NULL;
  }
  return session;
}

gs_tls *gs_tls_client_new(int fd, const char *host, const char *ca_file,
                          const unsigned char *session, size_t session_len, long long now,
                          int *status, char *err, size_t err_len) {
  if (gs_openssl_load(err, err_len) != 0) {
    *status = GS_TLS_UNAVAILABLE;
    return NULL;
  }
  SSL_CTX *ctx = gs_client_ctx_get(ca_file, status, err, err_len);
  if (ctx == NULL) return NULL;
  gs_tls *t = gs_tls_new(ctx, fd, err, err_len);
  p_SSL_CTX_free(ctx);  // the session holds its own reference
  if (t == NULL) {
    *status = GS_TLS_ERROR;
    return NULL;
  }
  t->is_client = 1;
  p_SSL_set_ex_data(t->ssl, 0, t);  // for gs_verify_callback
  X509_VERIFY_PARAM *param = p_SSL_get0_param(t->ssl);
  p_X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  t->host = strdup(host);
  int ok;
  if (t->host == NULL) {
    ok = 0;
  } else if (gs_is_ip_literal(host)) {
    // RFC 6066 §3: no SNI for IP literals; the certificate needs an iPAddress SAN.
    ok = p_X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1;
  } else {
    ok = p_SSL_set1_host(t->ssl, host) == 1 &&
         p_SSL_ctrl(t->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                    (void *)host) == 1;
  }
  if (!ok) {
    char prefix[300];
    snprintf(prefix, sizeof prefix, "cannot use %s as the TLS server name", host);
    gs_openssl_reason(err, err_len, prefix, "invalid name");
    gs_tls_free(t);
    *status = GS_TLS_ERROR;
    return NULL;
  }
  // A session the server refuses to resume costs nothing but the offer: OpenSSL then
  // makes a full handshake, with full verification.
  SSL_SESSION *saved = gs_resumable_session(session, session_len, host, now);
  if (saved != NULL) {
    if (p_SSL_set_session(t->ssl, saved) != 1) p_ERR_clear_error();
    p_SSL_SESSION_free(saved);  // the SSL holds its own reference
  }
  p_SSL_set_connect_state(t->ssl);
  *status = GS_TLS_OK;
  return t;
}

gs_tls *gs_tls_server_new(gs_tls_server_ctx *s, int fd, char *err, size_t err_len) {
  gs_tls *t = gs_tls_new(s->ctx, fd, err, err_len);
  if (t == NULL) return NULL;
  p_SSL_set_accept_state(t->ssl);
  return t;
}

// Turns the result of an SSL call into a status, filling t->error on failure.
static int gs_tls_status_of(gs_tls *t, int ret, const char *what) {
  int e = p_SSL_get_error(t->ssl, ret);
  switch (e) {
    case SSL_ERROR_NONE: return GS_TLS_OK;
    case SSL_ERROR_WANT_READ: return GS_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return GS_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
      p_ERR_clear_error();
      snprintf(t->error, sizeof t->error, "connection closed by the peer during %s", what);
      return GS_TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
      p_ERR_clear_error();
      if (t->last_errno != 0) {
        snprintf(t->error, sizeof t->error, "%s: %s", what, strerror(t->last_errno));
        return GS_TLS_IO;
      }
      snprintf(t->error, sizeof t->error, "connection closed by the peer during %s", what);
      return GS_TLS_CLOSED;
    default: break;
  }
  if (t->ca_failed) {
    p_ERR_clear_error();
    return GS_TLS_CA_FILE;  // t->error is set
  }
  if (t->is_client) {
    long v = p_SSL_get_verify_result(t->ssl);
    if (v != X509_V_OK) {
      const char *reason = p_X509_verify_cert_error_string(v);
      if (t->rejected_peer[0])
        snprintf(t->error, sizeof t->error, "certificate verify failed: %s (%s)", reason,
                 t->rejected_peer);
      else
        snprintf(t->error, sizeof t->error, "certificate verify failed: %s", reason);
      p_ERR_clear_error();
      return GS_TLS_CERTIFICATE;
    }
  }
  gs_openssl_reason(t->error, sizeof t->error, NULL, "unknown TLS error");
  return GS_TLS_ERROR;
}

int gs_tls_handshake(gs_tls *t) {
  p_ERR_clear_error();
  t->last_errno = 0;
  int ret = p_SSL_do_handshake(t->ssl);
  if (ret == 1) return GS_TLS_OK;
  return gs_tls_status_of(t, ret, "TLS handshake");
}

int gs_tls_read(gs_tls *t, void *buf, size_t len, size_t *nread) {
  p_ERR_clear_error();
  t->last_errno = 0;
  *nread = 0;
  if (p_SSL_read_ex(t->ssl, buf, len, nread) == 1) return GS_TLS_OK;
  return gs_tls_status_of(t, 0, "TLS read");
}

int gs_tls_write(gs_tls *t, const void *buf, size_t len, size_t *nwritten) {
  p_ERR_clear_error();
  t->last_errno = 0;
  *nwritten = 0;
  if (p_SSL_write_ex(t->ssl, buf, len, nwritten) == 1) return GS_TLS_OK;
  return gs_tls_status_of(t, 0, "TLS write");
}

void gs_tls_shutdown(gs_tls *t) {
  p_ERR_clear_error();
  (void)p_SSL_shutdown(t->ssl);
  p_ERR_clear_error();
}

const char *gs_tls_error(const gs_tls *t) { return t->error; }
int gs_tls_errno(const gs_tls *t) { return t->last_errno; }

const char *gs_tls_version(const gs_tls *t) { return p_SSL_get_version(t->ssl); }

const char *gs_tls_cipher(const gs_tls *t) {
  const SSL_CIPHER *c = p_SSL_get_current_cipher(t->ssl);
  return c ? p_SSL_CIPHER_get_name(c) : "(none)";
}

int gs_tls_peer_summary(const gs_tls *t, char *buf, size_t len) {
  X509 *cert = p_SSL_get1_peer_certificate(t->ssl);
  if (cert == NULL) return -1;
  char subject[160], issuer[160];
  if (p_X509_NAME_oneline(p_X509_get_subject_name(cert), subject, sizeof subject) == NULL)
    gs_copy(subject, sizeof subject, "?");
  if (p_X509_NAME_oneline(p_X509_get_issuer_name(cert), issuer, sizeof issuer) == NULL)
    gs_copy(issuer, sizeof issuer, "?");
  p_X509_free(cert);
  snprintf(buf, len, "subject=%s; issuer=%s", subject, issuer);
  return 0;
}

const char *gs_tls_requested_server_name(const gs_tls *t) {
  return p_SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
}

int gs_tls_session_reused(const gs_tls *t) { return p_SSL_session_reused(t->ssl) == 1; }

long gs_tls_take_session(gs_tls *t, unsigned char *buf, size_t len) {
  SSL_SESSION *session = t->new_session;
  if (session == NULL) return 0;
  t->new_session = NULL;
  long size = -1;
  int needed = p_i2d_SSL_SESSION(session, NULL);
  if (needed > 0 && (size_t)needed <= len && p_SSL_SESSION_is_resumable(session) == 1) {
    unsigned char *p = buf;
    size = p_i2d_SSL_SESSION(session, &p);
  }
  p_SSL_SESSION_free(session);
  // Saved without the server's certificate ([3] peer): it was verified when the session
  // was made, resumption does not send it again, and decoding it would cost the resuming
  // process more than the rest of the resumed handshake. What remains must decode.
  if (size > 0) {
    size = (long)gs_der_drop_field(buf, (size_t)size, 3);
    const unsigned char *p = buf;
    SSL_SESSION *check = size > 0 ? p_d2i_SSL_SESSION(NULL, &p, size) : NULL;
    if (check == NULL || p != buf + size) size = -1;
    if (check) p_SSL_SESSION_free(check);
  }
  p_ERR_clear_error();
  return size > 0 ? size : -1;
}

void gs_tls_free(gs_tls *t) {
  if (t == NULL) return;
  if (t->new_session) p_SSL_SESSION_free(t->new_session);
  free(t->host);
  p_SSL_free(t->ssl);
  free(t);
}

// MARK: - Crypto helpers

int gs_sha256(const void *data, size_t len, unsigned char *out) {
  if (gs_openssl_load(NULL, 0) != 0) return -1;
  unsigned int n = 0;
  int ok = p_EVP_Digest(data, len, out, &n, p_EVP_sha256(), NULL) == 1 && n == 32;
  p_ERR_clear_error();
  return ok ? 0 : -1;
}

int gs_random_bytes(void *buf, size_t len) {
  unsigned char *p = buf;
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int gs_rsa_sha256_sign_pem(const char *pem, size_t pem_len, const void *data, size_t len,
                           unsigned char *out, size_t *out_len, char *err, size_t err_len) {
  if (gs_openssl_load(err, err_len) != 0) return GS_TLS_UNAVAILABLE;
  if (err && err_len) err[0] = 0;
  p_ERR_clear_error();
  if (pem_len > 1 << 20) {
    gs_copy(err, err_len, "private key is implausibly large");
    return -1;
  }
  BIO *bio = p_BIO_new_mem_buf(pem, (int)pem_len);
  if (bio == NULL) {
    gs_openssl_reason(err, err_len, "cannot read private key", "out of memory");
    return -1;
  }
  // A NULL password callback with an empty user pointer: an encrypted key fails instead of
  // prompting on the terminal.
  EVP_PKEY *key = p_PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
  p_BIO_free(bio);
  if (key == NULL) {
    gs_openssl_reason(err, err_len, "cannot read private key", "not a PEM private key");
    return -1;
  }
  if (p_EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    gs_copy(err, err_len, "private key is not an RSA key");
    p_EVP_PKEY_free(key);
    return -1;
  }
  EVP_MD_CTX *md = p_EVP_MD_CTX_new();
  int rc = -1;
  if (md != NULL && p_EVP_DigestSignInit(md, NULL, p_EVP_sha256(), NULL, key) == 1) {
    size_t needed = 0;
    if (p_EVP_DigestSign(md, NULL, &needed, data, len) == 1 && needed <= *out_len &&
        p_EVP_DigestSign(md, out, out_len, data, len) == 1) {
      rc = 0;
    } else if (needed > *out_len) {
      gs_copy(err, err_len, "signature buffer too small");
    }
  }
  if (rc != 0 && err && err_len && err[0] == 0)
    gs_openssl_reason(err, err_len, "RSA-SHA256 signing failed", "unknown error");
  p_ERR_clear_error();
  if (md) p_EVP_MD_CTX_free(md);
  p_EVP_PKEY_free(key);
  return rc;
}
