import Foundation
import Synchronization
public import HTTPKit
public import NIOHTTP1
public import WalrusClient
import WalrusCore

/// The HTTP gateway (PROTOCOL.md §6.2, §6.3): an aggregator that serves blobs by ID and a publisher
/// that stores request bodies as blobs, over one `WalrusClient`.
public struct Gateway: Sendable {
    public struct Options: Sendable {
        /// Serve `GET /v1/blobs/{id}`.
        public var aggregator = true
        /// Serve `PUT /v1/blobs`.
        public var publisher = true
        /// The largest body the publisher takes (the reference's default is 10 MiB).
        public var maxBodyBytes = 10 << 20
        /// When set, `PUT` needs `Authorization: Bearer <token>`.
        public var bearerToken: String?
        /// Epochs when the request names none (the reference's default is 1).
        public var defaultEpochs: UInt32 = 1
        /// Blob reads served at once; more get 503 with Retry-After.
        public var readsMax = 8
        /// Blob bytes a read assembles at once; a streamed read holds two windows, so the reads
        /// in progress hold at most `2 × readsMax × readWindowBytes` (512 MiB by default), plus the
        /// whole blob for a read that must decode because a systematic sliver is missing.
        public var readWindowBytes = 32 << 20
        public init() {}
    }

    public let client: WalrusClient
    public let options: Options
    let reads = ReadCount()

    public init(client: WalrusClient, options: Options) {
        self.client = client
        self.options = options
    }

    /// The answer to one request.
    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        var response = await route(request)
        // Cross-origin reads only: a web page may read blobs, but may not make a local
        // publisher spend its wallet's WAL (browsers send no PUT without this header).
        if request.method == .GET || request.method == .HEAD || request.method == .OPTIONS {
            response.headers.append(("access-control-allow-origin", "*"))
        }
        return response
    }

    /// What the gateway does with a request from its head alone: a publisher's PUT without the
    /// right token is refused before its body is read, and only a PUT may carry a body.
    public func admission(_ head: HTTPRequestHead) -> HTTPAdmission {
        guard head.method == .PUT else { return .accept(bodyBytesMax: 0) }
        if options.bearerToken != nil, !authorized(head.headers.first(name: "authorization")) { return .refuse(Gateway.unauthorized()) }
        return .accept(bodyBytesMax: options.maxBodyBytes)
    }

    /// Whether `header` is `Bearer <token>`, compared in time that does not depend on where they
    /// differ. Without a configured token every request is authorized.
    func authorized(_ header: String?) -> Bool {
        guard let token = options.bearerToken else { return true }
        let expected = Array("Bearer \(token)".utf8), given = Array((header ?? "").utf8)
        var difference = UInt8(expected.count == given.count ? 0 : 1)
        for i in 0..<expected.count { difference |= expected[i] ^ (i < given.count ? given[i] : 0) }
        return difference == 0
    }

    static func unauthorized() -> HTTPResponse {
        var response = HTTPResponse.error(.unauthorized, code: "UNAUTHENTICATED", "this publisher needs 'Authorization: Bearer <token>'")
        response.headers.append(("www-authenticate", "Bearer"))
        return response
    }

    private func route(_ request: HTTPRequest) async -> HTTPResponse {
        let parts = request.components
        let isBlobs = parts.count >= 2 && parts[0] == "v1" && parts[1] == "blobs" && parts.count <= 3
        if request.method == .OPTIONS {
            var response = HTTPResponse(status: .noContent, contentType: "text/plain", body: [])
            response.headers += [
                ("access-control-allow-methods", "GET, HEAD, OPTIONS"),
                ("access-control-allow-headers", "authorization, content-type, range, if-none-match"),
                ("access-control-max-age", "86400"),
            ]
            return response
        }
        if request.method == .GET && parts == ["v1", "api"] {
            return HTTPResponse(status: .ok, contentType: "application/json", body: Array(Gateway.openAPI(options).utf8))
        }
        if request.method == .GET && parts == ["v1", "health"] {
            // Liveness of the process itself, answered without touching the network (never
            // counted against the in-flight cap), for load balancers and supervisors.
            return .json(["status": "ok", "aggregator": options.aggregator, "publisher": options.publisher])
        }
        if request.method == .GET && parts == ["status"] {
            return .json(["aggregator": options.aggregator, "publisher": options.publisher, "maxBodyBytes": options.maxBodyBytes])
        }
        if isBlobs && parts.count == 3 && (request.method == .GET || request.method == .HEAD) {
            guard options.aggregator else { return .error(.notFound, code: "NOT_FOUND", "this gateway does not serve blobs (it runs as a publisher only)") }
            return await read(parts[2], request)
        }
        if isBlobs && parts.count == 2 && request.method == .PUT {
            guard options.publisher else { return .error(.notFound, code: "NOT_FOUND", "this gateway does not store blobs (it runs as an aggregator only)") }
            return await store(request)
        }
        if isBlobs {
            return .error(.methodNotAllowed, code: "METHOD_NOT_ALLOWED", "use GET /v1/blobs/{blob_id} or PUT /v1/blobs")
        }
        return .error(.notFound, code: "NOT_FOUND", "no route \(request.method) \(request.path); see GET /v1/api")
    }

    // MARK: Aggregator

    private func read(_ text: String, _ request: HTTPRequest) async -> HTTPResponse {
        guard let blobID = try? BlobID(parsing: text) else {
            return .error(.badRequest, code: "INVALID_BLOB_ID", "not a blob ID: \(text) (43 characters of URL-safe base64)")
        }
        let strict = request.query["strict_consistency_check"] == "true", skip = request.query["skip_consistency_check"] == "true"
        if strict && skip {
            return .error(.badRequest, code: "INVALID_ARGUMENT", "strict_consistency_check and skip_consistency_check exclude each other")
        }
        let etag = "\"\(blobID)\""
        if request.headers["if-none-match"] == etag {
            var response = HTTPResponse(status: .notModified, contentType: "application/octet-stream", body: [])
            response.headers += Gateway.cacheHeaders(etag)
            return response
        }
        guard reads.enter(max: options.readsMax) else {
            var busy = HTTPResponse.error(.serviceUnavailable, code: "BUSY", "this aggregator is serving \(options.readsMax) reads; retry shortly", retryable: true)
            busy.headers.append(("retry-after", "1"))
            return busy
        }
        var extra = Gateway.cacheHeaders(etag) + [("accept-ranges", "bytes")]
        if strict {
            // The strict check re-encodes the whole blob before any byte may go out.
            defer { reads.leave() }
            let blob: [UInt8]
            do { blob = try await client.read(blobID, check: .strict) } catch { return Gateway.errorResponse(error) }
            var response = HTTPResponse(status: .ok, contentType: "application/octet-stream", body: request.method == .HEAD ? [] : blob)
            response.headers += extra
            response.contentLength = blob.count
            return response
        }
        // Everything else starts from the verified metadata: HEAD needs only the length, and GET
        // streams the rows that hold the blob or the range, a window at a time, each row verified
        // against the metadata before its bytes go out. Nothing decodes the whole blob unless a
        // row cannot be fetched.
        let blob: WalrusClient.CertifiedBlob
        do { blob = try await client.certifiedBlob(blobID) } catch {
            reads.leave()
            return Gateway.errorResponse(error)
        }
        let length = blob.length
        var range = 0..<length
        var status = HTTPResponseStatus.ok
        if let header = request.headers["range"] {
            guard let r = Gateway.byteRange(header, size: Int(clamping: length)) else {
                reads.leave()
                var response = HTTPResponse.error(.rangeNotSatisfiable, code: "RANGE_NOT_SATISFIABLE", "the range '\(header.prefix(64))' is outside the blob's \(length) bytes")
                response.headers.append(("content-range", "bytes */\(length)"))
                return response
            }
            range = UInt64(r.lowerBound)..<UInt64(r.upperBound)
            status = .partialContent
            extra.append(("content-range", "bytes \(r.lowerBound)-\(r.upperBound - 1)/\(length)"))
        }
        var response = HTTPResponse(status: status, contentType: "application/octet-stream", body: [])
        response.headers += extra
        response.contentLength = Int(clamping: range.count)
        if request.method == .HEAD || range.isEmpty {
            reads.leave()
            return response
        }
        let client = self.client, reads = self.reads, wanted = range, windowBytes = options.readWindowBytes
        response.stream = { writer in
            defer { reads.leave() }
            try await client.readStream(blob, range: wanted, windowBytes: windowBytes) { try await writer.write($0) }
        }
        return response
    }

    static func cacheHeaders(_ etag: String) -> [(String, String)] {
        // A blob ID names its content for ever: caches may keep it as long as they like.
        [("etag", etag), ("cache-control", "public, max-age=31536000, immutable"), ("x-content-type-options", "nosniff")]
    }

    /// One range of `bytes=a-b`, `bytes=a-` or `bytes=-n` within `size` bytes; nil when unsatisfiable
    /// or malformed (several ranges included).
    static func byteRange(_ header: String, size: Int) -> Range<Int>? {
        let spec = header.trimmingCharacters(in: .whitespaces)
        guard spec.hasPrefix("bytes="), !spec.contains(",") else { return nil }
        let bounds = spec.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard bounds.count == 2 else { return nil }
        switch (Int(bounds[0]), Int(bounds[1])) {
        case let (start?, end?) where start >= 0 && start <= end && start < size:
            return start..<(min(end, size - 1) + 1)
        case let (start?, nil) where bounds[1].isEmpty && start >= 0 && start < size:
            return start..<size
        case let (nil, suffix?) where bounds[0].isEmpty && suffix > 0 && size > 0:
            return max(0, size - suffix)..<size
        default:
            return nil
        }
    }

    // MARK: Publisher

    private func store(_ request: HTTPRequest) async -> HTTPResponse {
        guard authorized(request.headers["authorization"]) else { return Gateway.unauthorized() }
        var epochs = options.defaultEpochs
        if let text = request.query["epochs"] {
            // The chain's own limit (maxEpochsAhead) is checked by the client before anything is spent.
            guard let value = UInt32(text), value > 0, value <= Limits.epochsAheadMax else {
                return .error(.badRequest, code: "INVALID_ARGUMENT", "epochs must be a number from 1 to \(Limits.epochsAheadMax), not '\(text.prefix(32))'")
            }
            epochs = value
        }
        let permanent = request.query["permanent"] == "true"
        if permanent && request.query["deletable"] == "true" {
            return .error(.badRequest, code: "INVALID_ARGUMENT", "a blob is either permanent or deletable")
        }
        let force = request.query["force"] == "true"
        let result: StoreResult
        do {
            result = try await client.store(request.body, epochs: epochs, permanent: permanent, force: force)
        } catch {
            return Gateway.errorResponse(error)
        }
        return .json(result.jsonObject)
    }

    static func errorResponse(_ error: ClientError) -> HTTPResponse {
        switch error.code {
        case .notFound: .error(.notFound, code: error.code.rawValue, error.message)
        case .unavailable: .error(.serviceUnavailable, code: error.code.rawValue, error.message, retryable: true)
        case .insufficientFunds: .error(.paymentRequired, code: error.code.rawValue, error.message)
        case .invalidArgument: .error(.badRequest, code: error.code.rawValue, error.message)
        case .verification: .error(.unprocessableEntity, code: error.code.rawValue, error.message)
        default: .error(.internalServerError, code: error.code.rawValue, error.message)
        }
    }
}

/// Reads in progress, bounded by `Options.readsMax`.
final class ReadCount: Sendable {
    private let count = Mutex(0)

    func enter(max: Int) -> Bool {
        count.withLock { count in
            guard count < max else { return false }
            count += 1
            return true
        }
    }

    func leave() { count.withLock { $0 -= 1 } }
}
