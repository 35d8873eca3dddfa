import ChainTypes
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import WalrusCore
import WalrusCrypto

/// Validator-to-validator transport: TCP with frames of a 4-byte big-endian length and a signed
/// `PeerEnvelope`. Each validator sends over its own outbound connection to every peer (reconnecting
/// with backoff) and receives on the connections peers open to it.
final class P2P: Sendable {
    /// The largest frame accepted: a full block with its commit, with room to spare.
    static let frameBytesMax = 32 * 1024 * 1024

    let chainID: String
    let ownIndex: UInt16
    let key: Schnorr.PrivateKey
    let validators: ValidatorSet
    let group: MultiThreadedEventLoopGroup
    private let outbound = Mutex<[Int: any Channel]>([:])
    private let running = Atomic<Bool>(true)
    private let onMessage: @Sendable (UInt16, PeerMessage) -> Void

    init(chainID: String, ownIndex: UInt16, key: Schnorr.PrivateKey, validators: ValidatorSet, group: MultiThreadedEventLoopGroup,
         onMessage: @escaping @Sendable (UInt16, PeerMessage) -> Void) {
        self.chainID = chainID
        self.ownIndex = ownIndex
        self.key = key
        self.validators = validators
        self.group = group
        self.onMessage = onMessage
    }

    /// Listens for peers on `host:port`.
    func listen(host: String, port: Int) async throws -> any Channel {
        let chainID = self.chainID, validators = self.validators, onMessage = self.onMessage
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(
                        InboundFrameHandler(chainID: chainID, validators: validators, onMessage: onMessage))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// Keeps an outbound connection to every other validator.
    func connectToPeers() {
        for (index, validator) in validators.enumerated() where index != Int(ownIndex) {
            Task { [self] in await maintainConnection(index: index, address: validator.address) }
        }
    }

    private func maintainConnection(index: Int, address: String) async {
        var backoffMs: UInt64 = 100
        while running.load(ordering: .relaxed) {
            if let (host, port) = P2P.split(address), let channel = try? await ClientBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .connectTimeout(.seconds(2))
                .channelInitializer({ channel in channel.eventLoop.makeSucceededVoidFuture() })
                .connect(host: host, port: port).get() {
                outbound.withLock { $0[index] = channel }
                backoffMs = 100
                try? await channel.closeFuture.get()
                outbound.withLock { _ = $0.removeValue(forKey: index) }
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

    /// Sends to one peer if connected.
    func send(_ message: PeerMessage, to index: Int) {
        guard let channel = outbound.withLock({ $0[index] }) else { return }
        write(frame(message), to: channel)
    }

    var connectedPeers: [Int] { outbound.withLock { Array($0.keys).sorted() } }

    private func frame(_ message: PeerMessage) -> [UInt8] {
        let envelope = PeerEnvelope(sender: ownIndex, message: message.bcsBytes, key: key, chainID: chainID).bcsBytes
        return withUnsafeBytes(of: UInt32(envelope.count).bigEndian) { Array($0) } + envelope
    }

    private func write(_ frame: [UInt8], to channel: any Channel) {
        channel.writeAndFlush(channel.allocator.buffer(bytes: frame), promise: nil)
    }

    func shutdown() {
        running.store(false, ordering: .relaxed)
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
    let validators: ValidatorSet
    let onMessage: @Sendable (UInt16, PeerMessage) -> Void

    init(chainID: String, validators: ValidatorSet, onMessage: @escaping @Sendable (UInt16, PeerMessage) -> Void) {
        self.chainID = chainID
        self.validators = validators
        self.onMessage = onMessage
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        guard let envelope = try? PeerEnvelope.decode(bcs: bytes), Int(envelope.sender) < validators.count,
            let key = try? Schnorr.PublicKey(bytes: validators[Int(envelope.sender)].publicKey),
            key.isValidSignature(envelope.signature, for: PeerEnvelope.signBytes(chainID: chainID, sender: envelope.sender, message: envelope.message)),
            let message = try? PeerMessage.decode(bcs: envelope.message)
        else {
            context.close(promise: nil)  // A peer that sends garbage or forgeries is dropped.
            return
        }
        onMessage(envelope.sender, message)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
