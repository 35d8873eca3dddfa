import HTTPKit
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix

/// Raw bytes of one connection into the server's pipeline (NIO's HTTP/1.1 decoder, then HTTPKit's
/// handler: admission from the head, body limits and checksums, query parsing, the router), as a
/// storage node or gateway receives them; never a crash.
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = HTTPServer(
    group: group, bodyBytesMax: 1 << 16, checksumsBodies: true,
    admit: { head in head.uri.hasPrefix("/refuse") ? .refuse(.error(.forbidden, code: "NO", "refused")) : .accept(bodyBytesMax: head.method == .PUT ? 1 << 16 : 0) }
) { request in
    .json(["path": request.path, "query": request.query.count, "body": request.body.count, "crc": Int(request.bodyCRC32C ?? 0)])
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    let channel = NIOAsyncTestingChannel()
    let done = DispatchSemaphoreBox()
    Task {
        do {
            try await channel.eventLoop.submit { server.configure(channel) }.get().get()
            try await channel.writeInbound(channel.allocator.buffer(bytes: bytes))
            _ = try? await channel.finish(acceptAlreadyClosed: true)
        } catch {
            _ = try? await channel.finish(acceptAlreadyClosed: true)
        }
        done.signal()
    }
    done.wait()
    return 0
}
