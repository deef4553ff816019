// SPDX-License-Identifier: MIT
// CShim: the only C in gsendmail. A small opaque TLS and crypto API over OpenSSL 3,
// which is opened with dlopen() on first use so that programs that never talk TLS
// (`gsendmail --version`, `--dry-run`) never map libssl/libcrypto.
// Failure policy: nothing here aborts or prints; every failure is a status code plus
// a readable message (OpenSSL reason, X.509 verify result) that never holds secrets.
#ifndef GSENDMAIL_CSHIM_H
#define GSENDMAIL_CSHIM_H

#include <stddef.h>

/// Results of the TLS calls. Non-negative values are not errors.
enum gs_tls_status {
  /// The operation completed.
  GS_TLS_OK = 0,
  /// Wait until the socket is readable, then call again.
  GS_TLS_WANT_READ = 1,
  /// Wait until the socket is writable, then call again.
  GS_TLS_WANT_WRITE = 2,
  /// The peer closed the connection (close_notify or plain TCP EOF).
  GS_TLS_CLOSED = 3,
  /// TLS protocol failure (handshake refused, bad record, unsupported version…).
  GS_TLS_ERROR = -1,
  /// The peer's certificate failed verification (chain, expiry or host name).
  GS_TLS_CERTIFICATE = -2,
  /// A socket error; `gs_tls_errno` tells which.
  GS_TLS_IO = -3,
  /// libssl.so.3 / libcrypto.so.3 could not be loaded.
  GS_TLS_UNAVAILABLE = -4,
  /// The CA file given in place of the system store could not be loaded.
  GS_TLS_CA_FILE = -5,
};

/// One TLS session over a connected, non-blocking socket. Opaque.
typedef struct gs_tls gs_tls;
/// A server configuration (certificate chain + key). Opaque; safe to share between threads.
typedef struct gs_tls_server_ctx gs_tls_server_ctx;

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC (not visible to Swift without _GNU_SOURCE).
int gs_accept_nonblocking(int listen_fd);

/// Loads libssl.so.3 and libcrypto.so.3 once (thread-safe). Returns 0 on success; else -1
/// with a message in `err`.
int gs_openssl_load(char *err, size_t err_len);
/// Unmaps the pages of every loaded object's relocation tables, which the dynamic
/// loader only reads while loading it (Relocations.c). Called once start-up is done and
/// after OpenSSL is loaded; harmless to call again. Returns the bytes unmapped.
size_t gs_release_relocation_tables(void);
/// 1 when OpenSSL has been loaded into this process by `gs_openssl_load`, else 0.
int gs_openssl_is_loaded(void);
/// dlopen(3) of a library gsendmail loads on first use (OpenSSL, libcurl): bound at once
/// (RTLD_NOW), its symbols kept out of the global namespace (RTLD_LOCAL) and looked up in
/// its own dependencies first (RTLD_DEEPBIND, except under the address and thread
/// sanitizers, which refuse it). NULL with dlerror(3) set when it cannot be loaded.
void *gs_dlopen_local(const char *soname);
/// Applies gsendmail's TLS policy to an OpenSSL `SSL_CTX` made elsewhere (libcurl's):
/// TLS 1.2 at least, security level 2, no compression, no renegotiation. Returns 1, or 0
/// when OpenSSL was not loaded by `gs_openssl_load` or the context refused.
int gs_ssl_ctx_policy(void *ssl_ctx);

/// Where a TLS client without a CA file of its own finds the certificates it trusts.
enum gs_trust_choice {
  /// The library's built-in CA bundle file and directory, untouched.
  GS_TRUST_BUILT_IN = 0,
  /// The file SSL_CERT_FILE names, and the directory SSL_CERT_DIR names when it is set.
  GS_TRUST_FILE = 1,
  /// The hashed directory alone: no bundle file is read.
  GS_TRUST_HASHED_DIRECTORY = 2,
  /// The directory SSL_CERT_DIR names (without hash links), with the built-in bundle file.
  GS_TRUST_DIRECTORY_AND_BUNDLE = 3,
};

/// The system trust store of both TLS clients, the SMTP connection (here) and libcurl's
/// requests (CCurlShim). SSL_CERT_FILE and SSL_CERT_DIR (`cert_file`, `cert_dir`; NULL or
/// empty when unset) keep OpenSSL's meaning, and when no file is named and the directory
/// (SSL_CERT_DIR, else the library's built-in `default_dir`, NULL when it has none) holds
/// hash links ("5ad8a5d6.0", as update-ca-certificates makes them), it is used alone:
/// OpenSSL then reads one CA certificate per verified chain instead of parsing the whole
/// bundle file first. Sets `*file` and `*dir` (NULL: none) for the choice made.
int gs_choose_system_trust(const char *cert_file, const char *cert_dir, const char *default_dir,
                           const char **file, const char **dir);

/// The largest saved TLS session accepted by `gs_tls_client_new` (`gs_tls_take_session`
/// needs no more room).
#define GS_TLS_SESSION_MAX 16384

/// Starts a client session on `fd`. Verification is always on: the system store, or only
/// `ca_file` when non-NULL (loaded when the first certificate is verified); the certificate
/// must match `host` (DNS name or IP literal; SNI is sent for names only). TLS 1.2 is the
/// minimum. `session` (`session_len` bytes, or NULL) is a session saved by
/// `gs_tls_take_session` to offer for resumption; it is ignored unless it decodes, was made
/// for `host`, and has not expired at `now` (seconds since the epoch). Returns NULL with
/// `*status` and `err` set.
gs_tls *gs_tls_client_new(int fd, const char *host, const char *ca_file,
                          const unsigned char *session, size_t session_len, long long now,
                          int *status, char *err, size_t err_len);
/// Loads a PEM certificate chain and private key for serving TLS 1.2+. Sessions can be
/// resumed for `session_lifetime` seconds (TLS 1.3 session tickets); 0 offers no resumption
/// at all. NULL with `err` on failure.
gs_tls_server_ctx *gs_tls_server_ctx_new(const char *cert_file, const char *key_file,
                                         long session_lifetime, char *err, size_t err_len);
/// Frees a server context (sessions made from it keep their own reference).
void gs_tls_server_ctx_free(gs_tls_server_ctx *ctx);
/// Starts a server session on `fd`. NULL with `err` on failure.
gs_tls *gs_tls_server_new(gs_tls_server_ctx *ctx, int fd, char *err, size_t err_len);

/// Advances the handshake: GS_TLS_OK, GS_TLS_WANT_READ/WRITE, or an error (see gs_tls_error).
int gs_tls_handshake(gs_tls *t);
/// Reads up to `len` plaintext bytes; on GS_TLS_OK `*nread` > 0.
int gs_tls_read(gs_tls *t, void *buf, size_t len, size_t *nread);
/// Writes up to `len` plaintext bytes; on GS_TLS_OK `*nwritten` > 0 (may be partial).
int gs_tls_write(gs_tls *t, const void *buf, size_t len, size_t *nwritten);
/// Sends close_notify once, without waiting for the peer's. Best effort.
void gs_tls_shutdown(gs_tls *t);
/// The message for the last error status returned on this session.
const char *gs_tls_error(const gs_tls *t);
/// The errno for the last GS_TLS_IO status (0 when the peer just closed).
int gs_tls_errno(const gs_tls *t);
/// The negotiated protocol, e.g. "TLSv1.3".
const char *gs_tls_version(const gs_tls *t);
/// The negotiated cipher suite, e.g. "TLS_AES_256_GCM_SHA384".
const char *gs_tls_cipher(const gs_tls *t);
/// Writes "subject=…; issuer=…" of the peer certificate into `buf`; 0 if there is one, else -1.
int gs_tls_peer_summary(const gs_tls *t, char *buf, size_t len);
/// Server side: the host name the client sent as SNI, or NULL when it sent none.
const char *gs_tls_requested_server_name(const gs_tls *t);
/// 1 when the handshake resumed a saved session (no certificate was sent), else 0.
int gs_tls_session_reused(const gs_tls *t);
/// Client side: moves the newest session the server gave for resumption, whose certificate
/// passed verification, into `buf` (DER, as i2d_SSL_SESSION), and forgets it. Returns its
/// length; 0 when the server gave none since the last call; -1 when it does not fit or
/// cannot be resumed. The bytes are a secret: whoever has them can resume as this client.
long gs_tls_take_session(gs_tls *t, unsigned char *buf, size_t len);
/// Removes the field `[tag_number]` (context-specific, constructed) from the DER SEQUENCE
/// `der` of `len` bytes, in place (SessionDER.c). Returns the new length (`len` when there
/// is no such field), or 0 when `der` is not one whole DER SEQUENCE.
size_t gs_der_drop_field(unsigned char *der, size_t len, int tag_number);
/// Frees the session (does not close the socket).
void gs_tls_free(gs_tls *t);

/// SHA-256 of `len` bytes into `out` (32 bytes). 0 on success, -1 when OpenSSL is unavailable.
int gs_sha256(const void *data, size_t len, unsigned char *out);
/// Fills `buf` with `len` bytes from the kernel CSPRNG (getrandom). 0 on success, else an errno.
int gs_random_bytes(void *buf, size_t len);
/// RSASSA-PKCS1-v1_5 SHA-256 signature (JWT RS256) of `data` with a PEM private key
/// (PKCS#8 "PRIVATE KEY" or "RSA PRIVATE KEY"). `*out_len` is the capacity of `out` on entry
/// (512 is enough for RSA-4096) and the signature length on return. 0 on success; -1 with
/// `err` (never the key) on failure; GS_TLS_UNAVAILABLE when OpenSSL cannot be loaded.
int gs_rsa_sha256_sign_pem(const char *pem, size_t pem_len, const void *data, size_t len,
                           unsigned char *out, size_t *out_len, char *err, size_t err_len);

// MARK: - DNS (Resolver.c)

/// Failures of `gs_dns_query` (the reply length is returned on success).
enum gs_dns_status {
  /// No reply to use: `*h_error` says why (HOST_NOT_FOUND for NXDOMAIN, NO_DATA for a name
  /// without records of the type, TRY_AGAIN for SERVFAIL or no reply in time, NO_RECOVERY).
  GS_DNS_NO_ANSWER = -1,
  /// The resolver could not be set up (res_ninit failed, or no memory).
  GS_DNS_INIT = -2,
  /// `server_ipv4`/`server_port` is not an IPv4 address and port.
  GS_DNS_BAD_SERVER = -3,
};

/// Asks for records of `type` (e.g. 16 for TXT), class IN, at `name` (no search list), and
/// writes the raw reply into `answer`. The name server is resolv.conf's, or only
/// `server_ipv4`:`server_port` when `server_ipv4` is non-NULL (tests). Two tries within about
/// `timeout_seconds`; EDNS0, with TCP after a truncated reply.
/// Returns the reply length, or a `gs_dns_status` with `*h_error` set for GS_DNS_NO_ANSWER.
int gs_dns_query(const char *name, int type, const char *server_ipv4, int server_port,
                 int timeout_seconds, unsigned char *answer, int answer_len, int *h_error);

// MARK: - Secure start-up (SecureStart.c)

/// Whether the secure start-up keeps the environment entry `NAME=value` of a process that
/// runs with privileges it did not inherit (set-group-ID): 1 to keep it, 0 to drop it.
int gs_secure_environment_keeps(const char *entry);
/// 1 when the secure start-up rebuilt this process's environment (it runs privileged),
/// 0 when it had nothing to do.
int gs_secure_start_state(void);

#include <sys/types.h>

/// Starts `path` with `argv` and `envp` in a process group of its own: standard input
/// /dev/null, standard output `out_fd`, standard error `err_fd`, every other descriptor
/// closed. When `set_group` is non-zero, its real, effective and saved group ids all become
/// `group` first, so a shell it runs does not drop a set-group-ID group (dash does when they
/// differ) and a command never keeps one it should not have. Returns the child's pid, or -1
/// with errno when fork fails; a child that cannot start the command exits 127.
pid_t gs_spawn_command(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd,
                       int set_group, gid_t group);
/// Closes every descriptor from 3 up except `keep` (none when `keep` < 3), in this process.
/// Returns 0, or -1 with errno (ENOSYS before Linux 5.9). The corresponding C function is
/// `close_range`.
int gs_close_descriptors_except(int keep);

#endif
