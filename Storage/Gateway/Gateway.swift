import ChainClient
import RedStuff
import Foundation
import Synchronization
public import HTTPKit
public import NIOHTTP1
import WalrusAPI
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
        /// The largest multipart body `PUT /v1/quilts` takes (the reference's default is 100 MiB).
        public var maxQuiltBodyBytes = 100 << 20
        /// When set, `PUT` needs `Authorization: Bearer <token>`.
        public var bearerToken: String?
        /// Epochs when the request names none (the reference's default is 1).
        public var defaultEpochs: UInt32 = 1
        /// Blob reads served at once; more get 503 with Retry-After.
        public var readsMax = 8
        /// Attribute keys of a blob object that `by-object-id` reads serve as response headers
        /// (Walrus's default `--allowed-headers`).
        public var allowedHeaders: Set<String> = Gateway.defaultAllowedHeaders
        /// Blob bytes a read assembles at once; a streamed read holds two windows, so the reads
        /// in progress hold at most `2 × readsMax × readWindowBytes` (512 MiB by default), plus the
        /// whole blob for a read that must decode because a systematic sliver is missing.
        public var readWindowBytes = 32 << 20
        public init() {}
    }

    public static let defaultAllowedHeaders: Set<String> = [
        "content-disposition", "content-encoding", "content-language", "content-location", "content-type", "link",
    ]

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
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        return .accept(bodyBytesMax: path == "/v1/quilts" || path == "/v1/quilts/" ? options.maxQuiltBodyBytes : options.maxBodyBytes)
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
        var response = fail(.unauthenticated, "UNAUTHENTICATED", "this publisher needs 'Authorization: Bearer <token>'")
        response.headers.append(("www-authenticate", "Bearer"))
        return response
    }

    /// Walrus's error body in the daemon's domain.
    static func fail(_ status: APIStatusCode, _ reason: String, _ message: String) -> HTTPResponse {
        .walrus(APIErrorBody(status, reason: reason, domain: APIErrorDomain.daemon, message))
    }

    private func route(_ request: HTTPRequest) async -> HTTPResponse {
        let parts = request.components
        let read = request.method == .GET || request.method == .HEAD
        if request.method == .OPTIONS {
            var response = HTTPResponse(status: .noContent, contentType: "text/plain", body: [])
            response.headers += [
                ("access-control-allow-methods", "GET, HEAD, OPTIONS"),
                ("access-control-allow-headers", "authorization, content-type, range, if-none-match, accept"),
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
            return HTTPResponse(status: .ok, contentType: "text/plain; charset=utf-8", body: Array("OK".utf8))
        }
        if parts.count >= 2, parts[0] == "v1", parts[1] == "quilts" || (parts.count >= 3 && parts[1] == "blobs" && parts[2].hasPrefix("by-quilt-")),
            let response = await quiltRoute(request, parts) {
            return response
        }
        guard parts.count >= 2, parts[0] == "v1", parts[1] == "blobs" else {
            return .walrus(APIErrorBody(.notFound, reason: "NOT_FOUND", domain: APIErrorDomain.global, "no route \(request.method) \(request.path); see GET /v1/api"))
        }
        let aggregatorRoute = parts.count == 3 || (parts.count == 4 && (parts[2] == "by-object-id" || parts[3] == "byte-range"))
        switch (read, parts.count) {
        case (true, _) where aggregatorRoute:
            guard options.aggregator else { return Gateway.fail(.notFound, "NOT_FOUND", "this gateway does not serve blobs (it runs as a publisher only)") }
            if parts.count == 3 { return await readBlob(parts[2], request) }
            if parts[2] == "by-object-id" { return await readByObjectID(parts[3], request) }
            return await readByteRange(parts[2], request)
        case (false, 2) where request.method == .PUT:
            guard options.publisher else { return Gateway.fail(.notFound, "NOT_FOUND", "this gateway does not store blobs (it runs as an aggregator only)") }
            return await store(request)
        default:
            var response = HTTPResponse.walrus(APIErrorBody(
                .invalidArgument, reason: "METHOD_NOT_ALLOWED", domain: APIErrorDomain.global,
                "no route \(request.method) \(request.path): use GET /v1/blobs/{blob_id}, /v1/blobs/by-object-id/{object_id}, /v1/blobs/{blob_id}/byte-range or PUT /v1/blobs"))
            response.status = .methodNotAllowed
            return response
        }
    }

    /// A 400 for a query parameter the route does not define: Walrus refuses unknown fields
    /// rather than ignore them, and so does this gateway.
    static func unknownParameter(_ query: [String: String], allowed: Set<String>) -> HTTPResponse? {
        guard let unknown = query.keys.sorted().first(where: { !allowed.contains($0) }) else { return nil }
        return fail(.invalidArgument, "UNKNOWN_PARAMETER", "unknown query parameter '\(unknown.prefix(64))'; this route takes \(allowed.sorted().joined(separator: ", "))")
    }

    /// A query flag: absent is false; otherwise `true` or `false` exactly.
    static func flag(_ query: [String: String], _ name: String) -> Result<Bool, Refusal> {
        switch query[name] {
        case nil, "false": .success(false)
        case "true": .success(true)
        case let other?: .failure(Refusal(fail(.invalidArgument, "INVALID_ARGUMENT", "\(name) is true or false, not '\(other.prefix(32))'")))
        }
    }

    // MARK: Aggregator

    static let readParameters: Set<String> = ["strict_consistency_check", "skip_consistency_check"]

    /// The consistency check of a read's query (Walrus's `ReadOptions`).
    static func consistencyCheck(_ query: [String: String]) -> Result<ConsistencyCheck, Refusal> {
        if let refusal = unknownParameter(query, allowed: readParameters) { return .failure(Refusal(refusal)) }
        let strict: Bool, skip: Bool
        switch (flag(query, "strict_consistency_check"), flag(query, "skip_consistency_check")) {
        case let (.success(a), .success(b)): (strict, skip) = (a, b)
        case let (.failure(refusal), _), let (_, .failure(refusal)): return .failure(refusal)
        }
        if strict && skip {
            return .failure(Refusal(fail(.invalidArgument, "INVALID_CONSISTENCY_CHECK", "strict_consistency_check and skip_consistency_check exclude each other")))
        }
        return .success(strict ? .strict : skip ? .skip : .default)
    }

    private func readBlob(_ text: String, _ request: HTTPRequest) async -> HTTPResponse {
        guard let blobID = try? BlobID(parsing: text) else {
            return Gateway.fail(.invalidArgument, "INVALID_BLOB_ID", "not a blob ID: \(text.prefix(64)) (43 characters of URL-safe base64)")
        }
        return await read(blobID, request)
    }

    /// Reads the blob a Walrus `Blob` object names (Walrus's `/v1/blobs/by-object-id/{id}`).
    private func readByObjectID(_ text: String, _ request: HTTPRequest) async -> HTTPResponse {
        guard let objectID = try? ObjectID(parsing: text) else {
            return Gateway.fail(.invalidArgument, "INVALID_OBJECT_ID", "not an object ID: \(text.prefix(80)) (0x and 64 hex digits)")
        }
        // A Blob object, or a shared blob (the blob it wraps).
        let registration: BlobRegistration?
        do { registration = try await client.chain.blobOrSharedBlob(objectID: objectID)?.registration } catch {
            return Gateway.readError(client.mapChainError(error))
        }
        guard let registration else {
            return Gateway.fail(.notFound, "BLOB_NOT_FOUND", "no blob object \(objectID) on this network (it may have been deleted)")
        }
        return await read(registration.blobID, request, attribute: registration.attribute)
    }

    /// The attribute's allowed keys as headers (lower-cased; a key that is not a header name, or a
    /// value with control characters, is skipped). A `content-type` applies unless the request
    /// named the type itself (`Accept` or its own `Content-Type`).
    static func attributeHeaders(_ attribute: BlobAttribute?, allowed: Set<String>, request: HTTPRequest) -> [(String, String)] {
        guard let attribute else { return [] }
        let token = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")
        let requestNamesType = request.headers["accept"].map { !$0.contains("*") } ?? false || (request.method == .GET && request.headers["content-type"] != nil)
        var headers: [(String, String)] = []
        for (key, value) in attribute.pairs {
            let name = key.lowercased()
            guard allowed.contains(name), !name.isEmpty, name.allSatisfy(token.contains), !headers.contains(where: { $0.0 == name }),
                value.unicodeScalars.allSatisfy({ $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7f) })
            else { continue }
            if name == "content-type" && requestNamesType { continue }
            headers.append((name, value))
        }
        return headers
    }

    /// Headers of every blob answer (Walrus's): no sniffing, a day of caching with revalidation
    /// (a blob can be deleted or invalidated, so nothing is cached as immutable), the ETag, and
    /// the content type the request asks for: `Accept` when it names one type exactly, else a
    /// GET's own `Content-Type`, else octet-stream.
    static func blobHeaders(_ request: HTTPRequest, etag: String) -> (contentType: String, headers: [(String, String)]) {
        var contentType = "application/octet-stream"
        if let accept = request.headers["accept"], !accept.contains("*") {
            contentType = accept
        } else if request.method == .GET, let type = request.headers["content-type"] {
            contentType = type
        }
        return (contentType, [
            ("x-content-type-options", "nosniff"), ("cache-control", "public, max-age=86400, stale-while-revalidate=3600"), ("etag", etag),
        ])
    }

    /// The 304 answer when `If-None-Match` names the ETag among `headers` (quoted or not, or `*`).
    static func notModified(_ request: HTTPRequest, contentType: String, headers: [(String, String)]) -> HTTPResponse? {
        guard let header = request.headers["if-none-match"], let etag = headers.first(where: { $0.0 == "etag" })?.1,
            header.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }).contains(where: { $0 == etag || $0 == "\"\(etag)\"" || $0 == "*" })
        else { return nil }
        var response = HTTPResponse(status: .notModified, contentType: contentType, body: [])
        response.headers += headers
        return response
    }

    private func read(_ blobID: BlobID, _ request: HTTPRequest, attribute: BlobAttribute? = nil) async -> HTTPResponse {
        let check: ConsistencyCheck
        switch Gateway.consistencyCheck(request.query) {
        case .success(let value): check = value
        case .failure(let refusal): return refusal.response
        }
        var (contentType, headers) = Gateway.blobHeaders(request, etag: blobID.description)
        // The blob object's attribute headers, on whole answers only (as Walrus: not on a range).
        let fromAttribute = request.headers["range"] == nil ? Gateway.attributeHeaders(attribute, allowed: options.allowedHeaders, request: request) : []
        if let type = fromAttribute.first(where: { $0.0 == "content-type" }) { contentType = type.1 }
        headers += fromAttribute.filter { $0.0 != "content-type" }
        if let cached = Gateway.notModified(request, contentType: contentType, headers: headers) { return cached }
        guard reads.enter(max: options.readsMax) else { return busy() }
        var extra = headers + [("accept-ranges", "bytes")]
        if check == .strict && request.headers["range"] == nil {
            // The strict check re-encodes the whole blob before any byte may go out.
            defer { reads.leave() }
            let blob: [UInt8]
            do { blob = try await client.read(blobID, check: .strict) } catch { return Gateway.readError(error) }
            var response = HTTPResponse(status: .ok, contentType: contentType, body: request.method == .HEAD ? [] : blob)
            response.headers += extra
            response.contentLength = blob.count
            return response
        }
        // Everything else starts from the verified metadata: HEAD needs only the length, and GET
        // streams the rows that hold the blob or the range, a window at a time, each row verified
        // against the metadata before its bytes go out. Nothing decodes the whole blob unless a
        // row cannot be fetched. (A range, as in Walrus, checks only the slivers it reads.)
        let blob: WalrusClient.CertifiedBlob
        do { blob = try await client.certifiedBlob(blobID) } catch {
            reads.leave()
            return Gateway.readError(error)
        }
        let length = blob.length
        var range = 0..<length
        var status = HTTPResponseStatus.ok
        if let header = request.headers["range"] {
            guard let r = Gateway.byteRange(header, size: Int(clamping: length)) else {
                reads.leave()
                var response = Gateway.fail(.rangeNotSatisfiable, "INVALID_BYTE_RANGE", "the range '\(header.prefix(64))' is outside the blob's \(length) bytes or not one range")
                response.headers.append(("content-range", "bytes */\(length)"))
                return response
            }
            range = UInt64(r.lowerBound)..<UInt64(r.upperBound)
            status = .partialContent
            extra.append(("content-range", "bytes \(r.lowerBound)-\(r.upperBound - 1)/\(length)"))
        }
        return stream(blob, range: range, status: status, contentType: contentType, headers: extra, head: request.method == .HEAD)
    }

    /// Walrus's `/v1/blobs/{id}/byte-range?start=&length=`: 200 (cacheable) with exactly those
    /// bytes; the ETag names the blob and the range.
    private func readByteRange(_ text: String, _ request: HTTPRequest) async -> HTTPResponse {
        guard let blobID = try? BlobID(parsing: text) else {
            return Gateway.fail(.invalidArgument, "INVALID_BLOB_ID", "not a blob ID: \(text.prefix(64)) (43 characters of URL-safe base64)")
        }
        if let refusal = Gateway.unknownParameter(request.query, allowed: ["start", "length"]) { return refusal }
        guard let start = request.query["start"].flatMap(UInt64.init), let length = request.query["length"].flatMap(UInt64.init) else {
            return Gateway.fail(.invalidArgument, "INVALID_BYTE_RANGE", "start and length are required, as whole numbers")
        }
        guard length > 0 else { return Gateway.fail(.invalidArgument, "INVALID_BYTE_RANGE", "invalid byte range parameters: length must be greater than 0") }
        let (end, overflow) = start.addingReportingOverflow(length)
        guard !overflow else { return Gateway.fail(.invalidArgument, "INVALID_BYTE_RANGE", "invalid byte range parameters: start + length overflows") }
        let (contentType, headers) = Gateway.blobHeaders(request, etag: "\(blobID)-\(start)-\(length)")
        if let cached = Gateway.notModified(request, contentType: contentType, headers: headers) { return cached }
        guard reads.enter(max: options.readsMax) else { return busy() }
        let blob: WalrusClient.CertifiedBlob
        do { blob = try await client.certifiedBlob(blobID) } catch {
            reads.leave()
            return Gateway.readError(error)
        }
        guard end <= blob.length else {
            reads.leave()
            return Gateway.fail(.invalidArgument, "INVALID_BYTE_RANGE", "invalid byte range parameters: bytes \(start)..<\(end) are outside the blob's \(blob.length) bytes")
        }
        return stream(blob, range: start..<end, status: .ok, contentType: contentType, headers: headers, head: request.method == .HEAD)
    }

    /// The answer that streams `range` of a certified blob (the read slot taken is released when
    /// the stream ends, or now for HEAD and empty ranges).
    private func stream(
        _ blob: WalrusClient.CertifiedBlob, range: Range<UInt64>, status: HTTPResponseStatus, contentType: String, headers: [(String, String)], head: Bool
    ) -> HTTPResponse {
        var response = HTTPResponse(status: status, contentType: contentType, body: [])
        response.headers += headers
        response.contentLength = Int(clamping: range.count)
        if head || range.isEmpty {
            reads.leave()
            return response
        }
        let client = self.client, reads = self.reads, windowBytes = options.readWindowBytes
        response.stream = { writer in
            defer { reads.leave() }
            try await client.readStream(blob, range: range, windowBytes: windowBytes) { try await writer.write($0) }
        }
        return response
    }

    /// 429 with Retry-After: the reads in progress are at `readsMax`.
    func busy() -> HTTPResponse {
        var busy = Gateway.fail(.resourceExhausted, "TOO_MANY_READS", "this aggregator is serving \(options.readsMax) reads; retry shortly")
        busy.headers.append(("retry-after", "1"))
        return busy
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

    /// A read's failure as Walrus's aggregator answers it.
    static func readError(_ error: ClientError) -> HTTPResponse {
        switch error.code {
        case .notFound:
            fail(.notFound, "BLOB_NOT_FOUND", error.message)
        case .unavailable:
            fail(.unavailable, "UNAVAILABLE", error.message)
        case .invalidArgument:
            fail(.invalidArgument, "INVALID_ARGUMENT", error.message)
        case .verification:
            fail(.internalError, "VERIFICATION_FAILED", error.message)
        default:
            fail(.internalError, "INTERNAL", error.message)
        }
    }

    // MARK: Publisher

    /// Walrus's `PublisherQuery`: every field it defines, nothing else.
    static let storeParameters: Set<String> = ["encoding_type", "epochs", "deletable", "permanent", "force", "quilt_version", "send_object_to", "share"]

    /// What a store request asks for, or the 400 that refuses it.
    struct StoreRequest: Equatable {
        var epochs: UInt32
        var permanent = false
        var force = false
        var sendTo: Address?
        var share = false
    }

    static func storeRequest(_ query: [String: String], defaultEpochs: UInt32) -> Result<StoreRequest, Refusal> {
        if let refusal = unknownParameter(query, allowed: storeParameters) { return .failure(Refusal(refusal)) }
        var request = StoreRequest(epochs: defaultEpochs)
        if let text = query["epochs"] {
            // The chain's own limit (maxEpochsAhead) is checked by the client before anything is spent.
            guard let value = UInt32(text), value > 0, value <= Limits.epochsAheadMax else {
                return .failure(Refusal(fail(.invalidArgument, "MALFORMED_REQUEST", "epochs must be a number from 1 to \(Limits.epochsAheadMax), not '\(text.prefix(32))'")))
            }
            request.epochs = value
        }
        if let type = query["encoding_type"], EncodingTypeName(rawValue: type) == nil {
            return .failure(Refusal(fail(.invalidArgument, "MALFORMED_REQUEST", "encoding_type '\(type.prefix(32))' is not supported; the only encoding is RS2")))
        }
        if let version = query["quilt_version"], !["v1", "V1", "1"].contains(version) {
            return .failure(Refusal(fail(.invalidArgument, "MALFORMED_REQUEST", "quilt_version '\(version.prefix(32))' is not supported; the only version is V1")))
        }
        var flags: [String: Bool] = [:]
        for name in ["deletable", "permanent", "force", "share"] {
            switch flag(query, name) {
            case .success(let value): flags[name] = value
            case .failure(let refusal): return .failure(refusal)
            }
        }
        if flags["deletable"] == true && flags["permanent"] == true {
            return .failure(Refusal(fail(.invalidArgument, "INVALID_BLOB_PERSISTENCE", "a blob is either deletable or permanent, not both")))
        }
        request.permanent = flags["permanent"] == true
        request.force = flags["force"] == true
        if let text = query["send_object_to"] {
            guard let address = try? Address(parsing: text) else {
                return .failure(Refusal(fail(.invalidArgument, "MALFORMED_REQUEST", "send_object_to is an address (0x and 64 hex digits), not '\(text.prefix(80))'")))
            }
            request.sendTo = address
        }
        if flags["share"] == true {
            // A shared blob belongs to no one, so it is permanent; it cannot also be sent.
            guard request.sendTo == nil else {
                return .failure(Refusal(fail(.invalidArgument, "MALFORMED_REQUEST", "send_object_to and share=true exclude each other")))
            }
            guard flags["deletable"] != true else {
                return .failure(Refusal(fail(.invalidArgument, "INVALID_BLOB_PERSISTENCE", "a shared blob is permanent; share=true and deletable=true exclude each other")))
            }
            request.permanent = true
            request.share = true
        }
        return .success(request)
    }

    private func store(_ request: HTTPRequest) async -> HTTPResponse {
        guard authorized(request.headers["authorization"]) else { return Gateway.unauthorized() }
        let asked: StoreRequest
        switch Gateway.storeRequest(request.query, defaultEpochs: options.defaultEpochs) {
        case .success(let value): asked = value
        case .failure(let refusal): return refusal.response
        }
        let result: BlobStoreResult
        do {
            result = try await client.store(request.body, epochs: asked.epochs, permanent: asked.permanent, force: asked.force, sendTo: asked.sendTo, share: asked.share)
        } catch {
            return Gateway.storeError(error)
        }
        if case .markedInvalid = result {
            return Gateway.fail(.internalError, "INTERNAL", "the blob was marked invalid, which is likely a system error, please report it")
        }
        return HTTPResponse(status: .ok, contentType: "application/json", body: WalrusJSON.encode(result))
    }

    /// A store's failure as Walrus's publisher answers it.
    static func storeError(_ error: ClientError) -> HTTPResponse {
        switch error.code {
        case .notEnoughConfirmations: fail(.deadlineExceeded, "INSUFFICIENT_CONFIRMATIONS", error.message)
        case .unavailable: fail(.unavailable, "UNAVAILABLE", error.message)
        case .invalidArgument: fail(.invalidArgument, "MALFORMED_REQUEST", error.message)
        case .insufficientFunds: fail(.internalError, "INSUFFICIENT_FUNDS", "the publisher's wallet cannot pay for this store: \(error.message)")
        default: fail(.internalError, "INTERNAL", error.message)
        }
    }
}

/// A request refused before any work: the answer that says why.
struct Refusal: Error {
    let response: HTTPResponse
    init(_ response: HTTPResponse) { self.response = response }
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
