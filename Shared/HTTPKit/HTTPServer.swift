import CFileIO
import Dispatch
import Foundation
import Synchronization
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
    /// The Content-Length to announce when it is not the body's (an answer to HEAD: the length a
    /// GET would send, with no body).
    public var contentLength: Int?
    /// A body produced while it is sent, instead of `body`: the head goes out first (with
    /// `contentLength` when set, chunked otherwise), then whatever the stream writes. A stream
    /// that throws, or writes a number of bytes other than `contentLength`, has its connection
    /// closed, so the client sees a truncated answer rather than a wrong one.
    public var stream: (@Sendable (HTTPBodyWriter) async throws -> Void)?

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

/// Builds an error answer from a status, a stable reason, a message and whether a retry may succeed.
public typealias HTTPErrorBuilder = @Sendable (_ status: HTTPResponseStatus, _ reason: String, _ message: String, _ retryable: Bool) -> HTTPResponse

/// Where a streamed answer writes its body. Each `write` returns once its bytes are on the socket
/// (or in the kernel's buffer), so a stream never runs ahead of its client by more than one write;
/// a write the client does not take within the server's head timeout closes the connection.
public final class HTTPBodyWriter: Sendable {
    let channel: any Channel
    let timeoutMs: Int64
    private let written = Atomic<Int>(0)

    init(channel: any Channel, timeoutMs: Int64) {
        self.channel = channel
        self.timeoutMs = timeoutMs
    }

    /// Bytes written so far.
    public var bytesWritten: Int { written.load(ordering: .relaxed) }

    public struct Closed: Error {}

    /// Sends `bytes` and waits until the connection took them.
    public func write(_ bytes: UnsafeRawBufferPointer) async throws {
        try await send(channel.allocator.buffer(bytes: bytes))
    }

    public func write(_ bytes: [UInt8]) async throws {
        try await send(channel.allocator.buffer(bytes: bytes))
    }

    private func send(_ buffer: ByteBuffer) async throws {
        guard buffer.readableBytes > 0 else { return }
        guard channel.isActive else { throw Closed() }
        written.add(buffer.readableBytes, ordering: .relaxed)
        let channel = self.channel
        let done = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: done)
        let timer = channel.eventLoop.scheduleTask(in: .milliseconds(max(1, timeoutMs))) { channel.close(promise: nil) }
        defer { timer.cancel() }
        do { try await done.futureResult.get() } catch { throw Closed() }
    }
}

/// What a server does with a request once its head has arrived, before any of its body is read.
public enum HTTPAdmission: Sendable {
    /// Read a body of at most this many bytes (413 beyond it, without reading the rest).
    case accept(bodyBytesMax: Int)
    /// Answer this at once and close the connection; the body is never read.
    case refuse(HTTPResponse)
}

/// The bounds every server keeps, whoever connects (Docs/RELIABILITY.md lists the defaults).
public struct HTTPServerLimits: Sendable {
    /// Connections open at once. At the cap, a new connection closes the connection that has been
    /// idle longest (waiting for a request, none in progress), or is itself closed when none is
    /// idle: half-open connections cannot lock out new clients.
    public var connectionsMax = 1024
    /// How long a connection may wait before its next request's head is complete: from its
    /// opening, or from its previous response (keep-alive idle time).
    public var headTimeoutMs: Int64 = 15_000
    /// The slowest a body may arrive, in bytes per second averaged from the head on, checked once
    /// per `headTimeoutMs`: a client that trickles a body is cut off.
    public var bodyBytesPerSecondMin = 16 << 10
    /// Requests whose handlers run at once; beyond it a request gets 503 with Retry-After before
    /// its body is read. Requests that `isExempt` names (health) do not count and are never refused.
    public var inFlightMax = 256
    /// The longest `stop` waits for requests in flight to finish.
    public var drainTimeoutMs: Int64 = 10_000
    /// Connections one client address may hold; at the cap, its own longest-idle connection is
    /// closed for a new one (or the new one, when none is idle). Nil: only `connectionsMax`.
    public var connectionsPerClientMax: Int?
    /// Requests one client address may make per second on average (a token bucket holding two
    /// seconds' worth); beyond it 429 with Retry-After, answered from the head. Requests that
    /// `isExempt` names do not count. Nil: no per-client rate.
    public var requestsPerClientPerSecond: Int?

    public init() {}
}

/// One answered request, as a server's observer sees it.
public struct HTTPObservation: Sendable {
    public let method: HTTPMethod
    /// The request path, without the query: the observer maps it to a route (never a label per ID).
    public let path: String
    public let status: UInt
    /// From the request head to the response.
    public let durationNanoseconds: UInt64
    public let requestBytes: Int
    public let responseBytes: Int
}

/// Told of every request a server answers, its own refusals included (for metrics). Called on
/// the request's task or event loop: it must be quick.
public protocol HTTPServerObserver: Sendable {
    func observe(_ observation: HTTPObservation)
}

/// A small HTTP/1.1 server on NIO: bounded connections, heads, body rates, bodies (413 beyond the
/// limit, without reading the rest) and requests in flight (503), admission before the body is
/// read, one async router, and a stop that drains.
public final class HTTPServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let bodyBytesMax: Int
    let router: @Sendable (HTTPRequest) async -> HTTPResponse
    let tooLarge: @Sendable (Int) -> HTTPResponse
    /// The body of the server's own refusals (rate limit, overload).
    let errors: HTTPErrorBuilder
    let admit: @Sendable (HTTPRequestHead) -> HTTPAdmission
    let isExempt: @Sendable (HTTPRequestHead) -> Bool
    let checksumsBodies: Bool
    let limits: HTTPServerLimits
    let connections: ConnectionRegistry
    let rates: ClientRateLimiter?
    /// TLS in front of HTTP (nil: plain HTTP).
    let security: (any HTTPServerSecurity)?
    /// Told of every answered request (metrics).
    let observer: (any HTTPServerObserver)?
    let inFlight = Atomic<Int>(0)
    private let listener = Mutex<(any Channel)?>(nil)

    /// A server whose router answers every request; `tooLarge` is the answer to a body over
    /// `bodyBytesMax` (by default the JSON error body with code BODY_TOO_LARGE). With
    /// `checksumsBodies`, every request carries the CRC-32C of its body (`bodyCRC32C`), computed
    /// as the parts arrive, for servers that store bodies with that checksum. `admit` sees each
    /// request's head first (authentication, per-route body limits); `isExempt` names requests
    /// the in-flight cap never refuses (cheap ones such as health).
    public init(
        group: MultiThreadedEventLoopGroup, bodyBytesMax: Int, checksumsBodies: Bool = false, limits: HTTPServerLimits = HTTPServerLimits(),
        tooLarge: @escaping @Sendable (Int) -> HTTPResponse = { .error(.payloadTooLarge, code: "BODY_TOO_LARGE", "the body exceeds \($0) bytes") },
        errors: @escaping HTTPErrorBuilder = { .error($0, code: $1, $2, retryable: $3) },
        admit: (@Sendable (HTTPRequestHead) -> HTTPAdmission)? = nil,
        isExempt: @escaping @Sendable (HTTPRequestHead) -> Bool = { $0.method == .GET && $0.uri.hasPrefix("/v1/health") },
        security: (any HTTPServerSecurity)? = nil,
        observer: (any HTTPServerObserver)? = nil,
        router: @escaping @Sendable (HTTPRequest) async -> HTTPResponse
    ) {
        self.group = group
        self.bodyBytesMax = bodyBytesMax
        self.checksumsBodies = checksumsBodies
        self.limits = limits
        self.tooLarge = tooLarge
        self.errors = errors
        self.admit = admit ?? { _ in .accept(bodyBytesMax: bodyBytesMax) }
        self.isExempt = isExempt
        self.router = router
        self.security = security
        self.observer = observer
        connections = ConnectionRegistry(max: limits.connectionsMax, perClientMax: limits.connectionsPerClientMax)
        rates = limits.requestsPerClientPerSecond.map { ClientRateLimiter(perSecond: $0) }
    }

    /// Requests being handled now.
    public var requestsInFlight: Int { inFlight.load(ordering: .relaxed) }
    /// Connections open now.
    public var connectionCount: Int { connections.count }

    public func listen(host: String, port: Int) async throws -> any Channel {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in configure(channel) }
            .bind(host: host, port: port).get()
        listener.withLock { $0 = channel }
        return channel
    }

    /// Sets up an accepted connection: counted against the connection cap (or closed), then the
    /// HTTP/1.1 codec and this server's handler. Public for harnesses (fuzzing) that feed a
    /// connection bytes without a socket.
    public func configure(_ channel: any Channel) -> EventLoopFuture<Void> {
        guard let connection = connections.admit(channel) else {
            return channel.close()
        }
        channel.closeFuture.whenComplete { [connections] _ in connections.remove(channel) }
        return channel.eventLoop.makeCompletedFuture {
            if let security { try security.addHandlers(to: channel) }
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(HTTPHandler(server: self, connection: connection))
        }
    }

    /// Stops taking connections, closes idle ones, waits (at most `drainTimeoutMs`) for the
    /// requests in flight to be answered, then closes the rest.
    public func stop() async {
        let channel = listener.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try? await channel?.close()
        connections.closeIdle()
        let deadline = NIODeadline.now() + .milliseconds(limits.drainTimeoutMs)
        while inFlight.load(ordering: .relaxed) > 0, NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        connections.closeAll()
    }
}

/// One open connection as the registry sees it: its channel, its client and when it last became idle.
final class ConnectionState: Sendable {
    let channel: any Channel
    /// The client's IP address ("" when unknown).
    let client: String
    /// Uptime nanoseconds when the connection last became idle (waiting for a request head); 0
    /// while a request is in progress. Written by the connection's handler, read by eviction.
    let idleSince = Atomic<UInt64>(DispatchTime.now().uptimeNanoseconds)

    init(channel: any Channel) {
        self.channel = channel
        client = channel.remoteAddress?.ipAddress ?? ""
    }
}

/// The open connections of one server, and which of them wait idle for a request.
final class ConnectionRegistry: Sendable {
    private struct Entries {
        var all: [ObjectIdentifier: ConnectionState] = [:]
        var perClient: [String: Int] = [:]

        mutating func remove(_ key: ObjectIdentifier) -> ConnectionState? {
            guard let entry = all.removeValue(forKey: key) else { return nil }
            let left = (perClient[entry.client] ?? 1) - 1
            perClient[entry.client] = left > 0 ? left : nil
            return entry
        }

        /// The connection idle longest (of `client` only, when given).
        func longestIdle(of client: String?) -> ObjectIdentifier? {
            var oldest: (key: ObjectIdentifier, since: UInt64)?
            for (key, entry) in all where client == nil || entry.client == client {
                let since = entry.idleSince.load(ordering: .relaxed)
                if since != 0, oldest.map({ since < $0.since }) ?? true { oldest = (key, since) }
            }
            return oldest?.key
        }
    }

    private let entries = Mutex(Entries())
    let max: Int
    let perClientMax: Int?

    init(max: Int, perClientMax: Int? = nil) {
        self.max = Swift.max(1, max)
        self.perClientMax = perClientMax.map { Swift.max(1, $0) }
    }

    var count: Int { entries.withLock { $0.all.count } }

    /// Registers a new connection, closing the longest-idle one (the client's own, at the client's
    /// cap) to make room; nil (the new one is to be closed) when every candidate is busy.
    func admit(_ channel: any Channel) -> ConnectionState? {
        let state = ConnectionState(channel: channel)
        let evicted: [any Channel]? = entries.withLock { entries in
            var victims: [any Channel] = []
            if let perClientMax, (entries.perClient[state.client] ?? 0) >= perClientMax {
                guard let key = entries.longestIdle(of: state.client), let victim = entries.remove(key) else { return nil }
                victims.append(victim.channel)
            }
            if entries.all.count >= max {
                guard let key = entries.longestIdle(of: nil), let victim = entries.remove(key) else { return nil }
                victims.append(victim.channel)
            }
            entries.all[ObjectIdentifier(channel)] = state
            entries.perClient[state.client, default: 0] += 1
            return victims
        }
        guard let evicted else { return nil }
        for victim in evicted { victim.close(promise: nil) }
        return state
    }

    func remove(_ channel: any Channel) { _ = entries.withLock { $0.remove(ObjectIdentifier(channel)) } }

    func closeIdle() {
        for entry in entries.withLock({ Array($0.all.values) }) where entry.idleSince.load(ordering: .relaxed) != 0 { entry.channel.close(promise: nil) }
    }

    func closeAll() {
        for entry in entries.withLock({ Array($0.all.values) }) { entry.channel.close(promise: nil) }
    }
}

/// Per-client token buckets for `requestsPerClientPerSecond`: each client address holds up to two
/// seconds' worth of requests, refilled continuously. At most `clientsMax` addresses are tracked;
/// beyond that, the buckets that are full again (clients that went quiet) are forgotten.
final class ClientRateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: UInt64
    }

    let perSecond: Double
    let burst: Double
    static let clientsMax = 65_536
    private let buckets = Mutex<[String: Bucket]>([:])

    init(perSecond: Int) {
        self.perSecond = Double(Swift.max(1, perSecond))
        burst = 2 * Double(Swift.max(1, perSecond))
    }

    /// Takes one request's token for `client`; false when its bucket is empty.
    func allow(_ client: String, now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Bool {
        buckets.withLock { buckets in
            var bucket = buckets[client] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now > bucket.updated ? Double(now - bucket.updated) / 1e9 : 0
            bucket.tokens = Swift.min(burst, bucket.tokens + elapsed * perSecond)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            if buckets[client] == nil && buckets.count >= Self.clientsMax {
                buckets = buckets.filter { Swift.min(burst, $0.value.tokens + Double(now &- $0.value.updated) / 1e9 * perSecond) < burst }
            }
            buckets[client] = bucket
            return allowed
        }
    }
}

final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: HTTPServer
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyBytesMax = 0
    private var bodyCRC: UInt32 = 0
    /// Bytes of `body` that `bodyCRC` covers.
    private var checksummed = 0
    /// Checks, a few times per head timeout, that the connection is not idle too long and that a
    /// body in progress arrives fast enough: one repeating task per connection, so a request
    /// costs no timer of its own.
    private var watchdog: RepeatedTask?
    /// Where the connection is: waiting for a head, receiving a body, or handling a request.
    private enum Phase { case idle, body, handling }
    private var phase = Phase.idle
    private var bodyStarted: UInt64 = 0
    let connection: ConnectionState

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

    init(server: HTTPServer, connection: ConnectionState) {
        self.server = server
        self.connection = connection
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let timeout = UInt64(max(1, server.limits.headTimeoutMs)) * 1_000_000
        let tick = TimeAmount.nanoseconds(Int64(max(timeout / 4, 50_000_000)))
        let loopBound = NIOLoopBound((context, self), eventLoop: context.eventLoop)
        watchdog = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            let (context, handler) = loopBound.value
            handler.check(context, timeoutNanoseconds: timeout)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        watchdog?.cancel()
        watchdog = nil
    }

    /// Closes a connection idle past the head timeout, or whose body arrives slower than the
    /// minimum rate (averaged since the head, once the head timeout has passed).
    private func check(_ context: ChannelHandlerContext, timeoutNanoseconds timeout: UInt64) {
        let now = DispatchTime.now().uptimeNanoseconds
        switch phase {
        case .idle:
            let since = connection.idleSince.load(ordering: .relaxed)
            if since != 0, now > since, now - since > timeout { context.channel.close(promise: nil) }
        case .body:
            guard now > bodyStarted, now - bodyStarted > timeout else { return }
            let elapsed = Double(now - bodyStarted) / 1e9
            if Double(body.count) < elapsed * Double(server.limits.bodyBytesPerSecondMin) { context.channel.close(promise: nil) }
        case .handling:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
            bodyCRC = 0
            checksummed = 0
            rejected = false
            connection.idleSince.store(0, ordering: .relaxed)
            phase = .body
            bodyStarted = DispatchTime.now().uptimeNanoseconds
            switch server.admit(head) {
            case .refuse(let response):
                reject(context, response)
                return
            case .accept(let limit):
                bodyBytesMax = limit
            }
            if let rates = server.rates, !server.isExempt(head), !rates.allow(connection.client) {
                var slow = server.errors(
                    .tooManyRequests, "RATE_LIMITED", "this client sent more than \(server.limits.requestsPerClientPerSecond ?? 0) requests a second; retry shortly", true)
                slow.headers.append(("retry-after", "1"))
                reject(context, slow)
                return
            }
            if !server.isExempt(head), server.inFlight.load(ordering: .relaxed) >= server.limits.inFlightMax {
                var busy = server.errors(.serviceUnavailable, "BUSY", "the server is handling \(server.limits.inFlightMax) requests; retry shortly", true)
                busy.headers.append(("retry-after", "1"))
                reject(context, busy)
                return
            }
            if let length = head.headers.first(name: "content-length").flatMap(Int.init) {
                if length > bodyBytesMax {
                    reject(context, server.tooLarge(bodyBytesMax))
                    return
                }
                body.reserveCapacity(length)
            }
            // A client that waits to be told to send its body (curl does for bodies over 1 MiB,
            // for a second otherwise) is told at once, now that the request is admitted.
            if head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
        case .body(let buffer):
            guard !rejected else { return }
            if body.count + buffer.readableBytes > bodyBytesMax {
                reject(context, server.tooLarge(bodyBytesMax))
                return
            }
            buffer.withUnsafeReadableBytes { body.append(contentsOf: $0) }
            if server.checksumsBodies { checksumBody(final: false) }
        case .end:
            guard !rejected, let head else { return }
            phase = .handling
            let (path, query) = HTTPHandler.split(head.uri)
            var headerMap: [String: String] = [:]
            for (name, value) in head.headers { headerMap[name.lowercased()] = value }
            if server.checksumsBodies { checksumBody(final: true) }
            var request = HTTPRequest(method: head.method, path: path, query: query, body: body, headers: headerMap)
            if server.checksumsBodies { request.bodyCRC32C = bodyCRC }
            body = []
            let server = self.server
            let counted = !server.isExempt(head)
            if counted { server.inFlight.add(1, ordering: .relaxed) }
            let keepAlive = head.isKeepAlive
            let loopBound = NIOLoopBound((context, self), eventLoop: context.eventLoop)
            let channel = context.channel
            let timeoutMs = server.limits.headTimeoutMs
            let started = bodyStarted, requestBytes = request.body.count, method = head.method
            Task {
                let response = await server.router(request)
                defer {
                    server.observer?.observe(HTTPObservation(
                        method: method, path: path, status: response.status.code, durationNanoseconds: DispatchTime.now().uptimeNanoseconds &- started,
                        requestBytes: requestBytes, responseBytes: response.contentLength ?? response.body.count))
                }
                if let stream = response.stream {
                    // The head now, the body as the stream writes it, the end on the loop.
                    let head = loopBound.eventLoop.submit {
                        let (context, handler) = loopBound.value
                        handler.writeHead(response, keepAlive: keepAlive, context: context)
                        context.flush()
                    }
                    try? await head.get()
                    let writer = HTTPBodyWriter(channel: channel, timeoutMs: timeoutMs)
                    var streamed = true
                    do { try await stream(writer) } catch { streamed = false }
                    if counted { server.inFlight.subtract(1, ordering: .relaxed) }
                    let complete = streamed && writer.bytesWritten == (response.contentLength ?? writer.bytesWritten)
                    loopBound.eventLoop.execute {
                        let (context, handler) = loopBound.value
                        guard complete, context.channel.isActive else {
                            context.channel.close(promise: nil)
                            return
                        }
                        let done = context.writeAndFlush(handler.wrapOutboundOut(.end(nil)))
                        if keepAlive {
                            handler.phase = .idle
                            handler.connection.idleSince.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
                        } else {
                            done.whenComplete { _ in channel.close(promise: nil) }
                        }
                    }
                    return
                }
                if counted { server.inFlight.subtract(1, ordering: .relaxed) }
                loopBound.eventLoop.execute {
                    let (context, handler) = loopBound.value
                    handler.write(response, keepAlive: keepAlive, context: context)
                    if keepAlive, context.channel.isActive {
                        handler.phase = .idle
                        handler.connection.idleSince.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
                    }
                }
            }
        }
    }

    private func reject(_ context: ChannelHandlerContext, _ response: HTTPResponse) {
        if let observer = server.observer, let head {
            observer.observe(HTTPObservation(
                method: head.method, path: HTTPHandler.split(head.uri).0, status: response.status.code,
                durationNanoseconds: DispatchTime.now().uptimeNanoseconds &- bodyStarted, requestBytes: body.count, responseBytes: response.body.count))
        }
        rejected = true
        phase = .handling
        write(response, keepAlive: false, context: context)
    }

    private func writeHead(_ response: HTTPResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.contentType)
        // A stream of unknown length goes out chunked (NIO's encoder frames it).
        if response.stream == nil || response.contentLength != nil {
            headers.add(name: "content-length", value: String(response.contentLength ?? response.body.count))
        }
        headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
    }

    private func write(_ response: HTTPResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        writeHead(response, keepAlive: keepAlive, context: context)
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
