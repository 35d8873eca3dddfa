import ChainTypes
import Foundation
import NIOCore
import HTTPKit
import NIOPosix
import Synchronization
import WalrusCore
import WalrusCrypto

/// A peer's identity: its validator key (32 bytes).
typealias PeerKey = [UInt8]

/// Validator-to-validator transport: TCP with frames of a 4-byte big-endian length, each
/// connection authenticated and encrypted by `LinkHandshake` (both validator keys proven over a
/// transcript of fresh key exchange, then ChaCha20-Poly1305 frames). Each validator sends over its own outbound connection to every peer in its
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
    /// Inbound connections still in their handshake at once.
    static let handshakingMax = 64
    private let handshaking = HandshakeCount()

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
                // A key outside the directory may only ask for blocks; anything else ends its link.
                guard case .syncRequest = message else {
                    channel.close(promise: nil)
                    return
                }
                self.syncRequested(by: key, on: channel)
            }
            self.onMessage(key, message)
        }
        let key = self.key, handshaking = self.handshaking
        let isKnown: @Sendable (PeerKey) -> Bool = { [weak self] in self?.isKnown($0) ?? false }
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                // Connections still in their handshake are bounded; beyond the bound a new one is closed.
                guard handshaking.value.wrappingAdd(1, ordering: .relaxed).newValue <= P2P.handshakingMax else {
                    handshaking.value.wrappingSubtract(1, ordering: .relaxed)
                    return channel.close()
                }
                let settled = SettledFlag()
                let release: @Sendable () -> Void = { if settled.settle() { handshaking.value.wrappingSubtract(1, ordering: .relaxed) } }
                channel.closeFuture.whenComplete { _ in release() }
                return channel.eventLoop.makeCompletedFuture {
                    let limit = FrameLimit()
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(limit: limit)))
                    try channel.pipeline.syncOperations.addHandler(SecureLinkHandler(
                        role: .responder, chainID: chainID, key: key, expected: nil, limit: limit, isKnown: isKnown,
                        onEstablished: { _ in release() }, onMessage: onMessage))
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
        let chainID = self.chainID, deliver = self.onMessage, ownKey = self.key
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
                        let limit = FrameLimit()
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(limit: limit)))
                        try channel.pipeline.syncOperations.addHandler(SecureLinkHandler(
                            role: .initiator, chainID: chainID, key: ownKey, expected: key, limit: limit, isKnown: { $0 == key }, onMessage: onMessage))
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

    /// A message's bytes; the link seals and frames them.
    private func frame(_ message: PeerMessage) -> [UInt8] { message.bcsBytes }

    private func write(_ frame: [UInt8], to channel: any Channel) {
        channel.writeAndFlush(frame, promise: nil)
    }

    func shutdown() {
        running.store(false, ordering: .relaxed)
        directory.withLock { for entry in $0.values { entry.task.cancel() } }
        syncOnly.withLock { $0 = [] }
        for channel in outbound.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

/// The frame size a connection takes now: a handshake's until the peer proves its key, then a
/// block's for a validator of the directory, or a sync request's for any other key. Confined to
/// the connection's event loop.
final class FrameLimit {
    var bytes = LinkHandshake.helloBytes
}

/// Splits the byte stream into frames; a length over the connection's limit closes it.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let limit: FrameLimit

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard Int(length) <= limit.bytes else { throw FrameTooLarge() }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }

    struct FrameTooLarge: Error {}
}

/// One validator link: runs `LinkHandshake` (closing the connection on any failure or after
/// `handshakeTimeout`), then seals what is written to it and opens what arrives, handing each
/// message on with the key the peer proved. Messages written before the handshake completes wait
/// (at most `pendingMax`, the oldest dropped).
final class SecureLinkHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = [UInt8]
    typealias OutboundOut = ByteBuffer

    static let handshakeTimeout = TimeAmount.seconds(5)
    static let pendingMax = 256
    /// What a key outside the directory may send (a sync request).
    static let syncOnlyFrameBytesMax = 1024

    private var handshake: LinkHandshake
    private let expected: PeerKey?
    private let limit: FrameLimit
    private let isKnown: @Sendable (PeerKey) -> Bool
    private let onMessage: @Sendable (PeerKey, PeerMessage, any Channel) -> Void
    private let onEstablished: @Sendable (PeerKey) -> Void
    private var ciphers: (send: LinkCipher, receive: LinkCipher)?
    private var peerKey: PeerKey?
    private var pending: [[UInt8]] = []
    private var timeout: Scheduled<Void>?
    private var sentAuth = false

    init(
        role: LinkHandshake.Role, chainID: String, key: Schnorr.PrivateKey, expected: PeerKey?, limit: FrameLimit,
        isKnown: @escaping @Sendable (PeerKey) -> Bool, onEstablished: @escaping @Sendable (PeerKey) -> Void = { _ in },
        onMessage: @escaping @Sendable (PeerKey, PeerMessage, any Channel) -> Void
    ) {
        handshake = LinkHandshake(role: role, chainID: chainID, key: key)
        self.expected = expected
        self.limit = limit
        self.isKnown = isKnown
        self.onEstablished = onEstablished
        self.onMessage = onMessage
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        // Cancelled when the handshake completes.
        timeout = context.eventLoop.scheduleTask(in: Self.handshakeTimeout) { channel.close(promise: nil) }
        send(handshake.hello, context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        context.fireChannelInactive()
    }

    private func send(_ payload: [UInt8], context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: payload.count + 4)
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeBytes(payload)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        guard var ciphers, let peerKey else {
            let bytes = frame.readBytes(length: frame.readableBytes) ?? []
            do {
                if !sentAuth {
                    let auth = try handshake.receiveHello(bytes, expected: expected)
                    sentAuth = true
                    send(auth, context: context)
                } else {
                    let established = try handshake.receiveAuth(bytes)
                    guard let key = handshake.peerKey else { throw LinkHandshake.Failure("no peer key") }
                    self.ciphers = established
                    self.peerKey = key
                    timeout?.cancel()
                    limit.bytes = isKnown(key) ? P2P.frameBytesMax + ChaChaPoly.tagBytes : Self.syncOnlyFrameBytesMax
                    onEstablished(key)
                    for message in pending { write(message, context: context) }
                    pending = []
                    context.flush()
                }
            } catch {
                context.close(promise: nil)  // A failed handshake: the peer gets nothing further.
            }
            return
        }
        let opened = frame.withUnsafeReadableBytes { ciphers.receive.open($0) }
        self.ciphers = ciphers
        guard let plaintext = opened, let message = try? PeerMessage.decode(bcs: plaintext) else {
            context.close(promise: nil)  // Forged, replayed, reordered, or not a message.
            return
        }
        onMessage(peerKey, message, context.channel)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let message = unwrapOutboundIn(data)
        guard ciphers != nil else {
            pending.append(message)
            if pending.count > Self.pendingMax { pending.removeFirst(pending.count - Self.pendingMax) }
            promise?.succeed(())
            return
        }
        write(message, context: context, promise: promise)
    }

    private func write(_ message: [UInt8], context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        guard var ciphers else { return }
        let sealed = ciphers.send.seal(message)
        self.ciphers = ciphers
        var buffer = context.channel.allocator.buffer(capacity: sealed.count + 4)
        buffer.writeInteger(UInt32(sealed.count))
        buffer.writeBytes(sealed)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

/// Inbound connections in their handshake now.
final class HandshakeCount: Sendable {
    let value = Atomic<Int>(0)
}
