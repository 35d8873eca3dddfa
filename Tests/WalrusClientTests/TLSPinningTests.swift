import Foundation
import HTTPKit
import NIOPosix
import Synchronization
import Testing
import Transport
import WalrusCrypto

/// TLS between clients and storage nodes, over real sockets on 127.0.0.1: a client that pins the
/// committee's network key talks to the node that holds it and refuses any other certificate
/// before a request is sent.
@Suite(.serialized) struct TLSPinningTests {
    final class Requests: Sendable { let count = Atomic<Int>(0) }

    /// A TLS server for `key` on a free port; its port and request counter.
    static func server(_ tls: TLSServer) async throws -> (HTTPServer, Int, Requests) {
        let requests = Requests()
        let server = HTTPServer(group: MultiThreadedEventLoopGroup.singleton, bodyBytesMax: 1024, security: tls) { _ in
            requests.count.add(1, ordering: .relaxed)
            return .json(["ok": true])
        }
        let channel = try await server.listen(host: "127.0.0.1", port: 0)
        return (server, channel.localAddress?.port ?? 0, requests)
    }

    @Test func aClientTalksOnlyToTheKeyItPins() async throws {
        let nodeKey = NetworkPrivateKey.generate(), otherKey = NetworkPrivateKey.generate()
        let (server, port, requests) = try await Self.server(try TLSServer(selfSigned: nodeKey, hosts: ["127.0.0.1", "localhost"]))
        defer { Task { await server.stop() } }
        let client = HTTPClient(security: try TLSClient())

        // The committee's key: answered, over TLS.
        let pinned = try await client.request(.GET, "https://\(nodeKey.publicKey)@127.0.0.1:\(port)/v1/health", timeoutSeconds: 5)
        #expect(pinned.status == 200)
        #expect(requests.count.load(ordering: .relaxed) == 1)

        // Another key (a node that is not who the committee says, or a man in the middle): refused
        // in the handshake; the server never sees a request.
        await #expect(throws: HTTPClientError.self) {
            _ = try await client.request(.GET, "https://\(otherKey.publicKey)@127.0.0.1:\(port)/v1/health", timeoutSeconds: 5)
        }
        await #expect(throws: HTTPClientError.self) {
            _ = try await client.request(.GET, "https://127.0.0.1:\(port)/v1/health", timeoutSeconds: 5, pin: otherKey.publicKey.bytes)
        }
        // No pin: a self-signed certificate is not trusted by the system's roots.
        await #expect(throws: HTTPClientError.self) { _ = try await client.request(.GET, "https://localhost:\(port)/v1/health", timeoutSeconds: 5) }
        // Plain HTTP to a TLS port gets no answer.
        await #expect(throws: HTTPClientError.self) { _ = try await HTTPClient().request(.GET, "http://127.0.0.1:\(port)/v1/health", timeoutSeconds: 2) }
        // An https URL needs a client with TLS; a key rides only in an https URL.
        await #expect(throws: HTTPClientError.self) { _ = try await HTTPClient().request(.GET, "https://127.0.0.1:\(port)/", timeoutSeconds: 2) }
        await #expect(throws: HTTPClientError.self) { _ = try await client.request(.GET, "http://\(nodeKey.publicKey)@127.0.0.1:\(port)/", timeoutSeconds: 2) }
        #expect(requests.count.load(ordering: .relaxed) == 1, "no refused connection reached the router")

        // A client that trusts the node's certificate as an authority verifies it by name instead.
        let (certificate, _) = try nodeKey.selfSignedCertificate(hosts: ["localhost"])
        let trusting = HTTPClient(security: try TLSClient(caCertificatesPEM: certificate))
        let (server2, port2, _) = try await Self.server(try TLSServer(certificatePEM: certificate, keyPEM: try nodeKey.pem, expectedKey: nodeKey.publicKey))
        defer { Task { await server2.stop() } }
        #expect(try await trusting.request(.GET, "https://localhost:\(port2)/v1/health", timeoutSeconds: 5).status == 200)
    }

    @Test func aNodeServesOnlyACertificateForItsNetworkKey() throws {
        let nodeKey = NetworkPrivateKey.generate(), otherKey = NetworkPrivateKey.generate()
        let (foreign, foreignKeyPEM) = try otherKey.selfSignedCertificate(hosts: [])
        #expect(throws: TransportError.self) { try TLSServer(certificatePEM: foreign, keyPEM: foreignKeyPEM, expectedKey: nodeKey.publicKey) }
        #expect(throws: TransportError.self) { try TLSServer(certificatePEM: "not a certificate", keyPEM: foreignKeyPEM) }
        let server = try TLSServer(selfSigned: nodeKey, hosts: [])
        #expect(server.networkKey == nodeKey.publicKey)
        // A renewed certificate must carry the same key.
        #expect(throws: TransportError.self) { try server.reload(certificatePEM: foreign, keyPEM: foreignKeyPEM) }
        let (renewed, renewedKeyPEM) = try nodeKey.selfSignedCertificate(hosts: ["node.example"])
        try server.reload(certificatePEM: renewed, keyPEM: renewedKeyPEM)
    }
}
