import Foundation
@testable import HTTPKit
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP socket to 127.0.0.1 for sending raw, partial or hostile requests.
final class RawSocket {
    let fd: Int32

    init?(port: Int) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) { _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

    /// Everything the server sends until it closes or 5 s pass; "" when it closed at once.
    func readAll() -> String {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether the server closed the connection (within the receive timeout).
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }
}

/// Shared atomics for tests' closures.
final class Counters: Sendable {
    let flag = Atomic<Bool>(false)
    let running = Atomic<Int>(0)
    let peak = Atomic<Int>(0)
}

/// A server with small limits: GET /slow waits until `release` is set, GET /v1/health answers.
final class LimitedServer: @unchecked Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let server: HTTPServer
    let release = Counters()
    var port = 0

    init(limits: HTTPServerLimits, admit: (@Sendable (HTTPRequestHead) -> HTTPAdmission)? = nil) {
        let release = self.release
        server = HTTPServer(group: group, bodyBytesMax: 1 << 20, limits: limits, admit: admit) { request in
            if request.path == "/slow" {
                while !release.flag.load(ordering: .relaxed) { try? await Task.sleep(nanoseconds: 10_000_000) }
            }
            if request.path.hasPrefix("/stream") {
                // 64 pieces of 64 KiB (4 MiB), byte i of the body being i % 251; "/stream-broken"
                // fails after two pieces, "/stream-chunked" announces no length.
                var response = HTTPResponse(status: .ok, contentType: "application/octet-stream", body: [])
                if request.path != "/stream-chunked" { response.contentLength = 64 << 16 }
                let broken = request.path == "/stream-broken"
                response.stream = { writer in
                    for piece in 0..<64 {
                        if broken && piece == 2 { throw HTTPBodyWriter.Closed() }
                        try await writer.write((0..<(1 << 16)).map { UInt8((piece << 16 + $0) % 251) })
                    }
                }
                return response
            }
            return .text("ok \(request.body.count)")
        }
    }

    func start() async throws {
        let channel = try await server.listen(host: "127.0.0.1", port: 0)
        port = channel.localAddress?.port ?? 0
    }

    func stop() async throws {
        release.flag.store(true, ordering: .relaxed)
        await server.stop()
        try await group.shutdownGracefully()
    }
}

@Suite(.serialized) struct ServerLimitsTests {
    /// At the connection cap, half-open connections (no request sent) do not lock out a new
    /// client: each new connection closes the one idle longest, and the health check is answered.
    @Test func halfOpenConnectionsCannotLockOutClients() async throws {
        var limits = HTTPServerLimits()
        limits.connectionsMax = 64
        let server = LimitedServer(limits: limits)
        try await server.start()
        var idle: [RawSocket] = []
        for _ in 0..<300 { if let socket = RawSocket(port: server.port) { idle.append(socket) } }
        #expect(idle.count == 300)
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(server.server.connectionCount <= 64)
        let started = Date()
        let response = try await HTTPClient().request(.GET, "http://127.0.0.1:\(server.port)/v1/health", timeoutSeconds: 2)
        #expect(response.status == 200)
        #expect(Date().timeIntervalSince(started) < 1)
        // The oldest half-open connections were closed to make room.
        #expect(idle[0].isClosedByPeer())
        try await server.stop()
    }

    /// A connection that never completes its head is closed after the head timeout; one that
    /// trickles its body below the minimum rate is cut off.
    @Test func slowHeadsAndBodiesAreCutOff() async throws {
        var limits = HTTPServerLimits()
        limits.headTimeoutMs = 300
        limits.bodyBytesPerSecondMin = 1000
        let server = LimitedServer(limits: limits)
        try await server.start()
        let slowHead = try #require(RawSocket(port: server.port))
        slowHead.send("GET /x HTTP/1.1\r\nHost: a\r\n")
        let slowBody = try #require(RawSocket(port: server.port))
        slowBody.send("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\nabc")
        let started = Date()
        #expect(slowHead.isClosedByPeer())
        #expect(slowBody.isClosedByPeer())
        #expect(Date().timeIntervalSince(started) < 3)
        // A prompt request on a fresh connection is served as usual.
        let fine = try #require(RawSocket(port: server.port))
        fine.send("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
        #expect(fine.readAll().contains("ok 3"))
        try await server.stop()
    }

    /// Beyond the in-flight cap a request gets 503 with Retry-After at once, and health (exempt)
    /// is still answered.
    @Test func requestsBeyondTheInFlightCapGet503() async throws {
        var limits = HTTPServerLimits()
        limits.inFlightMax = 4
        let server = LimitedServer(limits: limits)
        try await server.start()
        let client = HTTPClient()
        let base = "http://127.0.0.1:\(server.port)"
        let held = Task {
            await withTaskGroup(of: Int.self) { group in
                for _ in 0..<4 { group.addTask { (try? await client.request(.GET, base + "/slow", timeoutSeconds: 10).status) ?? 0 } }
                return await group.reduce(into: [Int]()) { $0.append($1) }
            }
        }
        while server.server.requestsInFlight < 4 { try await Task.sleep(nanoseconds: 10_000_000) }
        let refused = try await client.request(.GET, base + "/other", timeoutSeconds: 2)
        #expect(refused.status == 503)
        #expect(refused.headers.first(name: "retry-after") == "1")
        #expect(try await client.request(.GET, base + "/v1/health", timeoutSeconds: 2).status == 200)
        server.release.flag.store(true, ordering: .relaxed)
        #expect(await held.value == [200, 200, 200, 200])
        #expect(try await client.request(.GET, base + "/other", timeoutSeconds: 2).status == 200)
        try await server.stop()
    }

    /// Admission refuses a request from its head, before any of its body is read: a 100 MB body
    /// announced by an unauthorized client costs the server nothing.
    /// A client that sends `Expect: 100-continue` is told to go on once its request is admitted,
    /// and refused at once (without the 100) when it is too large.
    @Test func expectContinueIsAnsweredAtOnce() async throws {
        let server = LimitedServer(limits: HTTPServerLimits())
        try await server.start()
        let socket = try #require(RawSocket(port: server.port))
        socket.send("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n")
        var buffer = [UInt8](repeating: 0, count: 256)
        let started = Date()
        let n = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
        #expect(n > 0 && String(decoding: buffer[0..<max(n, 0)], as: UTF8.self).hasPrefix("HTTP/1.1 100 Continue\r\n"))
        #expect(Date().timeIntervalSince(started) < 0.5)
        socket.send("hello")
        let rest = socket.readAll()
        #expect(rest.contains("HTTP/1.1 200 OK") && rest.contains("ok 5"), "\(rest)")
        let large = try #require(RawSocket(port: server.port))
        large.send("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n")
        let refused = large.readAll()
        #expect(refused.hasPrefix("HTTP/1.1 413") && !refused.contains("100 Continue"), "\(refused)")
        try await server.stop()
    }

    @Test func admissionRefusesBeforeTheBody() async throws {
        let server = LimitedServer(limits: HTTPServerLimits()) { head in
            head.headers.first(name: "authorization") == "Bearer good"
                ? .accept(bodyBytesMax: 1 << 20) : .refuse(.error(.unauthorized, code: "UNAUTHENTICATED", "no"))
        }
        try await server.start()
        let socket = try #require(RawSocket(port: server.port))
        socket.send("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\n")
        let answer = socket.readAll()
        #expect(answer.hasPrefix("HTTP/1.1 401"))
        let client = HTTPClient()
        let accepted = try await client.request(.PUT, "http://127.0.0.1:\(server.port)/x", body: .bytes([1, 2]), headers: [("authorization", "Bearer good")], timeoutSeconds: 2)
        #expect(accepted.status == 200)
        try await server.stop()
    }

    /// A streamed answer arrives whole, with its length or chunked, and the connection serves the
    /// next request; a stream that fails midway closes the connection, so the client sees a short
    /// body against the announced length rather than a wrong answer.
    @Test func streamedAnswers() async throws {
        let server = LimitedServer(limits: HTTPServerLimits())
        try await server.start()
        let client = HTTPClient()
        let base = "http://127.0.0.1:\(server.port)"
        let expected = (0..<(64 << 16)).map { UInt8($0 % 251) }
        for path in ["/stream", "/stream-chunked"] {
            let response = try await client.request(.GET, base + path, timeoutSeconds: 10, responseBytesMax: 8 << 20)
            #expect(response.status == 200)
            #expect(response.body == expected, "\(path)")
        }
        #expect(try await client.request(.GET, base + "/x", timeoutSeconds: 2).status == 200)
        await #expect(throws: (any Error).self) { try await client.request(.GET, base + "/stream-broken", timeoutSeconds: 5, responseBytesMax: 8 << 20) }
        let raw = try #require(RawSocket(port: server.port))
        raw.send("GET /stream-broken HTTP/1.1\r\nHost: a\r\n\r\n")
        let answer = raw.readAll()
        #expect(answer.hasPrefix("HTTP/1.1 200"))
        #expect(answer.contains("content-length: 4194304"))
        #expect(answer.utf8.count < 4 << 20)
        try await server.stop()
    }

    /// One client address holds at most its share of connections (its own idle ones make room),
    /// and makes at most its rate of requests (429 with Retry-After beyond the burst); health is
    /// exempt from the rate.
    @Test func perClientLimits() async throws {
        var limits = HTTPServerLimits()
        limits.connectionsPerClientMax = 8
        limits.requestsPerClientPerSecond = 5
        let server = LimitedServer(limits: limits)
        try await server.start()
        var idle: [RawSocket] = []
        for _ in 0..<20 { if let socket = RawSocket(port: server.port) { idle.append(socket) } }
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(server.server.connectionCount <= 8)
        #expect(idle[0].isClosedByPeer())
        let client = HTTPClient()
        let base = "http://127.0.0.1:\(server.port)"
        var statuses: [Int] = []
        for _ in 0..<20 { statuses.append((try? await client.request(.GET, base + "/x", timeoutSeconds: 2).status) ?? 0) }
        let ok = statuses.filter { $0 == 200 }.count, limited = statuses.filter { $0 == 429 }.count
        #expect(ok >= 10 && ok <= 12, "\(statuses)")
        #expect(ok + limited == 20)
        #expect(try await client.request(.GET, base + "/v1/health", timeoutSeconds: 2).status == 200)
        // The bucket refills at the rate.
        try await Task.sleep(nanoseconds: 1_100_000_000)
        #expect(try await client.request(.GET, base + "/x", timeoutSeconds: 2).status == 200)
        try await server.stop()
    }

    /// A pool runs at most its threads at once, queues up to its limit, and refuses beyond it.
    @Test func workPoolIsBounded() async throws {
        let pool = WorkPool(name: "test", threadsMax: 2, queuedMax: 3)
        let counters = Counters()
        let jobs = Task {
            await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        (try? await pool.run {
                            let now = counters.running.add(1, ordering: .relaxed).newValue
                            _ = counters.peak.max(now, ordering: .relaxed)
                            while !counters.flag.load(ordering: .relaxed) { usleep(1000) }
                            counters.running.subtract(1, ordering: .relaxed)
                            return true
                        }) ?? false
                    }
                }
                return await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
        }
        while pool.load != (2, 3) { try await Task.sleep(nanoseconds: 1_000_000) }
        await #expect(throws: WorkPool.Busy.self) { try await pool.run { 1 } }
        counters.flag.store(true, ordering: .relaxed)
        #expect(await jobs.value == 5)
        #expect(counters.peak.load(ordering: .relaxed) == 2)
        #expect(try await pool.run { 7 } == 7)
    }
}
