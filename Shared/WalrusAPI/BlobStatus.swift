import Foundation
public import WalrusCore

/// Deletable registrations of a blob ID: all live ones, and the certified ones among them. The
/// inner names stay snake_case, as Walrus writes them.
public struct DeletableCounts: Codable, Hashable, Sendable {
    public let countDeletableTotal: UInt32
    public let countDeletableCertified: UInt32

    public init(total: UInt32, certified: UInt32) {
        countDeletableTotal = total
        countDeletableCertified = certified
    }

    enum CodingKeys: String, CodingKey {
        case countDeletableTotal = "count_deletable_total"
        case countDeletableCertified = "count_deletable_certified"
    }
}

/// A blob ID's status as a storage node reports it (`GET /v1/blobs/{id}/status`) and
/// `walrus blob-status` prints it: Walrus's `BlobStatus`, externally tagged, fields camelCase.
public enum BlobStatus: Hashable, Sendable {
    case nonexistent
    /// Found inconsistently encoded; `event` is the invalidation (nil where it was not kept).
    case invalid(event: EventID?)
    /// At least one permanent registration: the latest end epoch, whether one is certified, and
    /// the event of that status (nil where it was not kept).
    case permanent(endEpoch: UInt32, isCertified: Bool, statusEvent: EventID?, deletableCounts: DeletableCounts, initialCertifiedEpoch: UInt32?)
    /// Only deletable registrations.
    case deletable(initialCertifiedEpoch: UInt32?, deletableCounts: DeletableCounts)
}

extension BlobStatus: Codable {
    private enum Variant: String, CodingKey { case invalid, permanent, deletable }
    private enum Fields: String, CodingKey { case event, endEpoch, isCertified, statusEvent, deletableCounts, initialCertifiedEpoch }

    public init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            guard text == "nonexistent" else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown blob status '\(text)'"))
            }
            self = .nonexistent
            return
        }
        let outer = try decoder.container(keyedBy: Variant.self)
        guard outer.allKeys.count == 1, let variant = outer.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a blob status has exactly one variant key"))
        }
        let c = try outer.nestedContainer(keyedBy: Fields.self, forKey: variant)
        switch variant {
        case .invalid: self = .invalid(event: try c.decodeIfPresent(EventID.self, forKey: .event))
        case .permanent:
            self = .permanent(
                endEpoch: try c.decode(UInt32.self, forKey: .endEpoch), isCertified: try c.decode(Bool.self, forKey: .isCertified),
                statusEvent: try c.decodeIfPresent(EventID.self, forKey: .statusEvent), deletableCounts: try c.decode(DeletableCounts.self, forKey: .deletableCounts),
                initialCertifiedEpoch: try c.decodeIfPresent(UInt32.self, forKey: .initialCertifiedEpoch))
        case .deletable:
            self = .deletable(
                initialCertifiedEpoch: try c.decodeIfPresent(UInt32.self, forKey: .initialCertifiedEpoch),
                deletableCounts: try c.decode(DeletableCounts.self, forKey: .deletableCounts))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .nonexistent:
            var c = encoder.singleValueContainer()
            try c.encode("nonexistent")
        case .invalid(let event):
            var outer = encoder.container(keyedBy: Variant.self)
            var c = outer.nestedContainer(keyedBy: Fields.self, forKey: .invalid)
            try c.encode(event, forKey: .event)
        case let .permanent(endEpoch, isCertified, statusEvent, counts, initial):
            var outer = encoder.container(keyedBy: Variant.self)
            var c = outer.nestedContainer(keyedBy: Fields.self, forKey: .permanent)
            try c.encode(endEpoch, forKey: .endEpoch)
            try c.encode(isCertified, forKey: .isCertified)
            try c.encode(statusEvent, forKey: .statusEvent)
            try c.encode(counts, forKey: .deletableCounts)
            try c.encode(initial, forKey: .initialCertifiedEpoch)
        case let .deletable(initial, counts):
            var outer = encoder.container(keyedBy: Variant.self)
            var c = outer.nestedContainer(keyedBy: Fields.self, forKey: .deletable)
            try c.encode(initial, forKey: .initialCertifiedEpoch)
            try c.encode(counts, forKey: .deletableCounts)
        }
    }
}

extension EventID: BCSCodable {
    /// BCS: the 32-byte digest, then the sequence as a u64 (how nodes store it).
    public func encode(to w: inout BCSWriter) {
        w.writeFixed(transactionDigest ?? [UInt8](repeating: 0, count: 32))
        w.write(sequence ?? 0)
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        self.init(transactionDigest: try r.readFixed(32), sequence: try r.readU64())
    }
}

/// A storage node's success body: `{"success":{"code":<http>,"data":…}}`.
public struct NodeSuccess<T: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
    public let success: Body

    public struct Body: Codable, Sendable, Hashable {
        public let code: Int
        public let data: T
    }

    public init(code: Int, data: T) { success = Body(code: code, data: data) }
}

/// A storage node's health (Walrus's `ServiceHealthInfo`, `GET /v1/health`).
public struct ServiceHealthInfo: Codable, Hashable, Sendable {
    /// Serde's form of a Rust `Duration`.
    public struct Duration: Codable, Hashable, Sendable {
        public let secs: UInt64
        public let nanos: UInt32
        public init(seconds: Double) {
            let clamped = max(0, seconds)
            secs = UInt64(clamped)
            nanos = UInt32((clamped - Double(secs)) * 1e9)
        }
    }

    public struct EventProgress: Codable, Hashable, Sendable {
        public let persisted: UInt64
        public let pending: UInt64
        /// The chain-wide index of the last event the node applied (null before the first).
        public let highestFinishedEventIndex: UInt64?

        public init(persisted: UInt64, pending: UInt64, highestFinishedEventIndex: UInt64?) {
            self.persisted = persisted
            self.pending = pending
            self.highestFinishedEventIndex = highestFinishedEventIndex
        }

        public func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case persisted, pending, highestFinishedEventIndex }
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(persisted, forKey: .persisted)
            try c.encode(pending, forKey: .pending)
            try c.encode(highestFinishedEventIndex, forKey: .highestFinishedEventIndex)
        }
    }

    public struct OwnedShardStatus: Codable, Hashable, Sendable {
        public let unknown: Int
        public let ready: Int
        public let inTransfer: Int
        public let inRecovery: Int
        public init(unknown: Int, ready: Int, inTransfer: Int, inRecovery: Int) {
            self.unknown = unknown
            self.ready = ready
            self.inTransfer = inTransfer
            self.inRecovery = inRecovery
        }
    }

    public struct ShardStatusSummary: Codable, Hashable, Sendable {
        public let owned: Int
        public let ownedShardStatus: OwnedShardStatus
        public let readOnly: Int
        public init(owned: Int, ownedShardStatus: OwnedShardStatus, readOnly: Int) {
            self.owned = owned
            self.ownedShardStatus = ownedShardStatus
            self.readOnly = readOnly
        }
    }

    /// One shard and its state: `unknown`, `ready`, `inTransfer`, `inRecovery` or `readOnly`.
    public struct ShardHealthInfo: Codable, Hashable, Sendable {
        public let shard: UInt16
        public let status: String
        public init(shard: UInt16, status: String) {
            self.shard = shard
            self.status = status
        }
    }

    public struct ShardStatusDetail: Codable, Hashable, Sendable {
        public let owned: [ShardHealthInfo]
        public let other: [ShardHealthInfo]
        public init(owned: [ShardHealthInfo], other: [ShardHealthInfo]) {
            self.owned = owned
            self.other = other
        }
    }

    public let uptime: Duration
    public let epoch: UInt32
    /// The node's public key in base64 (a 32-byte Schnorr key here, where Walrus's is BLS).
    public let publicKey: String
    public let nodeStatus: String
    public let eventProgress: EventProgress
    public let shardSummary: ShardStatusSummary
    /// With `?detailed=true`.
    public let shardDetail: ShardStatusDetail?
    public let latestCheckpointSequenceNumber: UInt64?

    public init(
        uptime: Duration, epoch: UInt32, publicKey: String, nodeStatus: String, eventProgress: EventProgress, shardSummary: ShardStatusSummary,
        shardDetail: ShardStatusDetail?, latestCheckpointSequenceNumber: UInt64? = nil
    ) {
        self.uptime = uptime
        self.epoch = epoch
        self.publicKey = publicKey
        self.nodeStatus = nodeStatus
        self.eventProgress = eventProgress
        self.shardSummary = shardSummary
        self.shardDetail = shardDetail
        self.latestCheckpointSequenceNumber = latestCheckpointSequenceNumber
    }
}

/// A node's signature over a message, both in base64 (Walrus's `SignedMessage` in JSON).
public struct SignedMessage: Codable, Hashable, Sendable {
    public let serializedMessage: [UInt8]
    public let signature: [UInt8]

    public init(serializedMessage: [UInt8], signature: [UInt8]) {
        self.serializedMessage = serializedMessage
        self.signature = signature
    }

    private enum Keys: String, CodingKey { case serializedMessage, signature }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        guard let message = Data(base64Encoded: try c.decode(String.self, forKey: .serializedMessage)),
            let signature = Data(base64Encoded: try c.decode(String.self, forKey: .signature))
        else { throw DecodingError.dataCorruptedError(forKey: .signature, in: c, debugDescription: "the message and the signature are base64") }
        serializedMessage = Array(message)
        self.signature = Array(signature)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(Data(serializedMessage).base64EncodedString(), forKey: .serializedMessage)
        try c.encode(Data(signature).base64EncodedString(), forKey: .signature)
    }
}

/// A storage node's confirmation of a stored blob: `{"signed": SignedMessage}`. (An inconsistency
/// attestation is the bare `SignedMessage`.)
public struct StorageConfirmation: Codable, Hashable, Sendable {
    public let signed: SignedMessage
    public init(signed: SignedMessage) { self.signed = signed }
}
