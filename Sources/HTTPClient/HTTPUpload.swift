// SPDX-License-Identifier: MIT
// Uploads: a POST or PUT whose body is pulled from an `UploadBody` in pieces as libcurl
// sends it, so memory stays constant whatever the body's size, and whose response keeps
// its header fields (a resumable upload's session URI is in `Location`). The same policy
// as every request of HTTPClient (https:// only but on loopback, verified TLS, no
// redirects, no proxies). Timeouts: the connection and each stretch without upload
// progress get `timeout`; the response to the whole body gets `replyTimeout`.
// Failure policy: throws `HTTPError`; a body that cannot be read is `.bodyUnreadable`
// with the body's own error text. Header values (they hold the bearer token) never go
// into an error.

import CCurlShim

/// A request body produced piece by piece.
public protocol UploadBody: AnyObject {
  /// Copies the next bytes into `buffer`.
  /// - Returns: The number of bytes copied, 0 at the end.
  /// - Throws: Any error; the upload is then aborted with `HTTPError.bodyUnreadable`.
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

extension HTTPClient {
  /// Sends `length` bytes of `body` with `method` and returns the response, whatever its status.
  /// - Parameters:
  ///   - url: The endpoint.
  ///   - method: `POST` or `PUT`.
  ///   - headers: Request header fields (`Content-Type`, `Authorization`, ...).
  ///   - length: The exact number of bytes `body` produces (0: an empty body).
  ///   - body: The body; nil for an empty one.
  ///   - replyTimeout: The longest wait for the response once the body is sent.
  /// - Throws: `HTTPError`.
  public func upload(
    url: String, method: String, headers: [HTTPHeader], length: Int, body: UploadBody?, replyTimeout: Duration
  ) throws(HTTPError) -> HTTPResponse {
    guard URLPolicy.isAllowed(url) else { throw .insecureURL(url) }
    let reader = BodyReader(body)
    let context = Unmanaged.passRetained(reader)
    defer { context.release() }
    let headerText = headers.map { "\($0.name): \($0.value)\n" }.joined()
    var response = gs_http_response()
    var err = [CChar](repeating: 0, count: 512)
    let status: Int32 = url.withCString { cURL in
      method.withCString { cMethod in
        headerText.withCString { cHeaders in
          userAgent.withCString { cAgent in
            withOptionalCString(caFile) { cCA in
              var params = gs_http_upload_params(
                url: cURL, method: cMethod, headers: cHeaders, body_len: Int64(length),
                read: { context, buffer, length in
                  guard let context, let buffer else { return -1 }
                  let reader = Unmanaged<BodyReader>.fromOpaque(context).takeUnretainedValue()
                  return reader.read(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(buffer), count: length))
                },
                read_context: context.toOpaque(), user_agent: cAgent, ca_file: cCA,
                timeout_ms: Self.milliseconds(timeout), reply_timeout_ms: Self.milliseconds(replyTimeout),
                max_body: maximumResponseBytes)
              return gs_http_upload(&params, &response, &err, err.count)
            }
          }
        }
      }
    }
    let detail = Self.detail(err)
    switch UInt32(bitPattern: status) {
    case GS_HTTP_OK.rawValue:
      defer { gs_http_response_free(&response) }
      let bytes = Self.body(of: response)
      let head = response.headers.map { String(cString: $0) } ?? ""
      let ip = withUnsafeBytes(of: response.primary_ip) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      return HTTPResponse(
        status: response.status, body: bytes, headers: Self.parseHeaders(head),
        peerAddress: ip.isEmpty ? nil : ip, peerPort: response.primary_port > 0 ? response.primary_port : nil)
    case GS_HTTP_SOURCE.rawValue: throw .bodyUnreadable(url: url, detail: reader.failure ?? detail)
    default: throw failure(status, url: url, detail: detail)
    }
  }

  /// The fields of a response head: the status line is skipped, names and values trimmed.
  static func parseHeaders(_ head: String) -> [HTTPHeader] {
    var out: [HTTPHeader] = []
    for line in head.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }) {
      guard !line.hasPrefix("HTTP/"), let colon = line.firstIndex(of: ":") else { continue }
      let name = line[..<colon].trimmingSpaces
      let value = line[line.index(after: colon)...].trimmingSpaces
      out.append(HTTPHeader(name: String(name), value: String(value)))
    }
    return out
  }
}

/// Adapts an `UploadBody` to libcurl's read callback and keeps its first error.
private final class BodyReader {
  let body: UploadBody?
  var failure: String?

  init(_ body: UploadBody?) { self.body = body }

  func read(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
    guard let body else { return 0 }
    do {
      return try body.read(into: buffer)
    } catch {
      failure = "\(error)"
      return -1
    }
  }
}

extension Substring {
  fileprivate var trimmingSpaces: Substring {
    var s = self
    while let first = s.first, first == " " || first == "\t" { s = s.dropFirst() }
    while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
    return s
  }
}
