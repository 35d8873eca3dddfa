import Foundation
public import HTTPKit
import Metrics
public import NIOHTTP1
import NIOPosix
import Prometheus
import Synchronization

/// swift-metrics for a whole process, exported in Prometheus text format: the admin endpoint
/// serves `exposition()`, and every `Counter`, `Gauge`, `Recorder` and `Timer` the process makes
/// lands in one registry.
public enum ProcessMetrics {
    static let registry = PrometheusCollectorRegistry()
    private static let bootstrapped = Mutex(false)

    /// Sets swift-metrics' backend (once per process).
    public static func bootstrap() {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        var factory = PrometheusMetricsFactory(registry: registry)
        // Latencies from 1 ms to 60 s: reads of small slivers to uploads of large ones.
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        MetricsSystem.bootstrap(factory)
    }

    /// The Prometheus text exposition of every metric so far.
    public static func exposition() -> [UInt8] { registry.emitToBuffer() }
}

/// Per-route request metrics of an HTTP server: `http_requests_total{route,method,status}`,
/// `http_request_duration_seconds{route,method}` and request and response bytes. `route` maps a
/// path to its template, so that labels never grow with IDs.
public struct HTTPMetrics: HTTPServerObserver {
    let server: String
    let route: @Sendable (HTTPMethod, String) -> String

    /// `server` names the API (`storage`, `aggregator`, `rpc`) in every metric's labels.
    public init(server: String, route: @escaping @Sendable (HTTPMethod, String) -> String) {
        self.server = server
        self.route = route
    }

    public func observe(_ o: HTTPObservation) {
        let route = self.route(o.method, o.path)
        let method = o.method.rawValue
        let status = o.status >= 500 ? "5xx" : o.status >= 400 ? "4xx" : o.status >= 300 ? "3xx" : "2xx"
        let labels = [("server", server), ("route", route), ("method", method)]
        Counter(label: "walrus_http_requests_total", dimensions: labels + [("status", status)]).increment()
        if o.status >= 500 { Counter(label: "walrus_http_errors_total", dimensions: labels).increment() }
        Metrics.Timer(label: "walrus_http_request_duration_seconds", dimensions: labels, preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(clamping: o.durationNanoseconds))
        Counter(label: "walrus_http_request_bytes_total", dimensions: labels).increment(by: max(0, o.requestBytes))
        Counter(label: "walrus_http_response_bytes_total", dimensions: labels).increment(by: max(0, o.responseBytes))
    }

    /// A route template from a path: the words of our routes stay, numbers become `{n}` and
    /// anything else (IDs, quilt identifiers, a client's made-up path) `{id}`, so that
    /// `/v1/blobs/<id>/slivers/3/primary` is `/v1/blobs/{id}/slivers/{n}/primary` and the
    /// label values stay a small fixed set whatever clients send.
    public static func template(_ path: String) -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).prefix(8).map { segment -> String in
            if !segment.isEmpty, segment.count <= 10, segment.allSatisfy({ $0.isASCII && $0.isNumber }) { return "{n}" }
            return routeWords.contains(String(segment)) ? String(segment) : "{id}"
        }
        return "/" + segments.joined(separator: "/")
    }

    static let routeWords: Set<String> = [
        "v1", "api", "health", "metrics", "status", "blobs", "metadata", "slivers", "primary", "secondary", "confirmation", "permanent", "deletable",
        "recoverySymbols", "inconsistencyProof", "migrate", "sync_shard", "quilts", "patches", "by-quilt-id", "by-quilt-patch-id", "by-object-id",
        "accounts", "blocks", "commits", "committee", "current", "epoch", "events", "genesis", "handovers", "nodes", "objects", "proofs", "snapshots",
        "stakes", "storage", "transactions", "batch", "validators",
    ]
}

/// The admin endpoint: `/metrics` (Prometheus text) and `/v1/health`, on its own address and
/// event loop, apart from the public API, so that a scrape never waits behind uploads.
public final class AdminServer: Sendable {
    let server: HTTPServer
    let group: MultiThreadedEventLoopGroup

    /// Listens on `listen` (host:port); `health` answers `/v1/health` (true: 200, false: 503).
    public static func start(listen: String, health: @escaping @Sendable () async -> Bool) async throws -> AdminServer {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw AdminError("admin_listen is host:port, not \(listen)")
        }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var limits = HTTPServerLimits()
        limits.connectionsMax = 32
        limits.inFlightMax = 8
        let server = HTTPServer(group: group, bodyBytesMax: 0, limits: limits, isExempt: { _ in true }) { request in
            switch (request.method, request.path) {
            case (.GET, "/metrics"):
                return HTTPResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: ProcessMetrics.exposition())
            case (.GET, "/v1/health"):
                return await health() ? .json(["status": "ok"]) : .error(.serviceUnavailable, code: "UNAVAILABLE", "not ready")
            default:
                return .error(.notFound, code: "NOT_FOUND", "the admin endpoint serves GET /metrics and GET /v1/health")
            }
        }
        do { _ = try await server.listen(host: host, port: port) } catch {
            try? await group.shutdownGracefully()
            throw AdminError("cannot listen on \(listen) for the admin endpoint: \(error)")
        }
        return AdminServer(server: server, group: group)
    }

    private init(server: HTTPServer, group: MultiThreadedEventLoopGroup) {
        self.server = server
        self.group = group
    }

    public func stop() async {
        await server.stop()
        try? await group.shutdownGracefully()
    }
}

public struct AdminError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
