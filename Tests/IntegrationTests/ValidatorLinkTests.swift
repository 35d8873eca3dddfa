import ChainTypes
import Foundation
import Testing
@testable import ValidatorNode
import WalrusCore
import WalrusCrypto

/// The validator links: the handshake proves both keys and binds the session, frames are sealed
/// and cannot be replayed, and a real validator process gives a peer that cannot prove a
/// validator key nothing past the handshake.
@Suite(.serialized) struct ValidatorLinkTests {
    /// Runs a handshake between two keys; the ciphers each side ends with.
    static func handshake(
        _ a: Schnorr.PrivateKey, _ b: Schnorr.PrivateKey, chain: String = "c"
    ) throws -> (initiator: (send: LinkCipher, receive: LinkCipher), responder: (send: LinkCipher, receive: LinkCipher)) {
        var initiator = LinkHandshake(role: .initiator, chainID: chain, key: a)
        var responder = LinkHandshake(role: .responder, chainID: chain, key: b)
        let authA = try initiator.receiveHello(responder.hello, expected: b.publicKey.bytes)
        let authB = try responder.receiveHello(initiator.hello, expected: nil)
        return (try initiator.receiveAuth(authB), try responder.receiveAuth(authA))
    }

    @Test func bothKeysAreProvedAndFramesAreSealedInOrder() throws {
        let a = Schnorr.PrivateKey.generate(), b = Schnorr.PrivateKey.generate()
        var (i, r) = try Self.handshake(a, b)
        let first = i.send.seal(Array("vote 1".utf8)), second = i.send.seal(Array("vote 2".utf8))
        #expect(first.withUnsafeBytes { r.receive.open($0) } == Array("vote 1".utf8))
        // A replay of the first frame, or a frame out of order, does not open.
        #expect(first.withUnsafeBytes { r.receive.open($0) } == nil)
        #expect(second.withUnsafeBytes { r.receive.open($0) } == Array("vote 2".utf8))
        #expect(r.send.seal(Array("ok".utf8)).withUnsafeBytes { i.receive.open($0) } == Array("ok".utf8))
        // A frame of another session between the same keys does not open in this one.
        var (other, _) = try Self.handshake(a, b)
        #expect(other.send.seal(Array("vote 3".utf8)).withUnsafeBytes { r.receive.open($0) } == nil)
    }

    @Test func aPeerThatCannotSignForItsKeyIsRefused() throws {
        let validator = Schnorr.PrivateKey.generate(), impostor = Schnorr.PrivateKey.generate(), victim = Schnorr.PrivateKey.generate()
        var responder = LinkHandshake(role: .responder, chainID: "c", key: validator)
        // The impostor sends a hello naming the victim's key, but can only sign with its own.
        var fake = LinkHandshake(role: .initiator, chainID: "c", key: impostor)
        let forgedHello = Array(fake.hello[0..<40]) + victim.publicKey.bytes + Array(fake.hello[72...])
        _ = try responder.receiveHello(forgedHello, expected: nil)
        let auth = try fake.receiveHello(responder.hello, expected: nil)
        #expect(throws: LinkHandshake.Failure.self) { try responder.receiveAuth(auth) }
        // Another chain, another protocol, a truncated hello, and a dialled key that differs.
        var other = LinkHandshake(role: .responder, chainID: "c", key: validator)
        #expect(throws: LinkHandshake.Failure.self) { try other.receiveHello(LinkHandshake(role: .initiator, chainID: "d", key: impostor).hello, expected: nil) }
        #expect(throws: LinkHandshake.Failure.self) { try other.receiveHello(Array(repeating: 7, count: LinkHandshake.helloBytes), expected: nil) }
        #expect(throws: LinkHandshake.Failure.self) { try other.receiveHello(Array(fake.hello.dropLast()), expected: nil) }
        var dialler = LinkHandshake(role: .initiator, chainID: "c", key: impostor)
        #expect(throws: LinkHandshake.Failure.self) { try dialler.receiveHello(fake.hello, expected: validator.publicKey.bytes) }
    }

    @Test func aRelayedAuthDoesNotFitAnotherSession() throws {
        let a = Schnorr.PrivateKey.generate(), b = Schnorr.PrivateKey.generate()
        // A man in the middle records a's Auth in one session and offers it in another.
        var initiator = LinkHandshake(role: .initiator, chainID: "c", key: a)
        var responder1 = LinkHandshake(role: .responder, chainID: "c", key: b)
        let recordedAuth = try initiator.receiveHello(responder1.hello, expected: nil)
        _ = try responder1.receiveHello(initiator.hello, expected: nil)
        _ = try responder1.receiveAuth(recordedAuth)
        var responder2 = LinkHandshake(role: .responder, chainID: "c", key: b)
        _ = try responder2.receiveHello(initiator.hello, expected: nil)
        #expect(throws: LinkHandshake.Failure.self) { try responder2.receiveAuth(recordedAuth) }
    }

    // MARK: - Against a validator process

    /// A blocking TCP client speaking the link protocol.
    final class RawPeer {
        let fd: Int32

        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var timeout = timeval(tv_sec: 3, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard connected == 0 else { throw TestFailure("cannot connect to 127.0.0.1:\(port)") }
        }

        deinit { close(fd) }

        func sendFrame(_ payload: [UInt8]) {
            let frame = withUnsafeBytes(of: UInt32(payload.count).bigEndian) { Array($0) } + payload
            _ = frame.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        /// The next frame, or nil when the peer closed the connection (or said nothing for 3 s).
        func receiveFrame() -> [UInt8]? {
            guard let head = receive(4) else { return nil }
            let length = Int(head.withUnsafeBytes { $0.load(as: UInt32.self).bigEndian })
            guard length <= 64 << 20 else { return nil }
            return receive(length)
        }

        private func receive(_ count: Int) -> [UInt8]? {
            var bytes = [UInt8](repeating: 0, count: count)
            var got = 0
            while got < count {
                let n = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
                guard n > 0 else { return nil }
                got += n
            }
            return bytes
        }

        /// Whether the peer closed the connection (EOF, or a reset when it closed with our bytes
        /// unread) within the receive timeout, sending nothing first.
        var closedByPeer: Bool {
            var byte: UInt8 = 0
            let n = recv(fd, &byte, 1, 0)
            return n == 0 || (n < 0 && errno == ECONNRESET)
        }
    }

    /// Completes a handshake with the validator at `port` as `key`; the ciphers, or nil when the
    /// validator closed the connection.
    static func connect(port: Int, key: Schnorr.PrivateKey, chainID: String, claim: Schnorr.PublicKey? = nil) throws
        -> (RawPeer, (send: LinkCipher, receive: LinkCipher)?)
    {
        let peer = try RawPeer(port: port)
        var handshake = LinkHandshake(role: .initiator, chainID: chainID, key: key)
        let hello = claim.map { Array(handshake.hello[0..<40]) + $0.bytes + Array(handshake.hello[72...]) } ?? handshake.hello
        peer.sendFrame(hello)
        guard let theirHello = peer.receiveFrame() else { return (peer, nil) }
        let auth = try handshake.receiveHello(theirHello, expected: nil)
        peer.sendFrame(auth)
        guard let theirAuth = peer.receiveFrame() else { return (peer, nil) }
        return (peer, try? handshake.receiveAuth(theirAuth))
    }

    @Test(.timeLimit(.minutes(2))) func aValidatorGivesNothingToAPeerWithoutAValidatorKey() async throws {
        let chain = try LocalChain(validators: 2, storageNodes: 1, shards: 4)
        try chain.start(0)
        try chain.start(1)
        try await chain.waitUntil("the chain") { (await chain.height(0) ?? 0) >= 3 }
        let port = chain.basePort  // validator 0's p2p port
        let validator1 = try KeyFile.load(from: chain.directory.appendingPathComponent("validator-1/validator.key").path)
        let syncRequest = PeerMessage.syncRequest(fromHeight: 1).bcsBytes

        // Control: a peer that proves its key gets past the handshake. A key outside the
        // validator set may only ask for blocks (what the RPC serves anyway), and is answered.
        let stranger = Schnorr.PrivateKey.generate()
        var (peer, ciphers) = try Self.connect(port: port, key: stranger, chainID: "walrus-test")
        var session = try #require(ciphers, "the handshake with a proven key completes")
        peer.sendFrame(session.send.seal(syncRequest))
        let answer = try #require(peer.receiveFrame(), "a sync request gets an answer")
        guard case .syncResponse(let blocks)? = answer.withUnsafeBytes({ session.receive.open($0) }).flatMap({ try? PeerMessage.decode(bcs: $0) }) else {
            Issue.record("the answer is not a sync response")
            return
        }
        #expect(!blocks.isEmpty)
        // A consensus frame from it closes the link.
        let vote = Vote(kind: .prevote, height: 1_000_000, round: 0, valueID: nil, validator: 0, timeMs: 0, signature: [UInt8](repeating: 0, count: 64))
        peer.sendFrame(session.send.seal(PeerMessage.vote(vote).bcsBytes))
        #expect(peer.closedByPeer, "a consensus frame from a key outside the validator set closes the link")

        // A sealed frame replayed on a new connection does not open there: the link is closed.
        let replayed = session.send.seal(syncRequest)
        (peer, ciphers) = try Self.connect(port: port, key: stranger, chainID: "walrus-test")
        #expect(ciphers != nil)
        peer.sendFrame(replayed)
        #expect(peer.closedByPeer, "a frame of another session closes the link")

        // Claiming validator 1's key without holding it: the validator refuses the Auth and
        // closes the connection; the frame sealed after it is never taken.
        let impostor = Schnorr.PrivateKey.generate()
        (peer, ciphers) = try Self.connect(port: port, key: impostor, chainID: "walrus-test", claim: validator1.publicKey)
        if var forged = ciphers { peer.sendFrame(forged.send.seal(PeerMessage.vote(vote).bcsBytes)) }
        #expect(peer.closedByPeer, "no session for a key the peer cannot sign with")

        // Before the handshake a peer is held to a hello's size: a larger frame closes it.
        peer = try RawPeer(port: port)
        _ = peer.receiveFrame()  // the validator's hello
        peer.sendFrame([UInt8](repeating: 1, count: 4096))
        #expect(peer.closedByPeer, "an oversized frame before the handshake closes the connection")
        // A peer that never finishes its handshake is closed after the handshake timeout.
        peer = try RawPeer(port: port)
        _ = peer.receiveFrame()
        try await Task.sleep(nanoseconds: 5_500_000_000)
        #expect(peer.closedByPeer, "a stalled handshake is closed")

        // The chain kept going throughout.
        let before = await chain.height(0) ?? 0
        try await chain.waitUntil("the chain to move on") { (await chain.height(0) ?? 0) > before }
        _ = validator1
    }
}
