// SPDX-License-Identifier: MIT
// HTTP GET and form POST for the OAuth endpoints, through libcurl loaded on the first
// request (CCurlShim). Synchronous: the caller's thread waits at most `timeout`.
// Policy: https:// only (http:// allowed on a loopback host, for tests and the local
// emulator, gsendmail.conf(5)); certificates and host names always verified; no redirects
// followed; environment proxies ignored; bodies capped at `maximumResponseBytes`.
// Failure policy: throws `HTTPError`; any HTTP status is a response, not an error.

import CCurlShim

/// A complete HTTP response.
public struct HTTPResponse: Equatable, Sendable {
  /// The status code (200, 400, 503, ...).
  public var status: Int
  public var body: [UInt8]
  /// The response's header fields, in order (uploads only; empty otherwise).
  public var headers: [HTTPHeader]
  /// The IP address and port the response came from (uploads only; nil otherwise).
  public var peerAddress: String?
  public var peerPort: Int?

  public init(status: Int, body: [UInt8], headers: [HTTPHeader] = [], peerAddress: String? = nil, peerPort: Int? = nil) {
    self.status = status
    self.body = body
    self.headers = headers
    self.peerAddress = peerAddress
    self.peerPort = peerPort
  }

  /// The value of the first header field with this name (compared case-insensitively).
  public func header(_ name: String) -> String? {
    let lower = name.lowercased()
    return headers.first { $0.name.lowercased() == lower }?.value
  }
}

/// One header field of a response.
public struct HTTPHeader: Equatable, Sendable {
  public var name: String
  public var value: String

  public init(name: String, value: String) {
    self.name = name
    self.value = value
  }
}

/// Something that can POST a form: `HTTPClient`, or a stand-in in tests.
public protocol FormPoster: Sendable {
  /// POSTs an `application/x-www-form-urlencoded` body.
  func post(url: String, form: String) throws(HTTPError) -> HTTPResponse
}

/// Sends requests with libcurl.
public struct HTTPClient: FormPoster {
  /// The total time allowed for one request: connect, TLS, send, and the whole response.
  public var timeout: Duration
  /// Larger bodies fail with `.tooLarge`.
  public var maximumResponseBytes: Int
  /// A PEM file of CAs to trust in place of the system store (tests; a private endpoint).
  public var caFile: String?
  /// The User-Agent header.
  public var userAgent: String

  /// - Parameters:
  ///   - timeout: Total time per request (default 30 s).
  ///   - maximumResponseBytes: Body limit (default 1 MiB).
  ///   - caFile: CA bundle to trust instead of the system store.
  ///   - userAgent: The User-Agent header.
  public init(
    timeout: Duration = .seconds(30), maximumResponseBytes: Int = 1 << 20, caFile: String? = nil,
    userAgent: String = "gsendmail"
  ) {
    self.timeout = timeout
    self.maximumResponseBytes = maximumResponseBytes
    self.caFile = caFile
    self.userAgent = userAgent
  }

  /// Whether libcurl has been loaded into this process (it is loaded by the first request).
  public static var isLibraryLoaded: Bool { gs_curl_is_loaded() != 0 }

  /// POSTs a form body.
  /// - Parameters:
  ///   - url: The endpoint.
  ///   - form: An encoded `application/x-www-form-urlencoded` body.
  /// - Returns: The response, whatever its status.
  /// - Throws: `HTTPError`.
  public func post(url: String, form: String) throws(HTTPError) -> HTTPResponse {
    try perform(url: url, body: Array(form.utf8), contentType: "application/x-www-form-urlencoded")
  }

  /// GETs a URL.
  /// - Returns: The response, whatever its status.
  /// - Throws: `HTTPError`.
  public func get(url: String) throws(HTTPError) -> HTTPResponse {
    try perform(url: url, body: nil, contentType: nil)
  }

  private func perform(url: String, body: [UInt8]?, contentType: String?) throws(HTTPError)
    -> HTTPResponse
  {
    guard URLPolicy.isAllowed(url) else { throw .insecureURL(url) }
    let milliseconds = Self.milliseconds(timeout)
    var response = gs_http_response()
    var err = [CChar](repeating: 0, count: 512)
    let status: Int32 = url.withCString { cURL in
      userAgent.withCString { cAgent in
        withOptionalCString(caFile) { cCA in
          withOptionalCString(contentType) { cType in
            (body ?? []).withUnsafeBufferPointer { bytes in
              // A GET passes a NULL body; a POST with an empty body still passes a pointer.
              let empty: [CChar] = [0]
              return empty.withUnsafeBufferPointer { emptyBody in
                let bodyPointer: UnsafePointer<CChar>? =
                  body == nil
                  ? nil
                  : (bytes.count == 0
                    ? emptyBody.baseAddress
                    : UnsafeRawPointer(bytes.baseAddress).map {
                      $0.assumingMemoryBound(to: CChar.self)
                    })
                var params = gs_http_request_params(
                  url: cURL, body: bodyPointer, body_len: bytes.count, content_type: cType,
                  user_agent: cAgent, ca_file: cCA, timeout_ms: milliseconds,
                  max_body: maximumResponseBytes)
                return gs_http_request(&params, &response, &err, err.count)
              }
            }
          }
        }
      }
    }
    switch UInt32(bitPattern: status) {
    case GS_HTTP_OK.rawValue:
      defer { gs_http_response_free(&response) }
      return HTTPResponse(status: response.status, body: Self.body(of: response))
    default: throw failure(status, url: url, detail: Self.detail(err))
    }
  }

  /// The shim's error text, up to its NUL.
  static func detail(_ err: [CChar]) -> String {
    String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// A copy of the response's body (the response is freed by the caller).
  static func body(of response: gs_http_response) -> [UInt8] {
    response.body.map { Array(UnsafeBufferPointer(start: $0, count: response.body_len)) } ?? []
  }

  /// The error for a transfer the shim reports failed with `status` (a gs_http_status).
  func failure(_ status: Int32, url: String, detail: String) -> HTTPError {
    switch UInt32(bitPattern: status) {
    case GS_HTTP_UNAVAILABLE.rawValue: .libraryUnavailable(detail)
    case GS_HTTP_TIMED_OUT.rawValue: .timedOut(url: url, seconds: Int(timeout.components.seconds))
    case GS_HTTP_CONNECT.rawValue: .connect(url: url, detail: detail)
    case GS_HTTP_TOO_LARGE.rawValue: .tooLarge(url: url, limit: maximumResponseBytes)
    case GS_HTTP_TLS.rawValue: .tls(url: url, detail: detail)
    default: .transport(url: url, detail: detail)
    }
  }
}

extension HTTPClient {
  /// A duration in whole milliseconds, at least 1.
  static func milliseconds(_ duration: Duration) -> Int {
    max(
      1,
      Int(duration.components.seconds) * 1000
        + Int(duration.components.attoseconds / 1_000_000_000_000_000))
  }
}

func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
  guard let s else { return body(nil) }
  return s.withCString { body($0) }
}
