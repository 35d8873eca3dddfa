public import WalrusCore

/// A chain event's ID as Walrus writes Sui's: the digest of the transaction that emitted it, in
/// base58, and the event's position among that transaction's events, as a decimal string.
public struct EventID: Codable, Hashable, Sendable {
    public let txDigest: String
    public let eventSeq: String

    public init(transactionDigest: [UInt8], sequence: UInt64) {
        txDigest = Base58.encode(transactionDigest)
        eventSeq = String(sequence)
    }

    /// The transaction digest's bytes (32 for a digest of this chain).
    public var transactionDigest: [UInt8]? { Base58.decode(txDigest) }
    public var sequence: UInt64? { UInt64(eventSeq) }

    public init(from decoder: any Decoder) throws {
        enum Keys: String, CodingKey { case txDigest, eventSeq }
        let c = try decoder.container(keyedBy: Keys.self)
        let digest = try c.decode(String.self, forKey: .txDigest), seq = try c.decode(String.self, forKey: .eventSeq)
        guard Base58.decode(digest)?.count == 32 else {
            throw DecodingError.dataCorruptedError(forKey: .txDigest, in: c, debugDescription: "a transaction digest is 32 bytes in base58")
        }
        guard UInt64(seq) != nil else {
            throw DecodingError.dataCorruptedError(forKey: .eventSeq, in: c, debugDescription: "eventSeq is a decimal u64 in a string")
        }
        txDigest = digest
        eventSeq = seq
    }
}

/// Walrus's `StorageResource` object: storage reserved for `[startEpoch, endEpoch)`.
public struct StorageResourceObject: Codable, Hashable, Sendable {
    public let id: ObjectID
    public let startEpoch: UInt32
    public let endEpoch: UInt32
    public let storageSize: UInt64

    public init(id: ObjectID, startEpoch: UInt32, endEpoch: UInt32, storageSize: UInt64) {
        self.id = id
        self.startEpoch = startEpoch
        self.endEpoch = endEpoch
        self.storageSize = storageSize
    }
}

/// The encoding type's name in JSON; only RS2 (byte 1) exists.
public enum EncodingTypeName: String, Codable, Hashable, Sendable {
    case rs2 = "RS2"

    public init?(byte: UInt8) {
        guard byte == 1 else { return nil }
        self = .rs2
    }

    public var byte: UInt8 { 1 }
}

/// Walrus's `Blob` object: one registration of a blob ID, with its storage.
public struct BlobObject: Codable, Hashable, Sendable {
    public let id: ObjectID
    public let registeredEpoch: UInt32
    public let blobId: BlobID
    public let size: UInt64
    public let encodingType: EncodingTypeName
    /// The epoch of the first certification; null while uncertified.
    public let certifiedEpoch: UInt32?
    public let storage: StorageResourceObject
    public let deletable: Bool

    public init(
        id: ObjectID, registeredEpoch: UInt32, blobId: BlobID, size: UInt64, encodingType: EncodingTypeName = .rs2, certifiedEpoch: UInt32?,
        storage: StorageResourceObject, deletable: Bool
    ) {
        self.id = id
        self.registeredEpoch = registeredEpoch
        self.blobId = blobId
        self.size = size
        self.encodingType = encodingType
        self.certifiedEpoch = certifiedEpoch
        self.storage = storage
        self.deletable = deletable
    }

    private enum Keys: String, CodingKey { case id, registeredEpoch, blobId, size, encodingType, certifiedEpoch, storage, deletable }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
        try c.encode(registeredEpoch, forKey: .registeredEpoch)
        try c.encode(blobId, forKey: .blobId)
        try c.encode(size, forKey: .size)
        try c.encode(encodingType, forKey: .encodingType)
        try c.encode(certifiedEpoch, forKey: .certifiedEpoch)  // null while uncertified, as Walrus writes it
        try c.encode(storage, forKey: .storage)
        try c.encode(deletable, forKey: .deletable)
    }
}

/// How a store got its registration (Walrus's `RegisterBlobOp`).
public enum RegisterBlobOp: Hashable, Sendable {
    case registerFromScratch(encodedLength: UInt64, epochsAhead: UInt32)
    case reuseStorage(encodedLength: UInt64)
    case reuseRegistration(encodedLength: UInt64)
    case reuseAndExtend(encodedLength: UInt64, epochsExtended: UInt32)
    case reuseAndExtendNonCertified(encodedLength: UInt64, epochsExtended: UInt32)

    public var encodedLength: UInt64 {
        switch self {
        case .registerFromScratch(let l, _), .reuseStorage(let l), .reuseRegistration(let l), .reuseAndExtend(let l, _),
             .reuseAndExtendNonCertified(let l, _): l
        }
    }

    public var name: String {
        switch self {
        case .registerFromScratch: "registerFromScratch"
        case .reuseStorage: "reuseStorage"
        case .reuseRegistration: "reuseRegistration"
        case .reuseAndExtend: "reuseAndExtend"
        case .reuseAndExtendNonCertified: "reuseAndExtendNonCertified"
        }
    }
}

extension RegisterBlobOp: Codable {
    private struct Fields: Codable {
        var encodedLength: UInt64
        var epochsAhead: UInt32?
        var epochsExtended: UInt32?
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        guard c.allKeys.count == 1, let key = c.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a RegisterBlobOp has exactly one variant key"))
        }
        let f = try c.decode(Fields.self, forKey: key)
        func need(_ value: UInt32?, _ name: String) throws -> UInt32 {
            guard let value else { throw DecodingError.keyNotFound(AnyKey(name), .init(codingPath: decoder.codingPath + [key], debugDescription: "\(key.stringValue) needs \(name)")) }
            return value
        }
        switch key.stringValue {
        case "registerFromScratch": self = .registerFromScratch(encodedLength: f.encodedLength, epochsAhead: try need(f.epochsAhead, "epochsAhead"))
        case "reuseStorage": self = .reuseStorage(encodedLength: f.encodedLength)
        case "reuseRegistration": self = .reuseRegistration(encodedLength: f.encodedLength)
        case "reuseAndExtend": self = .reuseAndExtend(encodedLength: f.encodedLength, epochsExtended: try need(f.epochsExtended, "epochsExtended"))
        case "reuseAndExtendNonCertified":
            self = .reuseAndExtendNonCertified(encodedLength: f.encodedLength, epochsExtended: try need(f.epochsExtended, "epochsExtended"))
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown RegisterBlobOp '\(key.stringValue)'"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        let fields: Fields = switch self {
        case let .registerFromScratch(l, ahead): Fields(encodedLength: l, epochsAhead: ahead)
        case let .reuseStorage(l), let .reuseRegistration(l): Fields(encodedLength: l)
        case let .reuseAndExtend(l, extended), let .reuseAndExtendNonCertified(l, extended): Fields(encodedLength: l, epochsExtended: extended)
        }
        try c.encode(fields, forKey: AnyKey(name))
    }
}

/// What a store did (Walrus's `BlobStoreResult`), as the publisher answers and `walrus store --json` prints.
public enum BlobStoreResult: Hashable, Sendable {
    /// The blob was certified already, long enough. `event` is the certification event; an owned
    /// deletable registration is named by its `object` instead.
    case alreadyCertified(blobId: BlobID, endEpoch: UInt32, certifiedBy: EventOrObjectID)
    case newlyCreated(blobObject: BlobObject, resourceOperation: RegisterBlobOp, cost: UInt64, sharedBlobObject: ObjectID?)
    case markedInvalid(blobId: BlobID, event: EventID)
    case error(blobId: BlobID?, failurePhase: String, errorMsg: String)

    public var blobId: BlobID? {
        switch self {
        case .alreadyCertified(let id, _, _), .markedInvalid(let id, _): id
        case .newlyCreated(let object, _, _, _): object.blobId
        case .error(let id, _, _): id
        }
    }

    /// The epoch the blob is stored until (exclusive), when it is stored.
    public var endEpoch: UInt32? {
        switch self {
        case .alreadyCertified(_, let end, _): end
        case .newlyCreated(let object, _, _, _): object.storage.endEpoch
        case .markedInvalid, .error: nil
        }
    }
}

/// The certification event, or the registration object that stands in for it.
public enum EventOrObjectID: Hashable, Sendable {
    case event(EventID)
    case object(ObjectID)
}

extension BlobStoreResult: Codable {
    private enum Variant: String, CodingKey { case alreadyCertified, newlyCreated, markedInvalid, error }
    private enum Fields: String, CodingKey {
        case blobId, endEpoch, event, object, blobObject, resourceOperation, cost, sharedBlobObject, failurePhase, errorMsg
    }

    public init(from decoder: any Decoder) throws {
        let outer = try decoder.container(keyedBy: Variant.self)
        guard outer.allKeys.count == 1, let variant = outer.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a BlobStoreResult has exactly one variant key"))
        }
        let c = try outer.nestedContainer(keyedBy: Fields.self, forKey: variant)
        switch variant {
        case .alreadyCertified:
            let by: EventOrObjectID
            if let event = try c.decodeIfPresent(EventID.self, forKey: .event) { by = .event(event) } else {
                by = .object(try c.decode(ObjectID.self, forKey: .object))
            }
            self = .alreadyCertified(blobId: try c.decode(BlobID.self, forKey: .blobId), endEpoch: try c.decode(UInt32.self, forKey: .endEpoch), certifiedBy: by)
        case .newlyCreated:
            self = .newlyCreated(
                blobObject: try c.decode(BlobObject.self, forKey: .blobObject), resourceOperation: try c.decode(RegisterBlobOp.self, forKey: .resourceOperation),
                cost: try c.decode(UInt64.self, forKey: .cost), sharedBlobObject: try c.decodeIfPresent(ObjectID.self, forKey: .sharedBlobObject))
        case .markedInvalid:
            self = .markedInvalid(blobId: try c.decode(BlobID.self, forKey: .blobId), event: try c.decode(EventID.self, forKey: .event))
        case .error:
            self = .error(
                blobId: try c.decodeIfPresent(BlobID.self, forKey: .blobId), failurePhase: try c.decode(String.self, forKey: .failurePhase),
                errorMsg: try c.decode(String.self, forKey: .errorMsg))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var outer = encoder.container(keyedBy: Variant.self)
        switch self {
        case let .alreadyCertified(blobId, endEpoch, by):
            var c = outer.nestedContainer(keyedBy: Fields.self, forKey: .alreadyCertified)
            try c.encode(blobId, forKey: .blobId)
            try c.encode(endEpoch, forKey: .endEpoch)
            switch by {
            case .event(let event): try c.encode(event, forKey: .event)
            case .object(let object): try c.encode(object, forKey: .object)
            }
        case let .newlyCreated(blobObject, operation, cost, shared):
            var c = outer.nestedContainer(keyedBy: Fields.self, forKey: .newlyCreated)
            try c.encode(blobObject, forKey: .blobObject)
            try c.encode(operation, forKey: .resourceOperation)
            try c.encode(cost, forKey: .cost)
            try c.encodeIfPresent(shared, forKey: .sharedBlobObject)
        case let .markedInvalid(blobId, event):
            var c = outer.nestedContainer(keyedBy: Fields.self, forKey: .markedInvalid)
            try c.encode(blobId, forKey: .blobId)
            try c.encode(event, forKey: .event)
        case let .error(blobId, phase, message):
            var c = outer.nestedContainer(keyedBy: Fields.self, forKey: .error)
            try c.encode(blobId, forKey: .blobId)
            try c.encode(phase, forKey: .failurePhase)
            try c.encode(message, forKey: .errorMsg)
        }
    }
}

/// A coding key made from any string (an enum's variant name).
struct AnyKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A blob object's attribute as Walrus writes it (`BlobAttribute`, a Sui `VecMap`):
/// `{"metadata":{"contents":[{"key","value"}…]}}`, pairs in insertion order.
public struct BlobAttribute: Codable, Hashable, Sendable {
    public struct Entry: Codable, Hashable, Sendable {
        public let key: String
        public let value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public struct Contents: Codable, Hashable, Sendable {
        public let contents: [Entry]
    }

    public let metadata: Contents

    public init(_ pairs: [(String, String)]) { metadata = Contents(contents: pairs.map { Entry(key: $0.0, value: $0.1) }) }

    public var pairs: [(key: String, value: String)] { metadata.contents.map { ($0.key, $0.value) } }

    public func value(_ key: String) -> String? { metadata.contents.first { $0.key == key }?.value }
}

/// A shared blob as Walrus writes it (`SharedBlob`): its object ID, the blob it wraps and the
/// FROST it holds for extensions.
public struct SharedBlobObject: Codable, Hashable, Sendable {
    public let id: ObjectID
    public let blob: BlobObject
    public let funds: UInt64

    public init(id: ObjectID, blob: BlobObject, funds: UInt64) {
        self.id = id
        self.blob = blob
        self.funds = funds
    }
}

// MARK: - Quilts

/// One stored patch as the publisher reports it (Walrus's `StoredQuiltPatch`).
public struct StoredQuiltPatch: Codable, Hashable, Sendable {
    public let identifier: String
    /// The patch ID: 50 characters of URL-safe base64.
    public let quiltPatchId: String

    public init(identifier: String, quiltPatchId: String) {
        self.identifier = identifier
        self.quiltPatchId = quiltPatchId
    }
}

/// The result of storing a quilt (Walrus's `QuiltStoreResult`): the quilt blob's store result and
/// the patches in it.
public struct QuiltStoreResult: Codable, Sendable {
    public let blobStoreResult: BlobStoreResult
    public let storedQuiltBlobs: [StoredQuiltPatch]

    public init(blobStoreResult: BlobStoreResult, storedQuiltBlobs: [StoredQuiltPatch]) {
        self.blobStoreResult = blobStoreResult
        self.storedQuiltBlobs = storedQuiltBlobs
    }
}

/// A patch as `GET /v1/quilts/{id}/patches` lists it (Walrus's `QuiltPatchItem`, whose field
/// names are snake case).
public struct QuiltPatchItem: Codable, Hashable, Sendable {
    public let identifier: String
    public let patchID: String
    public let tags: [String: String]

    enum CodingKeys: String, CodingKey {
        case identifier
        case patchID = "patch_id"
        case tags
    }

    public init(identifier: String, patchID: String, tags: [String: String]) {
        self.identifier = identifier
        self.patchID = patchID
        self.tags = tags
    }
}
