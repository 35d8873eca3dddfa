import ChainTypes
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import WalrusCore
import WalrusCrypto

/// A peer's identity: its validator key (32 bytes).
typealias PeerKey = [UInt8]

/// Validator-to-validator transport: TCP with frames of a 4-byte big-endian length and a signed
/// `PeerEnvelope`. Each validator sends over its own outbound connection to every peer in its
/// directory (reconnecting with backoff) and receives on the connections peers open to it. The
/// directory is the genesis validators and every candidate the ledger knows, with their p2p
/// addresses; it follows the ledger (`setPeers`), so a validator that registers after genesis is
/// connected to. Frames are taken from keys in it; from any other key only block-sync requests are
/// (a node that is not, or not yet, a validator catching up), answered on the connection they came
/// in on, and everything else it sends is dropped.
final class P2P: Sendable {
    /// The largest frame accepted: a full block with its commit, with room to spare.
    static let frameBytesMax = 32 * 1024 * 1024
    /// The most peers kept (the ledger keeps at most 1024 candidates).
    static let peersMax = 1100

    let chainID: String
    let key: Schnorr.PrivateKey
    let group: MultiThreadedEventLoopGroup
    private let outbound = Mutex<[PeerKey: any Channel]>([:])
    /// Peers by key: their address and the task keeping the connection.
    private let directory = Mutex<[PeerKey: (address: String, task: Task<Void, Never>)]>([:])
    private let running = Atomic<Bool>(true)
    private let onMessage: @Sendable (PeerKey, PeerMessage) -> Void
    /// Inbound connections of keys outside the directory that asked for blocks, for the answers:
    /// at most `syncOnlyPeersMax`, the oldest forgotten first.
    private let syncOnly = Mutex<[(key: PeerKey, channel: any Channel)]>([])
    static let syncOnlyPeersMax = 64

    init(chainID: String, key: Schnorr.PrivateKey, group: MultiThreadedEventLoopGroup, onMessage: @escaping @Sendable (PeerKey, PeerMessage) -> Void) {
        self.chainID = chainID
        self.key = key
        self.group = group
        self.onMessage = onMessage
    }

    /// Whether frames from `key` are taken.
    func isKnown(_ key: PeerKey) -> Bool { directory.withLock { $0[key] != nil } }

    /// A sync request from a key outside the directory, on `channel`: kept so the answer can go back.
    private func syncRequested(by key: PeerKey, on channel: any Channel) {
        syncOnly.withLock { peers in
            peers.removeAll { $0.key == key }
            peers.append((key, channel))
            if peers.count > P2P.syncOnlyPeersMax { peers.removeFirst(peers.count - P2P.syncOnlyPeersMax) }
        }
    }

    /// Listens for peers on `host:port`.
    func listen(host: String, port: Int) async throws -> any Channel {
        let chainID = self.chainID
        let onMessage: @Sendable (PeerKey, PeerMessage, any Channel) -> Void = { [weak self] key, message, channel in
            guard let self else { return }
            if !self.isKnown(key) {
                guard case .syncRequest = message else { return }
                self.syncRequested(by: key, on: channel)
            }
            self.onMessage(key, message)
        }
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(InboundFrameHandler(chainID: chainID, isKnown: { _ in true }, onMessage: onMessage))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// Makes the directory `peers` (our own key left out): connects to new peers and to moved
    /// ones at their new address, and drops peers no longer named.
    func setPeers(_ peers: [(key: PeerKey, address: String)]) {
        guard running.load(ordering: .relaxed) else { return }
        let own = key.publicKey.bytes
        var wanted: [PeerKey: String] = [:]
        for peer in peers.prefix(P2P.peersMax) where peer.key != own && !peer.address.isEmpty { wanted[peer.key] = peer.address }
        var dropped: [PeerKey] = []
        directory.withLock { current in
            for (key, entry) in current where wanted[key] != entry.address {
                entry.task.cancel()
                current.removeValue(forKey: key)
                dropped.append(key)
            }
            for (key, address) in wanted where current[key] == nil {
                let task = Task { [self] in await maintainConnection(key: key, address: address) }
                current[key] = (address, task)
            }
        }
        for key in dropped { outbound.withLock { $0.removeValue(forKey: key) }?.close(promise: nil) }
    }

    private func maintainConnection(key: PeerKey, address: String) async {
        // Answers to our sync requests come back on our own connection, from the peer we dialled.
        let chainID = self.chainID, deliver = self.onMessage
        let onMessage: @Sendable (PeerKey, PeerMessage, any Channel) -> Void = { sender, message, _ in
            guard sender == key, case .syncResponse = message else { return }
            deliver(sender, message)
        }
        var backoffMs: UInt64 = 100
        while running.load(ordering: .relaxed) && !Task.isCancelled {
            if let (host, port) = P2P.split(address), let channel = try? await ClientBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .connectTimeout(.seconds(2))
                .channelInitializer({ channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(InboundFrameHandler(chainID: chainID, isKnown: { $0 == key }, onMessage: onMessage))
                    }
                })
                .connect(host: host, port: port).get() {
                guard !Task.isCancelled else {
                    channel.close(promise: nil)
                    return
                }
                outbound.withLock { $0[key] = channel }
                backoffMs = 100
                try? await channel.closeFuture.get()
                outbound.withLock { if $0[key] === channel { _ = $0.removeValue(forKey: key) } }
            }
            try? await Task.sleep(nanoseconds: backoffMs * 1_000_000)
            backoffMs = min(backoffMs * 2, 2000)
        }
    }

    static func split(_ address: String) -> (String, Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return nil }
        return (String(address[..<colon]), port)
    }

    /// Sends to every connected peer.
    func broadcast(_ message: PeerMessage) {
        let frame = self.frame(message)
        for channel in outbound.withLock({ Array($0.values) }) { write(frame, to: channel) }
    }

    /// Sends to one peer if connected: over our connection to it, or, for a key outside the
    /// directory that asked for blocks, back over its own.
    func send(_ message: PeerMessage, to peer: PeerKey) {
        let channel = outbound.withLock { $0[peer] } ?? syncOnly.withLock { $0.last { $0.key == peer }?.channel }
        guard let channel, channel.isActive else { return }
        write(frame(message), to: channel)
    }

    var connectedPeers: [PeerKey] { outbound.withLock { Array($0.keys) }.sorted { $0.lexicographicallyPrecedes($1) } }

    private func frame(_ message: PeerMessage) -> [UInt8] {
        let envelope = PeerEnvelope(message: message.bcsBytes, key: key, chainID: chainID).bcsBytes
        return withUnsafeBytes(of: UInt32(envelope.count).bigEndian) { Array($0) } + envelope
    }

    private func write(_ frame: [UInt8], to channel: any Channel) {
        channel.writeAndFlush(channel.allocator.buffer(bytes: frame), promise: nil)
    }

    func shutdown() {
        running.store(false, ordering: .relaxed)
        directory.withLock { for entry in $0.values { entry.task.cancel() } }
        syncOnly.withLock { $0 = [] }
        for channel in outbound.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

/// Splits the byte stream into frames; a length over the bound closes the connection.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard Int(length) <= P2P.frameBytesMax else { throw FrameTooLarge() }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }

    struct FrameTooLarge: Error {}
}

/// Verifies a frame's envelope and hands its message on.
final class InboundFrameHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let chainID: String
    let isKnown: @Sendable (PeerKey) -> Bool
    let onMessage: @Sendable (PeerKey, PeerMessage, any Channel) -> Void

    init(chainID: String, isKnown: @escaping @Sendable (PeerKey) -> Bool, onMessage: @escaping @Sendable (PeerKey, PeerMessage, any Channel) -> Void) {
        self.chainID = chainID
        self.isKnown = isKnown
        self.onMessage = onMessage
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        guard let envelope = try? PeerEnvelope.decode(bcs: bytes), isKnown(envelope.sender),
            let key = try? Schnorr.PublicKey(bytes: envelope.sender),
            key.isValidSignature(envelope.signature, for: PeerEnvelope.signBytes(chainID: chainID, sender: envelope.sender, message: envelope.message)),
            let message = try? PeerMessage.decode(bcs: envelope.message)
        else {
            context.close(promise: nil)  // A peer that sends garbage or forgeries, or is unknown, is dropped.
            return
        }
        onMessage(envelope.sender, message, context.channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
