public import WalrusCore

/// Whether a confirmed blob is permanent or deletable (and then which registration).
public enum BlobPersistence: Hashable, Sendable, BCSCodable {
    case permanent
    case deletable(ObjectID)

    public func encode(to writer: inout BCSWriter) {
        switch self {
        case .permanent: writer.writeVariant(0)
        case .deletable(let id):
            writer.writeVariant(1)
            writer.write(id)
        }
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        switch try reader.readVariant(count: 2) {
        case 0: self = .permanent
        default: self = .deletable(try reader.read(ObjectID.self))
        }
    }
}

/// The message a storage node signs to confirm it holds a blob's slivers (PROTOCOL.md §3.5):
/// intent (1, 0, 3) ‖ epoch u32 ‖ blob ID ‖ persistence.
public struct ConfirmationMessage: Hashable, Sendable {
    public let epoch: Epoch
    public let blobID: BlobID
    public let persistence: BlobPersistence

    public init(epoch: Epoch, blobID: BlobID, persistence: BlobPersistence) {
        self.epoch = epoch
        self.blobID = blobID
        self.persistence = persistence
    }

    public var intentMessage: IntentMessage {
        var body = BCSWriter()
        body.write(blobID)
        body.write(persistence)
        return IntentMessage(header: IntentHeader(type: .blobCertification, epoch: epoch), body: body.bytes)
    }

    /// Parses signed bytes. Trailing bytes after the persistence are ignored, as the reference's
    /// contract does, for extensibility.
    public init(serialized: [UInt8]) throws(CryptoError) {
        let message = try IntentMessage(serialized: serialized, expecting: .blobCertification)
        var reader = BCSReader(message.body)
        do {
            blobID = try reader.read(BlobID.self)
            persistence = try reader.read(BlobPersistence.self)
        } catch { throw CryptoError(.wrongIntent, "confirmation body: \(error.message)") }
        epoch = message.header.epoch
    }
}

/// The message a storage node signs to attest that a blob is inconsistently encoded (PROTOCOL.md
/// §3.10): intent (2, 0, 3) ‖ epoch u32 ‖ blob ID.
public struct InvalidBlobIDMessage: Hashable, Sendable {
    public let epoch: Epoch
    public let blobID: BlobID

    public init(epoch: Epoch, blobID: BlobID) {
        self.epoch = epoch
        self.blobID = blobID
    }

    public var intentMessage: IntentMessage { IntentMessage(type: .invalidBlobID, epoch: epoch, body: blobID) }

    public init(serialized: [UInt8]) throws(CryptoError) {
        let message = try IntentMessage(serialized: serialized, expecting: .invalidBlobID)
        var reader = BCSReader(message.body)
        do { blobID = try reader.read(BlobID.self) } catch { throw CryptoError(.wrongIntent, "invalid-blob body: \(error.message)") }
        epoch = message.header.epoch
    }
}

/// One committee member as a certificate sees it: its key and its weight (shards).
public struct CertificateSigner: Hashable, Sendable {
    public let publicKey: Schnorr.PublicKey
    public let weight: UInt64
    public init(publicKey: Schnorr.PublicKey, weight: UInt64) {
        self.publicKey = publicKey
        self.weight = weight
    }
}

/// A committee certificate over one message: a bitmap of signing members (bit i of byte i/8, least
/// significant first, for member i in committee order) and one BIP340 signature per signer, in
/// member order. It replaces the reference's aggregated BLS signature.
public struct CommitteeCertificate: Hashable, Sendable, BCSCodable {
    public let signersBitmap: [UInt8]
    public let serializedMessage: [UInt8]
    public let signatures: [Schnorr.Signature]

    public init(signersBitmap: [UInt8], serializedMessage: [UInt8], signatures: [Schnorr.Signature]) {
        self.signersBitmap = signersBitmap
        self.serializedMessage = serializedMessage
        self.signatures = signatures
    }

    /// Builds a certificate from (member index, signature) pairs.
    public init(message: [UInt8], signatures bySigner: [(member: Int, signature: Schnorr.Signature)], memberCount: Int) {
        var bitmap = [UInt8](repeating: 0, count: (memberCount + 7) / 8)
        let sorted = bySigner.sorted { $0.member < $1.member }
        for (member, _) in sorted { bitmap[member / 8] |= 1 << UInt8(member % 8) }
        self.init(signersBitmap: bitmap, serializedMessage: message, signatures: sorted.map(\.signature))
    }

    /// The member indices whose bits are set.
    public var signerIndices: [Int] {
        var out: [Int] = []
        for (byte, bits) in signersBitmap.enumerated() {
            for bit in 0..<8 where bits & (1 << UInt8(bit)) != 0 { out.append(byte * 8 + bit) }
        }
        return out
    }

    /// Checks the bitmap against the committee, every signature, and returns the signers' weight.
    public func verifiedWeight(committee: [CertificateSigner]) throws(CryptoError) -> UInt64 {
        guard signersBitmap.count <= (committee.count + 7) / 8 else {
            throw CryptoError(.invalidSignature, "the signer bitmap has \(signersBitmap.count) bytes for \(committee.count) members")
        }
        let signers = signerIndices
        if let beyond = signers.first(where: { $0 >= committee.count }) {
            throw CryptoError(.invalidSignature, "signer bit \(beyond) is beyond the committee of \(committee.count) members")
        }
        guard signers.count == signatures.count else {
            throw CryptoError(.invalidSignature, "\(signers.count) signer bits but \(signatures.count) signatures")
        }
        var weight: UInt64 = 0
        for (member, signature) in zip(signers, signatures) {
            guard committee[member].publicKey.isValidSignature(signature, for: serializedMessage) else {
                throw CryptoError(.invalidSignature, "the signature of committee member \(member) does not verify")
            }
            weight += committee[member].weight
        }
        return weight
    }

    /// The largest certificate accepted when decoding (members and message bytes).
    public static let membersMax = 4096
    public static let messageBytesMax = 1024

    public func encode(to writer: inout BCSWriter) {
        writer.writeBytes(signersBitmap)
        writer.writeBytes(serializedMessage)
        writer.writeSequence(signatures)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        signersBitmap = try reader.readBytes(max: CommitteeCertificate.membersMax / 8)
        serializedMessage = try reader.readBytes(max: CommitteeCertificate.messageBytesMax)
        signatures = try reader.readSequence(of: Schnorr.Signature.self, max: CommitteeCertificate.membersMax, minElementBytes: 64)
    }
}

/// The body of a shard-sync request (PROTOCOL.md §3.12, intent 3): which shard and axis, from which
/// blob ID on, how many slivers, for which epoch. Ours is version 2: it also names the node asked
/// (`recipient`, its key), when it was made (`timestampMs`) and a random `nonce`, so that a
/// signed request is good for one node, for a short while, and once. Version 1 (Walrus's, which
/// any eavesdropper could replay to any node) decodes but is refused by nodes.
public struct SyncShardRequest: BCSCodable, Equatable, Sendable {
    public let shard: ShardIndex
    public let axis: SliverAxis
    public let startingBlobID: BlobID
    public let count: UInt64
    public let epoch: Epoch
    /// Version 2: the key of the node asked, the time of asking, a random nonce (nil in version 1).
    public let recipient: [UInt8]?
    public let timestampMs: UInt64
    public let nonce: [UInt8]

    public static let countMax: UInt64 = 200
    /// How far a request's time may be from the recipient's clock.
    public static let freshnessMs: UInt64 = 60_000
    /// The bytes a page aims at: a page ends at the first sliver that reaches it.
    public static let pageBytesTarget = 32 << 20
    /// The largest page a puller accepts: the target plus the largest sliver (n_S symbols of the
    /// largest size at the largest committee), with room for the framing.
    public static let pageBytesMax = pageBytesTarget + Int(Limits.shardCountMax) * Int(Limits.symbolBytesMax) + (1 << 20)

    public func encode(to w: inout BCSWriter) {
        w.writeVariant(recipient == nil ? 0 : 1)  // SyncShardRequest::V1, V2
        w.write(shard)
        w.write(axis.rawValue)
        w.write(startingBlobID)
        w.write(count)
        w.write(epoch)
        if let recipient {
            w.writeFixed(recipient)
            w.write(timestampMs)
            w.writeFixed(nonce)
        }
    }

    /// A version 1 request (Walrus's); nodes refuse it.
    public init(shard: ShardIndex, axis: SliverAxis, startingBlobID: BlobID, count: UInt64, epoch: Epoch) {
        self.shard = shard
        self.axis = axis
        self.startingBlobID = startingBlobID
        self.count = count
        self.epoch = epoch
        recipient = nil
        timestampMs = 0
        nonce = []
    }

    /// A version 2 request for the node with key `recipient`, made at `timestampMs`, with a fresh nonce.
    public init(shard: ShardIndex, axis: SliverAxis, startingBlobID: BlobID, count: UInt64, epoch: Epoch, recipient: Schnorr.PublicKey, timestampMs: UInt64) {
        self.shard = shard
        self.axis = axis
        self.startingBlobID = startingBlobID
        self.count = count
        self.epoch = epoch
        self.recipient = recipient.bytes
        self.timestampMs = timestampMs
        var rng = SystemRandomNumberGenerator()
        nonce = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        let version = try r.readVariant(count: 2)
        shard = try r.read(ShardIndex.self)
        let raw = try r.readU8()
        guard let axis = SliverAxis(rawValue: raw) else { throw CoreError(.malformedBCS, "sliver type \(raw)") }
        self.axis = axis
        startingBlobID = try r.read(BlobID.self)
        count = try r.readU64()
        epoch = try r.read(Epoch.self)
        if version == 1 {
            recipient = try r.readFixed(32)
            timestampMs = try r.readU64()
            nonce = try r.readFixed(16)
        } else {
            recipient = nil
            timestampMs = 0
            nonce = []
        }
    }
}

/// A signed message as sent: the serialized intent message and the signature over it.
public struct SignedRequest: BCSCodable, Sendable {
    public let serializedMessage: [UInt8]
    public let signature: Schnorr.Signature

    public func encode(to w: inout BCSWriter) {
        w.writeBytes(serializedMessage)
        w.write(signature)
    }

    public init(serializedMessage: [UInt8], signature: Schnorr.Signature) {
        self.serializedMessage = serializedMessage
        self.signature = signature
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        serializedMessage = try r.readBytes(max: 1024)
        signature = try r.read(Schnorr.Signature.self)
    }
}
