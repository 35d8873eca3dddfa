import CFileIO
import Foundation
@testable import HTTPKit
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// A real HTTPKit server on 127.0.0.1 (an ephemeral port) for the client to talk to.
final class TestServer: @unchecked Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private(set) var channel: (any Channel)?
    private(set) var port = 0

    /// Routes: PUT /echo answers the body; GET /bytes?n=N answers N bytes; GET /slow sleeps 2 s.
    static func route(_ request: HTTPRequest) async -> HTTPResponse {
        switch (request.method, request.path) {
        case (.PUT, "/echo"):
            return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: request.body)
        case (.GET, "/bytes"):
            let n = Int(request.query["n"] ?? "") ?? 0
            return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        case (.PUT, "/crc"):
            // The checksum the server kept as the parts arrived, and the body's own.
            let whole = request.body.withUnsafeBytes { walrus_crc32c(0, $0.baseAddress, $0.count) }
            return .json(["received": request.bodyCRC32C.map { Int($0) } ?? -1, "whole": Int(whole)])
        case (.GET, "/slow"):
            try? await Task.sleep(nanoseconds: 2_000_000_000)
            return .text("late")
        default:
            return .error(.notFound, code: "NOT_FOUND", "no route \(request.path)")
        }
    }

    func start(port: Int = 0, checksumsBodies: Bool = false) async throws {
        let server = HTTPServer(group: group, bodyBytesMax: 8 << 20, checksumsBodies: checksumsBodies, router: TestServer.route)
        let channel = try await server.listen(host: "127.0.0.1", port: port)
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
    }

    func stop() async throws {
        try await group.shutdownGracefully()
    }
}

@Suite(.serialized) struct HTTPClientTests {
    static func pattern(_ count: Int, seed: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0) &+ seed } }

    @Test func bodiesRoundTripBothWaysOverPooledConnections() async throws {
        let server = TestServer()
        try await server.start()
        let client = HTTPClient()
        let base = "http://127.0.0.1:\(server.port)"
        let big = Self.pattern(5 << 20, seed: 3)
        let echoed = try await client.request(.PUT, base + "/echo", body: .bytes(big), timeoutSeconds: 10, responseBytesMax: 6 << 20)
        #expect(echoed.status == 200 && echoed.bodyCount == big.count && echoed.body == big)
        let written = try await client.request(
            .PUT, base + "/echo", body: .writer(count: 1000) { out in for i in 0..<out.count { out[i] = UInt8(i % 251) } }, timeoutSeconds: 10)
        #expect(written.body == (0..<1000).map { UInt8($0 % 251) })
        // Many requests at once, each answer belonging to its own request.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask {
                    let response = try await client.request(.GET, base + "/bytes?n=\(i * 1000)", timeoutSeconds: 10)
                    #expect(response.body == (0..<(i * 1000)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
                }
            }
            try await group.waitForAll()
        }
        let missing = try await client.request(.GET, base + "/nothing", timeoutSeconds: 10)
        #expect(missing.status == 404 && String(decoding: missing.body, as: UTF8.self).contains("NOT_FOUND"))
        try await server.stop()
    }

    /// A server that checksums bodies hands the router the CRC-32C of the whole body, kept part by
    /// part as a 5 MiB body arrived; one that does not hands it none.
    @Test func bodiesAreChecksummedAsTheyArrive() async throws {
        for checksums in [true, false] {
            let server = TestServer()
            try await server.start(checksumsBodies: checksums)
            let client = HTTPClient()
            let base = "http://127.0.0.1:\(server.port)"
            for body in [Self.pattern(5 << 20, seed: 9), [], [42]] {
                let response = try await client.request(.PUT, base + "/crc", body: .bytes(body), timeoutSeconds: 10)
                let fields = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Int])
                let whole = try #require(fields["whole"])
                #expect(fields["received"] == (checksums ? whole : -1), "\(body.count) bytes, checksums \(checksums)")
            }
            try await server.stop()
        }
    }

    /// A borrowed body goes out as the bytes of its pieces, in order, and its owner is released
    /// once the request is done: nothing refers to the borrowed memory any longer.
    @Test func aBorrowedBodyIsSentInPlaceAndReleasesItsOwner() async throws {
        final class Owner: @unchecked Sendable {
            let bytes: UnsafeMutableRawBufferPointer
            init(_ content: [UInt8]) {
                bytes = .allocate(byteCount: content.count, alignment: 64)
                bytes.copyBytes(from: content)
            }
            deinit { bytes.deallocate() }
        }
        let server = TestServer()
        try await server.start()
        let client = HTTPClient()
        let content = Self.pattern(3 << 20, seed: 9)
        weak var released: Owner?
        do {
            let owner = Owner(content)
            released = owner
            let half = content.count / 2
            let pieces = BorrowedBytes(owner: owner, parts: [
                .bytes([1, 2, 3]),
                .region(UnsafeRawBufferPointer(rebasing: owner.bytes[half...])),
                .region(UnsafeRawBufferPointer(rebasing: owner.bytes[..<half])),
                .region(UnsafeRawBufferPointer(rebasing: owner.bytes[..<half])),
                .bytes([]),
                .bytes([4]),
            ])
            let echoed = try await client.request(
                .PUT, "http://127.0.0.1:\(server.port)/echo", body: .borrowed(pieces), timeoutSeconds: 10, responseBytesMax: 8 << 20)
            #expect(echoed.status == 200)
            let front: [UInt8] = [1, 2, 3] + Array(content[half...])
            let expected: [UInt8] = front + Array(content[..<half]) + Array(content[..<half]) + [4]
            #expect(echoed.body == expected)
        }
        // NIO drops the written buffers on its event loop, just after the response.
        for _ in 0..<100 where released != nil { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(released == nil)
        try await server.stop()
    }

    /// Writing into a borrowed buffer (NIO never does for a request body) copies it first: the
    /// owner's memory stays as it was, and the owner is released.
    @Test func aBorrowedBufferThatGrowsGetsMemoryOfItsOwn() throws {
        final class Owner {
            var bytes: [UInt8] = [10, 20, 30, 40]
        }
        weak var released: Owner?
        do {
            let owner = Owner()
            released = owner
            let region = owner.bytes.withUnsafeBytes { UnsafeRawBufferPointer($0) }
            var buffer = BorrowedMemory.buffer(region, owner: owner)
            #expect(BorrowedMemory.regionsInUse == 1)
            buffer.writeBytes([50, 60])
            #expect(Array(buffer.readableBytesView) == [10, 20, 30, 40, 50, 60])
            #expect(owner.bytes == [10, 20, 30, 40])
            #expect(BorrowedMemory.regionsInUse == 0)
        }
        #expect(released == nil)
    }

    @Test func failuresAreTypedAndPrompt() async throws {
        let server = TestServer()
        try await server.start()
        let client = HTTPClient()
        let base = "http://127.0.0.1:\(server.port)"
        let start = Date()
        await #expect { _ = try await client.request(.GET, base + "/slow", timeoutSeconds: 0.3) } throws: { ($0 as! HTTPClientError).code == .timeout }
        #expect(Date().timeIntervalSince(start) < 1.5)
        await #expect { _ = try await client.request(.GET, base + "/bytes?n=5000", timeoutSeconds: 5, responseBytesMax: 4999) } throws: {
            ($0 as! HTTPClientError).code == .responseTooLarge
        }
        // After the failures, the client still works.
        #expect(try await client.request(.GET, base + "/bytes?n=10", timeoutSeconds: 5).bodyCount == 10)
        // The server's own body limit answers 413.
        let tooBig = try await client.request(.PUT, base + "/echo", body: .bytes(Self.pattern((8 << 20) + 1, seed: 0)), timeoutSeconds: 10)
        #expect(tooBig.status == 413)
        try await server.stop()
        await #expect { _ = try await client.request(.GET, base + "/bytes?n=1", timeoutSeconds: 2) } throws: { ($0 as! HTTPClientError).code == .connect }
        await #expect { _ = try await client.request(.GET, "https://127.0.0.1/", timeoutSeconds: 2) } throws: { ($0 as! HTTPClientError).code == .invalidURL }
    }

    /// A host that drops packets (down, or cut off by a partition) leaves a connect waiting for
    /// its timeout; a task that no longer needs the answer stops waiting when cancelled. On
    /// loopback, a listener with a full accept queue drops the SYNs of further connects.
    @Test func aCancelledConnectToAHostThatDropsPacketsEndsAtOnce() async throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(bound == 0 && listen(listener, 0) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        // Fill the accept queue (never accepted) with plain sockets.
        var fillers: [Int32] = []
        defer { fillers.forEach { close($0) } }
        for _ in 0..<4 {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            fcntl(s, F_SETFL, O_NONBLOCK)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            fillers.append(s)
        }
        try await Task.sleep(nanoseconds: 200_000_000)
        let client = HTTPClient()
        let start = Date()
        let request = Task { try await client.request(.GET, "http://127.0.0.1:\(port)/", timeoutSeconds: 20) }
        try await Task.sleep(nanoseconds: 500_000_000)
        request.cancel()
        await #expect { _ = try await request.value } throws: { [.cancelled, .connectionLost].contains(($0 as! HTTPClientError).code) }
        #expect(Date().timeIntervalSince(start) < 3, "a cancelled request waited \(Date().timeIntervalSince(start)) s")
    }

    @Test func aRestartedServerIsReachedAgainThroughThePool() async throws {
        let first = TestServer()
        try await first.start()
        let port = first.port
        let client = HTTPClient()
        let url = "http://127.0.0.1:\(port)/bytes?n=100"
        #expect(try await client.request(.GET, url, timeoutSeconds: 5).bodyCount == 100)
        try await first.stop()
        let second = TestServer()
        try await second.start(port: port)
        // The pooled connection died with the first server; the request goes over a new one.
        #expect(try await client.request(.GET, url, timeoutSeconds: 5).bodyCount == 100)
        try await second.stop()
    }

    @Test func aSinkTakesOKBodiesAsTheyArriveAndCanRefuseThem() async throws {
        let server = TestServer()
        try await server.start()
        let client = HTTPClient()
        let base = "http://127.0.0.1:\(server.port)"
        let collector = Collector(refuseAfter: nil)
        let streamed = try await client.request(.GET, base + "/bytes?n=3000000", timeoutSeconds: 10, responseBytesMax: 4 << 20, sink: collector)
        #expect(streamed.status == 200 && streamed.bodyCount == 0)
        #expect(collector.bytes == (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        // Error statuses are buffered as usual; the sink sees nothing.
        let quiet = Collector(refuseAfter: nil)
        let missing = try await client.request(.GET, base + "/nothing", timeoutSeconds: 10, sink: quiet)
        #expect(missing.status == 404 && missing.bodyCount > 0 && quiet.bytes.isEmpty)
        let refusing = Collector(refuseAfter: 1000)
        await #expect { _ = try await client.request(.GET, base + "/bytes?n=3000000", timeoutSeconds: 10, responseBytesMax: 4 << 20, sink: refusing) } throws: {
            ($0 as! HTTPClientError).code == .responseRejected
        }
        // The response cap holds for streamed bodies too.
        await #expect { _ = try await client.request(.GET, base + "/bytes?n=3000000", timeoutSeconds: 10, responseBytesMax: 1 << 20, sink: Collector(refuseAfter: nil)) } throws: {
            ($0 as! HTTPClientError).code == .responseTooLarge
        }
        #expect(try await client.request(.GET, base + "/bytes?n=10", timeoutSeconds: 5).bodyCount == 10)
        try await server.stop()
    }
}

/// A sink that keeps what it receives and refuses once it holds more than `refuseAfter` bytes.
final class Collector: HTTPBodySink, @unchecked Sendable {
    private(set) var bytes: [UInt8] = []
    let refuseAfter: Int?
    init(refuseAfter: Int?) { self.refuseAfter = refuseAfter }
    func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
        bytes += chunk
        return refuseAfter.map { bytes.count <= $0 } ?? true
    }
}
