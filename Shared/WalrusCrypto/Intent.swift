public import WalrusCore

/// What a signed message is about. The first seven protocol values are the reference's
/// (PROTOCOL.md §3.12); the chain's own messages use values from 16 up.
public struct IntentType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let proofOfPossession = IntentType(rawValue: 0)
    public static let blobCertification = IntentType(rawValue: 1)
    public static let invalidBlobID = IntentType(rawValue: 2)
    public static let syncShard = IntentType(rawValue: 3)
    public static let denyListUpdate = IntentType(rawValue: 4)
    public static let denyListBlobDeleted = IntentType(rawValue: 5)
    public static let protocolVersion = IntentType(rawValue: 6)
    /// A ledger transaction signed by an account.
    public static let transaction = IntentType(rawValue: 16)
    /// A consensus message (proposal or vote) signed by a validator.
    public static let consensus = IntentType(rawValue: 17)
    /// A peer-to-peer frame signed by a validator.
    public static let peerFrame = IntentType(rawValue: 18)

    public var description: String {
        switch rawValue {
        case 0: "proof-of-possession"
        case 1: "blob-certification"
        case 2: "invalid-blob-id"
        case 3: "sync-shard"
        case 4: "deny-list-update"
        case 5: "deny-list-blob-deleted"
        case 6: "protocol-version"
        case 16: "transaction"
        case 17: "consensus"
        case 18: "peer-frame"
        default: "intent-\(rawValue)"
        }
    }
}

/// The 7-byte header that starts every signed protocol message: intent type, intent version (0),
/// app id (3 = storage), epoch (u32 LE). A signature therefore covers its own context and cannot be
/// replayed as a message of another type, version, app or epoch.
public struct IntentHeader: Hashable, Sendable, BCSCodable {
    /// The only intent version in use.
    public static let version: UInt8 = 0
    /// The storage app id of the reference's messages.
    public static let appID: UInt8 = 3
    /// Encoded size in bytes.
    public static let byteCount = 7

    public let type: IntentType
    public let epoch: Epoch

    public init(type: IntentType, epoch: Epoch) {
        self.type = type
        self.epoch = epoch
    }

    public func encode(to writer: inout BCSWriter) {
        writer.write(type.rawValue)
        writer.write(IntentHeader.version)
        writer.write(IntentHeader.appID)
        writer.write(epoch)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        let type = try reader.readU8()
        let version = try reader.readU8()
        let app = try reader.readU8()
        guard version == IntentHeader.version else {
            throw CoreError(.malformedBCS, "intent version \(version) is not \(IntentHeader.version)")
        }
        guard app == IntentHeader.appID else {
            throw CoreError(.malformedBCS, "intent app id \(app) is not \(IntentHeader.appID)")
        }
        self.type = IntentType(rawValue: type)
        self.epoch = try reader.read(Epoch.self)
    }
}

/// A message ready to sign: the intent header followed by the body's BCS bytes. Its
/// `serialized` bytes are exactly what is signed and sent (`serializedMessage` on the wire).
public struct IntentMessage: Hashable, Sendable {
    public let header: IntentHeader
    public let body: [UInt8]

    public init(header: IntentHeader, body: [UInt8]) {
        self.header = header
        self.body = body
    }

    public init<Body: BCSEncodable>(type: IntentType, epoch: Epoch, body: Body) {
        self.init(header: IntentHeader(type: type, epoch: epoch), body: body.bcsBytes)
    }

    /// The signed bytes: header ‖ body.
    public var serialized: [UInt8] { header.bcsBytes + body }

    /// Parses serialized bytes and checks that the intent is the expected one, so that a
    /// signature over one kind of message is never accepted as another.
    public init(serialized: [UInt8], expecting type: IntentType) throws(CryptoError) {
        var reader = BCSReader(serialized)
        let header: IntentHeader
        do { header = try IntentHeader(from: &reader) } catch {
            throw CryptoError(.wrongIntent, "message header: \(error.message)")
        }
        guard header.type == type else {
            throw CryptoError(.wrongIntent, "message is a \(header.type) message, expected \(type)")
        }
        self.init(header: header, body: Array(serialized[IntentHeader.byteCount...]))
    }
}

extension Schnorr.PrivateKey {
    /// Signs an intent message (its serialized bytes).
    public func sign(_ message: IntentMessage) -> Schnorr.Signature { sign(message.serialized) }
}

extension Schnorr.PublicKey {
    /// Verifies a signature over serialized message bytes that must carry the expected intent.
    /// Returns the parsed message, or throws `wrongIntent` or `invalidSignature`.
    @discardableResult
    public func verify(
        _ signature: Schnorr.Signature, serializedMessage: [UInt8], expecting type: IntentType
    ) throws(CryptoError) -> IntentMessage {
        let message = try IntentMessage(serialized: serializedMessage, expecting: type)
        guard isValidSignature(signature, for: serializedMessage) else {
            throw CryptoError(.invalidSignature, "the \(type) signature does not verify under key \(self)")
        }
        return message
    }
}
