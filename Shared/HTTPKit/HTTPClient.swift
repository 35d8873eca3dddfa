import Synchronization
import Foundation
import WalrusCore
public import NIOCore
public import NIOHTTP1
public import NIOPosix

/// Why a request got no response.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// No connection could be made (refused, unreachable, connect timeout).
        case connect
        /// No complete response within the request's timeout.
        case timeout
        /// The connection closed or failed before the response was complete.
        case connectionLost
        /// The response body is larger than the caller accepts.
        case responseTooLarge
        /// The caller's body sink refused the body.
        case responseRejected
        /// The task making the request was cancelled.
        case cancelled
        /// The URL is not `http://host:port/…`.
        case invalidURL
    }

    public let code: Code
    public let message: String
    /// The connection was lost before any byte of the response arrived.
    var beforeAnswer = false

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    init(lostBeforeAnswer: Bool, _ message: String) {
        self.init(.connectionLost, message)
        beforeAnswer = lostBeforeAnswer
    }

    public var description: String { message }
}

/// A response: status, headers and the body, kept in the buffer it was received into.
public struct HTTPClientResponse: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    let buffer: ByteBuffer

    /// The body's length in bytes.
    public var bodyCount: Int { buffer.readableBytes }

    /// The body, copied into an array.
    public var body: [UInt8] { Array(buffer.readableBytesView) }

    /// Calls `body` with the received bytes in place, without copying them.
    public func withUnsafeBody<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeReadableBytes(body)
    }
}

/// A request body: bytes to copy, or a length and a function that writes exactly that many bytes
/// straight into the buffer that goes to the socket (so large bodies are copied once).
public enum HTTPClientBody: Sendable {
    case bytes([UInt8])
    case writer(count: Int, @Sendable (UnsafeMutableRawBufferPointer) -> Void)
    /// Bytes that stay where they are until they are written to the socket (no copy, no buffer).
    case borrowed(BorrowedBytes)

    var count: Int {
        switch self {
        case .bytes(let bytes): bytes.count
        case .writer(let count, _): count
        case .borrowed(let borrowed): borrowed.count
        }
    }
}

/// A body made of pieces: small arrays, and regions of memory that `owner` keeps valid. The client
/// retains the owner for as long as any of its buffers refers to a region, which may be past the
/// request's end (a write still queued on a connection that is being closed), so the regions are
/// never read after they are freed. The regions must not change while they may be sent.
public struct BorrowedBytes: @unchecked Sendable {
    public enum Part {
        case bytes([UInt8])
        case region(UnsafeRawBufferPointer)
    }

    public let owner: AnyObject
    public let parts: [Part]

    public init(owner: AnyObject, parts: [Part]) {
        self.owner = owner
        self.parts = parts
    }

    public var count: Int {
        parts.reduce(0) { total, part in
            switch part {
            case .bytes(let bytes): total + bytes.count
            case .region(let region): total + region.count
            }
        }
    }
}

/// Takes the body of a 200 response chunk by chunk as it arrives, instead of the client buffering
/// it: a large body can go straight where it belongs. Called on the connection's event loop, one
/// chunk after the other; returning false aborts the request (`responseRejected`).
public protocol HTTPBodySink: AnyObject, Sendable {
    func receive(_ chunk: UnsafeRawBufferPointer) -> Bool
}

/// A small HTTP/1.1 client on NIO for the bulk traffic between clients and storage nodes: one
/// request per connection at a time, idle keep-alive connections pooled per host, a timeout for
/// each request, and a cap on response bodies. Bodies go out of and come into NIO's buffers
/// without the intermediate copies of URLSession.
public final class HTTPClient: Sendable {
    private let group: any EventLoopGroup
    private let pool = ConnectionPool()
    /// Idle connections kept per host.
    let idleMaxPerHost: Int
    /// TLS for https:// URLs (nil: such URLs are refused).
    let security: (any HTTPClientSecurity)?

    /// A client on NIO's shared event loops; `security` sets up TLS for https:// URLs.
    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, idleMaxPerHost: Int = 16, security: (any HTTPClientSecurity)? = nil) {
        self.group = group
        self.idleMaxPerHost = idleMaxPerHost
        self.security = security
    }

    deinit { pool.closeAll() }

    /// Sends one request to `url` (`http://host:port/path?query`, or https:// with `security`;
    /// `pin` is the key the server's certificate must carry, as the security checks it) and waits for the whole response
    /// for at most `timeoutSeconds`. A response body over `responseBytesMax` fails the request. A
    /// pooled connection that turns out to be closed is replaced once, transparently.
    ///
    /// With a `sink`, the body of a 200 response goes to the sink as it arrives and the returned
    /// response's body is empty; other statuses are buffered as usual. `connectTimeoutSeconds`
    /// bounds the connect alone (within the request's timeout), so that a host that drops packets
    /// costs that long, not the whole timeout.
    public func request(
        _ method: HTTPMethod, _ url: String, body: HTTPClientBody? = nil, headers: [(String, String)] = [],
        timeoutSeconds: Double, connectTimeoutSeconds: Double? = nil, responseBytesMax: Int = 64 << 20, sink: (any HTTPBodySink)? = nil,
        pin: [UInt8]? = nil
    ) async throws(HTTPClientError) -> HTTPClientResponse {
        let (secure, host, port, target, urlPin) = try HTTPClient.split(url)
        let pin = pin ?? urlPin
        if secure && security == nil { throw HTTPClientError(.invalidURL, "\(url): this client has no TLS configured for https:// URLs") }
        let deadline = NIODeadline.now() + .milliseconds(Int64(timeoutSeconds * 1000))
        let payload = body.map(HTTPClient.buffers(for:))
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: target)
        head.headers.add(name: "host", value: "\(host):\(port)")
        head.headers.add(name: "connection", value: "keep-alive")
        if let body { head.headers.add(name: "content-length", value: String(body.count)) } else if method == .PUT || method == .POST {
            head.headers.add(name: "content-length", value: "0")
        }
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        // A connection is reused only for the same scheme and the same pinned key.
        let key = secure ? "https://\(host):\(port)#\(pin.map { $0.map { String($0, radix: 16) }.joined() } ?? "")" : "\(host):\(port)"
        let tls = secure ? security : nil
        for attempt in 0..<2 {
            let connectDeadline = connectTimeoutSeconds.map { min(deadline, NIODeadline.now() + .milliseconds(Int64($0 * 1000))) } ?? deadline
            let (connection, reused) = try await connection(key: key, host: host, port: port, deadline: connectDeadline, tls: tls.map { ($0, pin) })
            do {
                let response = try await connection.handler.send(
                    head, payload, on: connection.channel, deadline: deadline, responseBytesMax: responseBytesMax, sink: sink)
                if response.keepAlive, connection.channel.isActive {
                    pool.release(connection, key: key, max: idleMaxPerHost)
                } else {
                    connection.channel.close(promise: nil)
                }
                return HTTPClientResponse(status: response.status, headers: response.headers, buffer: response.body)
            } catch let error as HTTPClientError {
                connection.channel.close(promise: nil)
                // A kept-alive connection the server closed meanwhile fails before any answer.
                if reused, attempt == 0, error.code == .connectionLost, error.beforeAnswer { continue }
                throw error
            } catch {
                connection.channel.close(promise: nil)
                throw HTTPClientError(.connectionLost, "\(method) \(url): \(error)")
            }
        }
        throw HTTPClientError(.connectionLost, "\(method) \(url): the connection closed before the response")
    }

    /// A pooled connection to `key`, or a new one.
    private func connection(
        key: String, host: String, port: Int, deadline: NIODeadline, tls: ((any HTTPClientSecurity), [UInt8]?)?
    ) async throws(HTTPClientError) -> (Connection, Bool) {
        if Task.isCancelled { throw HTTPClientError(.cancelled, "cancelled before connecting to \(host):\(port)") }
        if let idle = pool.take(key) { return (idle, true) }
        let handler = ResponseHandler()
        let remaining = max(deadline - .now(), .milliseconds(1))
        let connecting = ClientBootstrap(group: group)
            .connectTimeout(remaining)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let (security, pin) = tls { try security.addHandlers(to: channel, host: host, pin: pin) }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: host, port: port)
        // A cancelled task stops waiting at once, not at the connect timeout: a host that drops
        // packets (down, or cut off) would otherwise hold a finished read for the whole timeout.
        // The connection, if it comes up later, is closed.
        let loop = connecting.eventLoop
        let result = loop.makePromise(of: (any Channel).self)
        let settled = SettledFlag()
        connecting.whenComplete { outcome in
            guard settled.settle() else {
                if case .success(let channel) = outcome { channel.close(promise: nil) }
                return
            }
            result.completeWith(outcome)
        }
        do {
            let channel = try await withTaskCancellationHandler {
                try await result.futureResult.get()
            } onCancel: {
                if settled.settle() { result.fail(HTTPClientError(.cancelled, "cancelled while connecting to \(host):\(port)")) }
            }
            return (Connection(channel: channel, handler: handler), false)
        } catch let error as HTTPClientError {
            throw error
        } catch {
            throw HTTPClientError(.connect, "cannot connect to \(host):\(port): \(error)")
        }
    }

    static func buffers(for body: HTTPClientBody) -> [ByteBuffer] {
        switch body {
        case .bytes(let bytes):
            return [ByteBufferAllocator().buffer(bytes: bytes)]
        case .writer(let count, let write):
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
                write(UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]))
                return count
            }
            return [buffer]
        case .borrowed(let borrowed):
            return borrowed.parts.compactMap { part in
                switch part {
                case .bytes(let bytes): bytes.isEmpty ? nil : ByteBufferAllocator().buffer(bytes: bytes)
                case .region(let region): region.isEmpty ? nil : BorrowedMemory.buffer(region, owner: borrowed.owner)
                }
            }
        }
    }

    /// `http(s)://host:port/path?query` → whether TLS, host, port, request target, and the pin
    /// an https URL may carry as its user part (`https://<hex key>@host:port/…`): the key the
    /// server's certificate must hold, so that a URL built from a committee member names the
    /// node and its key together.
    static func split(_ url: String) throws(HTTPClientError) -> (Bool, String, Int, String, [UInt8]?) {
        let secure = url.hasPrefix("https://")
        guard secure || url.hasPrefix("http://") else { throw HTTPClientError(.invalidURL, "\(url) is not an http:// or https:// URL") }
        let rest = url.dropFirst(secure ? "https://".count : "http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<slash]
        var pin: [UInt8]?
        if let at = authority.lastIndex(of: "@") {
            let user = authority[..<at]
            guard secure, user.utf8.count <= 256, !user.hasPrefix("0x"), let bytes = try? Hex.decode(String(user)) else { throw HTTPClientError(.invalidURL, "\(url): only an https URL carries a key, as hex before '@'") }
            pin = bytes
            authority = authority[authority.index(after: at)...]
        }
        let target = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]), port > 0, port < 65536 else {
            return (secure, String(authority), secure ? 443 : 80, target, pin)
        }
        let host = String(authority[..<colon])
        guard !host.isEmpty else { throw HTTPClientError(.invalidURL, "\(url) names no host") }
        return (secure, host, port, target, pin)
    }
}

/// TLS for a client's https:// connections: adds the handlers that encrypt and check the server's
/// certificate (against `pin` when given) in front of the HTTP codec.
public protocol HTTPClientSecurity: Sendable {
    func addHandlers(to channel: any Channel, host: String, pin: [UInt8]?) throws
}

/// TLS for a server's connections: adds the handlers in front of the HTTP codec.
public protocol HTTPServerSecurity: Sendable {
    func addHandlers(to channel: any Channel) throws
}

/// Set once, by whichever comes first of two racing completions.
public final class SettledFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    /// True for the first caller only.
    public func settle() -> Bool { flag.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged }
}

struct Connection: Sendable {
    let channel: any Channel
    let handler: ResponseHandler
}

/// Idle connections by host.
final class ConnectionPool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [String: [Connection]] = [:]

    func take(_ key: String) -> Connection? {
        lock.lock()
        defer { lock.unlock() }
        while let connection = idle[key]?.popLast() {
            if connection.channel.isActive { return connection }
        }
        return nil
    }

    func release(_ connection: Connection, key: String, max: Int) {
        lock.lock()
        let kept = (idle[key]?.count ?? 0) < max
        if kept { idle[key, default: []].append(connection) }
        lock.unlock()
        if !kept { connection.channel.close(promise: nil) }
    }

    func closeAll() {
        lock.lock()
        let all = idle.values.flatMap { $0 }
        idle = [:]
        lock.unlock()
        for connection in all { connection.channel.close(promise: nil) }
    }
}

/// What one exchange received.
struct ReceivedResponse: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let keepAlive: Bool
    let body: ByteBuffer
}

/// Collects one response at a time. Its state is touched only on its channel's event loop (every
/// entry point hops there first), which is what makes it safe to share.
final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private var promise: EventLoopPromise<ReceivedResponse>?
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    private var limit = 0
    private var sink: (any HTTPBodySink)?
    private var streaming = false
    private var streamed = 0
    private var timeout: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// Whether the current exchange has received nothing yet.
    private var answeredNothing = true

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Writes the request and completes with the whole response, on the channel's loop.
    func send(
        _ head: HTTPRequestHead, _ body: [ByteBuffer]?, on channel: any Channel, deadline: NIODeadline, responseBytesMax: Int, sink: (any HTTPBodySink)?
    ) async throws -> ReceivedResponse {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: ReceivedResponse.self)
        loop.execute {
            guard let context = self.context, channel.isActive else {
                promise.fail(HTTPClientError(lostBeforeAnswer: true, "the connection to \(head.headers.first(name: "host") ?? "the server") is closed"))
                return
            }
            self.promise = promise
            self.head = nil
            self.body = nil
            self.limit = responseBytesMax
            self.sink = sink
            self.streaming = false
            self.streamed = 0
            self.answeredNothing = true
            self.timeout = loop.scheduleTask(deadline: deadline) {
                self.finish(.failure(HTTPClientError(.timeout, "\(head.method) \(head.uri): no complete response in time")))
                channel.close(promise: nil)
            }
            context.write(self.wrapOutboundOut(.head(head)), promise: nil)
            for part in body ?? [] { context.write(self.wrapOutboundOut(.body(.byteBuffer(part))), promise: nil) }
            context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenFailure { error in
                self.finish(.failure(HTTPClientError(lostBeforeAnswer: self.answeredNothing, "\(head.method) \(head.uri): \(error)")))
            }
        }
        // A cancelled task gives up the request at once: the connection is closed, not pooled.
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            loop.execute {
                // Only while this exchange is still the connection's current one.
                guard self.promise?.futureResult === promise.futureResult else { return }
                self.finish(.failure(HTTPClientError(.cancelled, "\(head.method) \(head.uri): cancelled")))
                channel.close(promise: nil)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard promise != nil else { return }
        answeredNothing = false
        switch unwrapInboundIn(data) {
        case .head(let received):
            head = received
            let length = received.headers.first(name: "content-length").flatMap(Int.init)
            if let length, length > limit { return tooLarge(context) }
            streaming = sink != nil && received.status == .ok
            if let length, !streaming { body = context.channel.allocator.buffer(capacity: length) }
        case .body(var part):
            if streaming {
                streamed += part.readableBytes
                guard streamed <= limit else { return tooLarge(context) }
                guard part.withUnsafeReadableBytes({ sink!.receive($0) }) else {
                    finish(.failure(HTTPClientError(.responseRejected, "the body is not what the caller expects")))
                    context.close(promise: nil)
                    return
                }
                return
            }
            guard (body?.readableBytes ?? 0) + part.readableBytes <= limit else { return tooLarge(context) }
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            guard let head else { return }
            finish(.success(ReceivedResponse(
                status: Int(head.status.code), headers: head.headers, keepAlive: head.isKeepAlive,
                body: body ?? context.channel.allocator.buffer(capacity: 0))))
        }
    }

    private func tooLarge(_ context: ChannelHandlerContext) {
        finish(.failure(HTTPClientError(.responseTooLarge, "the response body exceeds \(limit) bytes")))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(HTTPClientError(lostBeforeAnswer: answeredNothing, "the server closed the connection before the response was complete")))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(HTTPClientError(lostBeforeAnswer: answeredNothing, "\(error)")))
        context.close(promise: nil)
    }

    private func finish(_ result: Result<ReceivedResponse, HTTPClientError>) {
        guard let promise else { return }
        self.promise = nil
        timeout?.cancel()
        timeout = nil
        head = nil
        body = nil
        sink = nil
        promise.completeWith(result.mapError { $0 as any Error })
    }
}
