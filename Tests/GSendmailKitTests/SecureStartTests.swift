// SPDX-License-Identifier: MIT
// The secure start-up's allow-list: what a set-group-ID gsendmail keeps of the
// caller's environment, decided entry by entry before main().

import CShim
import Testing

@Suite("Secure start-up")
struct SecureStartTests {
  static func keeps(_ entry: String) -> Bool { gs_secure_environment_keeps(entry) == 1 }

  @Test("variables gsendmail reads are kept when their values are plain", arguments: [
    "USER=alice", "LOGNAME=www-data", "HOME=/home/alice", "GSENDMAIL_CONFIG=/home/alice/gs.toml",
    "XDG_CONFIG_HOME=/home/alice/.config", "XDG_STATE_HOME=/home/alice/.local/state", "TZ=UTC",
    "TZ=Europe/Paris", "TZ=EST5EDT", "LANG=en_US.UTF-8", "LC_ALL=C", "LC_MESSAGES=sr_RS@latin",
  ])
  func kept(entry: String) {
    #expect(Self.keeps(entry))
  }

  @Test("variables that steer libraries, and odd values of kept ones, are dropped", arguments: [
    "SSLKEYLOGFILE=/tmp/k", "OPENSSL_CONF=/tmp/o.cnf", "OPENSSL_MODULES=/tmp/m", "CURL_CA_BUNDLE=/tmp/ca",
    "http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9", "HTTPS_PROXY=x", "ALL_PROXY=x", "NO_PROXY=*",
    "LD_PRELOAD=/tmp/x.so", "LD_LIBRARY_PATH=/tmp", "GCONV_PATH=/tmp", "HOSTALIASES=/tmp/h", "LOCALDOMAIN=evil",
    "RES_OPTIONS=debug", "NLSPATH=/tmp/%N", "TMPDIR=/tmp/t", "TZDIR=/tmp", "SSL_CERT_FILE=/tmp/c", "SSL_CERT_DIR=/tmp",
    "PATH=/tmp", "BROWSER=x", "MALLOC_CHECK_=3", "GLIBC_TUNABLES=x", "SWIFT_BACKTRACE=enable=yes",
    "TZ=/tmp/zone", "TZ=:/tmp/zone", "TZ=../../tmp/zone", "TZ=Europe//Paris", "TZ=", "LANG=../../tmp/l",
    "LANG=/tmp/l", "LANG=", "LC_ALL=en US", "HOME=relative", "HOME=", "XDG_STATE_HOME=.", "GSENDMAIL_CONFIG=x.toml",
    "USER=a/b", "USER=", "USER=a b", "HOME=/home/a\nb", "HOME=/home/\u{1b}[2J", "=x", "USER", "user=alice",
  ])
  func dropped(entry: String) {
    #expect(!Self.keeps(entry))
  }

  @Test("a value longer than the limit is dropped, not cut")
  func long() {
    #expect(Self.keeps("HOME=/" + String(repeating: "a", count: 1023)))
    #expect(!Self.keeps("HOME=/" + String(repeating: "a", count: 1024)))
  }

  @Test("an unprivileged process keeps its environment as it is")
  func unprivileged() {
    #expect(gs_secure_start_state() == 0)
  }
}
