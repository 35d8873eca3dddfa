import HTTPKit
import NIOPosix

/// `walrus-bench http-server [--port 25556]`: an HTTPKit server with the default limits whose one
/// route answers a fixed 55-byte JSON body, for measuring the server itself with a load generator
/// (wrk, ab) against another stack serving the same body. Runs until killed.
func runHTTPServerBench(port: Int) async {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let body = Array("{\"success\":{\"code\":200,\"data\":{\"nodeStatus\":\"Active\"}}}".utf8)
    let server = HTTPServer(group: group, bodyBytesMax: 0) { _ in HTTPResponse(status: .ok, contentType: "application/json", body: body) }
    guard let channel = try? await server.listen(host: "127.0.0.1", port: port) else {
        print("cannot listen on 127.0.0.1:\(port)")
        return
    }
    print("HTTPKit on 127.0.0.1:\(port)")
    try? await channel.closeFuture.get()
}
