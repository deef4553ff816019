// SPDX-License-Identifier: MIT
// Helpers for the transport tests: running the openssl CLI, a throwaway PKI in a temp
// directory, threads for loopback servers, and small file helpers. Glibc only.

import Testing
import Transport

#if canImport(Glibc)
  import Glibc
#endif

/// Runs a program (found on PATH) and returns its exit status; output goes to /dev/null
/// unless `output` names a file. `environment` replaces the whole environment when given.
@discardableResult
func run(_ arguments: [String], output: String = "/dev/null", environment: [String]? = nil)
  -> Int32
{
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
  var pid: pid_t = 0
  let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
  defer { argv.forEach { free($0) } }
  let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
  defer { envp?.forEach { free($0) } }
  let spawned =
    envp.map { posix_spawnp(&pid, arguments[0], &actions, nil, argv, $0) }
    ?? posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
  guard spawned == 0 else { return -1 }
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
}

/// Starts a program in the background and returns its pid (0 on failure).
func spawn(_ arguments: [String]) -> pid_t {
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
  var pid: pid_t = 0
  let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
  defer { argv.forEach { free($0) } }
  guard posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ) == 0 else { return 0 }
  return pid
}

/// Stops and reaps a process started by `spawn`.
func stop(_ pid: pid_t) {
  guard pid > 0 else { return }
  kill(pid, SIGTERM)
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
}

func readFile(_ path: String) -> [UInt8]? {
  guard let f = fopen(path, "rb") else { return nil }
  defer { fclose(f) }
  var out: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 4096)
  while true {
    let n = fread(&chunk, 1, chunk.count, f)
    if n == 0 { break }
    out += chunk[0..<n]
  }
  return out
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
  guard let f = fopen(path, "wb") else { return }
  _ = fwrite(bytes, 1, bytes.count, f)
  fclose(f)
}

/// Milliseconds elapsed while running `body`.
func elapsedMilliseconds(_ body: () -> Void) -> Int64 {
  let clock = ContinuousClock()
  let start = clock.now
  body()
  let (s, atto) = (clock.now - start).components
  return s * 1000 + atto / 1_000_000_000_000_000
}

/// A value written by one thread and read by another after `join`.
final class Box<T>: @unchecked Sendable {
  var value: T
  init(_ value: T) { self.value = value }
}

/// A POSIX thread running `body`; `join()` waits for it.
final class TestThread: @unchecked Sendable {
  private var thread = pthread_t()
  private var started = false

  init(_ body: @escaping @Sendable () -> Void) {
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    started =
      pthread_create(
        &thread, nil,
        { raw in
          guard let raw else { return nil }
          let body = Unmanaged<Box<@Sendable () -> Void>>.fromOpaque(raw).takeRetainedValue()
          body.value()
          return nil
        }, box) == 0
    if !started { Unmanaged<Box<@Sendable () -> Void>>.fromOpaque(box).release() }
  }

  func join() {
    if started { pthread_join(thread, nil) }
    started = false
  }
}

/// A throwaway PKI made with the openssl CLI, once per test process.
struct PKI: Sendable {
  let dir: String
  var caFile: String { dir + "/ca.pem" }
  func cert(_ name: String) -> String { dir + "/\(name).pem" }
  func key(_ name: String) -> String { dir + "/\(name).key" }
  /// Whether an expired certificate could be made (needs `openssl ca`).
  let hasExpired: Bool

  /// Whether this machine can listen on the IPv6 loopback.
  static let hasIPv6 = (try? TCPListener(host: "::1")) != nil

  static let shared: PKI? = make()

  /// The temp directory, removed when the test process exits.
  private static let directory: String? = {
    var template = Array("/tmp/gsendmail-transport-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { return nil }
    atexit {
      if let dir = PKI.directory { run(["rm", "-rf", dir]) }
    }
    return String(cString: made)
  }()

  private static func make() -> PKI? {
    guard let dir = directory else { return nil }
    let script = """
      set -e
      cd '\(dir)'
      ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      for ca in ca other-ca; do
        openssl req -x509 $ec -keyout $ca.key -out $ca.pem -days 30 -subj /CN=gsendmail-test-$ca \
          -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
      done
      issue() {
        openssl req $ec -keyout $1.key -out $1.csr -subj /CN=$4
        printf '%s\\n' "subjectAltName=$3" basicConstraints=CA:FALSE \
          extendedKeyUsage=serverAuth > $1.ext
        openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial -days 30 \
          -extfile $1.ext -out $1.pem
      }
      issue good ca 'DNS:localhost,IP:127.0.0.1,IP:::1' localhost
      issue wrongname ca 'DNS:wrong.example' wrong.example
      issue untrusted other-ca 'DNS:localhost,IP:127.0.0.1' localhost
      openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key
      openssl pkey -in rsa.key -pubout -out rsa.pub
      """
    guard run(["sh", "-c", script]) == 0 else { return nil }
    let expired = """
      set -e
      cd '\(dir)'
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout expired.key \
        -out expired.csr -subj /CN=localhost
      printf 'subjectAltName=DNS:localhost\\nbasicConstraints=CA:FALSE\\n' > expired.ext
      : > index.txt
      echo 1000 > serial
      printf '%s\\n' '[ca]' default_ca=d '[d]' database=index.txt new_certs_dir=. serial=serial \
        default_md=sha256 policy=p '[p]' commonName=supplied > ca.cnf
      openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
        -out expired.pem \
        -startdate 20200101000000Z -enddate 20200201000000Z -extfile expired.ext -notext
      """
    let hasExpired = run(["sh", "-c", expired]) == 0
    return PKI(dir: dir, hasExpired: hasExpired)
  }
}

/// A loopback TLS server on the Transport API: accepts one connection, does the TLS
/// handshake, then runs `session` with it. `result` holds the handshake error, if any.
final class OneShotTLSServer: @unchecked Sendable {
  let listener: TCPListener
  let handshakeError = Box<TransportError?>(nil)
  private var thread: TestThread?

  init(
    certificate: String, key: String, host: String = "127.0.0.1", context: TLSServerContext? = nil,
    session: @escaping @Sendable (Connection) -> Void = echo
  ) throws {
    let context = try context ?? TLSServerContext(certificateFile: certificate, privateKeyFile: key)
    let listener = try TCPListener(host: host, port: 0)
    self.listener = listener
    let handshakeError = self.handshakeError
    thread = TestThread {
      guard let connection = try? listener.accept(timeout: .seconds(10)) else { return }
      connection.timeout = .seconds(10)
      do throws(TransportError) {
        try connection.startTLSServer(context: context)
        session(connection)
      } catch {
        handshakeError.value = error
      }
      connection.close()
    }
  }

  var port: UInt16 { listener.port }

  /// Waits for the server thread to finish.
  func finish() {
    thread?.join()
    thread = nil
    listener.close()
  }

  /// Echoes everything back until end of stream.
  static let echo: @Sendable (Connection) -> Void = { connection in
    var buffer: [UInt8] = []
    while let n = try? connection.read(into: &buffer), n > 0 {
      guard (try? connection.write(buffer)) != nil else { return }
      buffer.removeAll(keepingCapacity: true)
    }
  }
}

/// Reads until `count` bytes have arrived, end of stream, or an error.
func readExactly(_ connection: Connection, count: Int) throws(TransportError) -> [UInt8] {
  var out: [UInt8] = []
  while out.count < count {
    if try connection.read(into: &out, maxBytes: count - out.count) == 0 { break }
  }
  return out
}

/// This process's environment, as NAME=value strings.
func currentEnvironment() -> [String] {
  var out: [String] = []
  var entry = environ
  while let pointer = entry.pointee {
    out.append(String(cString: pointer))
    entry += 1
  }
  return out
}

/// The target of a symbolic link.
func readLink(_ path: String) -> String? {
  var buffer = [CChar](repeating: 0, count: 4096)
  let n = readlink(path, &buffer, buffer.count - 1)
  guard n > 0 else { return nil }
  return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
