import CFileIO
import Foundation
public import NIOCore
public import NIOHTTP1
public import NIOPosix

/// A request as the router sees it.
public struct HTTPRequest: Sendable {
    public let method: HTTPMethod
    public let path: String
    public let query: [String: String]
    public let body: [UInt8]
    public let headers: [String: String]
    /// CRC-32C of the body, computed part by part as it arrived (while each part was in cache),
    /// when the server was made with `checksumsBodies`; nil otherwise.
    public var bodyCRC32C: UInt32? = nil

    /// The path's components.
    public var components: [String] { path.split(separator: "/").map(String.init) }
}

/// A response: status, content type and body.
public struct HTTPResponse: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: [UInt8]
    public var headers: [(String, String)] = []

    public init(status: HTTPResponseStatus, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static func json(_ object: Any, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        // Foundation's writer only for a value outside JSONText's list.
        let body = JSONText.encode(object)
            ?? (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])).map { Array($0) }
        return HTTPResponse(status: status, contentType: "application/json", body: body ?? Array("{}".utf8))
    }

    /// The JSON error body of the output contract.
    public static func error(_ status: HTTPResponseStatus, code: String, _ message: String, retryable: Bool = false) -> HTTPResponse {
        json(["error": ["code": code, "message": message, "retryable": retryable]], status: status)
    }

    public static func text(_ text: String, contentType: String = "text/plain; version=0.0.4") -> HTTPResponse {
        HTTPResponse(status: .ok, contentType: contentType, body: Array(text.utf8))
    }
}

/// A small HTTP/1.1 server on NIO: bounded request bodies (413 beyond the limit, without reading
/// the rest), one async router.
public final class HTTPServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let bodyBytesMax: Int
    let router: @Sendable (HTTPRequest) async -> HTTPResponse
    let tooLarge: @Sendable (Int) -> HTTPResponse
    let checksumsBodies: Bool

    /// A server whose router answers every request; `tooLarge` is the answer to a body over
    /// `bodyBytesMax` (by default the JSON error body with code BODY_TOO_LARGE). With
    /// `checksumsBodies`, every request carries the CRC-32C of its body (`bodyCRC32C`), computed
    /// as the parts arrive, for servers that store bodies with that checksum.
    public init(
        group: MultiThreadedEventLoopGroup, bodyBytesMax: Int, checksumsBodies: Bool = false,
        tooLarge: @escaping @Sendable (Int) -> HTTPResponse = { .error(.payloadTooLarge, code: "BODY_TOO_LARGE", "the body exceeds \($0) bytes") },
        router: @escaping @Sendable (HTTPRequest) async -> HTTPResponse
    ) {
        self.group = group
        self.bodyBytesMax = bodyBytesMax
        self.checksumsBodies = checksumsBodies
        self.tooLarge = tooLarge
        self.router = router
    }

    public func listen(host: String, port: Int) async throws -> any Channel {
        let router = self.router, limit = bodyBytesMax, tooLarge = self.tooLarge, checksums = checksumsBodies
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(router: router, bodyBytesMax: limit, checksumsBodies: checksums, tooLarge: tooLarge))
                }
            }
            .bind(host: host, port: port).get()
    }
}

final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let router: @Sendable (HTTPRequest) async -> HTTPResponse
    let bodyBytesMax: Int
    let tooLarge: @Sendable (Int) -> HTTPResponse
    let checksumsBodies: Bool
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyCRC: UInt32 = 0
    /// Bytes of `body` that `bodyCRC` covers.
    private var checksummed = 0

    /// Extends the body's checksum over what arrived since, in whole 96 KiB steps while the body
    /// arrives (the CRC code runs three streams over 24 KiB blocks; parts from the socket are
    /// often smaller), and to the end with `final`. The bytes were just written, so they are read
    /// from cache rather than from memory once the whole body is there.
    private func checksumBody(final: Bool) {
        let step = 96 << 10
        let count = final ? body.count - checksummed : (body.count - checksummed) / step * step
        guard count > 0 else { return }
        body.withUnsafeBytes { bodyCRC = walrus_crc32c(bodyCRC, $0.baseAddress! + checksummed, count) }
        checksummed += count
    }
    private var rejected = false

    init(
        router: @escaping @Sendable (HTTPRequest) async -> HTTPResponse, bodyBytesMax: Int, checksumsBodies: Bool = false,
        tooLarge: @escaping @Sendable (Int) -> HTTPResponse
    ) {
        self.router = router
        self.bodyBytesMax = bodyBytesMax
        self.checksumsBodies = checksumsBodies
        self.tooLarge = tooLarge
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
            bodyCRC = 0
            checksummed = 0
            rejected = false
            if let length = head.headers.first(name: "content-length").flatMap(Int.init) {
                if length > bodyBytesMax { reject(context) } else { body.reserveCapacity(length) }
            }
        case .body(let buffer):
            guard !rejected else { return }
            if body.count + buffer.readableBytes > bodyBytesMax {
                reject(context)
                return
            }
            buffer.withUnsafeReadableBytes { body.append(contentsOf: $0) }
            if checksumsBodies { checksumBody(final: false) }
        case .end:
            guard !rejected, let head else { return }
            let (path, query) = HTTPHandler.split(head.uri)
            var headerMap: [String: String] = [:]
            for (name, value) in head.headers { headerMap[name.lowercased()] = value }
            var request = HTTPRequest(method: head.method, path: path, query: query, body: body, headers: headerMap)
            if checksumsBodies {
                checksumBody(final: true)
                request.bodyCRC32C = bodyCRC
            }
            let router = self.router
            let keepAlive = head.isKeepAlive
            let loopBound = NIOLoopBound((context, self), eventLoop: context.eventLoop)
            Task {
                let response = await router(request)
                loopBound.eventLoop.execute {
                    let (context, handler) = loopBound.value
                    handler.write(response, keepAlive: keepAlive, context: context)
                }
            }
        }
    }

    private func reject(_ context: ChannelHandlerContext) {
        rejected = true
        write(tooLarge(bodyBytesMax), keepAlive: false, context: context)
    }

    private func write(_ response: HTTPResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: String(response.body.count))
        headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    static func split(_ uri: String) -> (String, [String: String]) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[String(kv[0]).removingPercentEncoding ?? String(kv[0])] = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
            }
        }
        return (String(parts[0]), query)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
