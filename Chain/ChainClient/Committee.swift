public import ChainTypes
public import WalrusAPI
public import WalrusCore
public import WalrusCrypto
import Foundation

/// A storage committee member as clients and storage nodes need it.
public struct CommitteeMember: Hashable, Sendable {
    public let nodeID: NodeID
    public let name: String
    public let shards: [ShardIndex]
    public let publicKey: Schnorr.PublicKey
    public let networkAddress: String
    /// The stake that counts for the member in the committee's epoch (FROST; 0 where the RPC did not say).
    public var stake: UInt64 = 0
    /// The P-256 key its TLS certificate must carry; nil for a node registered without one,
    /// which serves plain HTTP.
    public var networkPublicKey: NetworkPublicKey?
    public var weight: UInt64 { UInt64(shards.count) }

    /// The base URL of the member's REST API (`https://host:port` when it registered a network
    /// key, else `http://host:port`), or nil when its registered address is not a valid
    /// host:port: such a member is unreachable, never a URL to build on.
    public var httpBase: String? {
        guard let address = try? NetworkAddress(parsing: networkAddress) else { return nil }
        // The key rides in the URL (its user part), so that every request built on this base
        // pins it: HTTPClient checks the certificate against it.
        return networkPublicKey.map { "https://\($0)@\(address.host):\(address.port)" } ?? address.httpBase
    }

    /// What a request to the member pins: the network key's bytes.
    public var pin: [UInt8]? { networkPublicKey?.bytes }
}

/// The storage committee of an epoch, members in committee order (by node ID).
public struct CommitteeInfo: Hashable, Sendable {
    public let epoch: Epoch
    public let members: [CommitteeMember]
    public var shardCount: UInt16 { UInt16(members.reduce(0) { $0 + $1.shards.count }) }

    /// The member holding `shard`.
    public func owner(of shard: ShardIndex) -> CommitteeMember? { members.first { $0.shards.contains(shard) } }
}

/// The chain's epoch and parameters.
public struct EpochInfo: Hashable, Sendable {
    public let epoch: Epoch
    public let state: String
    public let shardCount: UInt16
    public let storagePrice: FROST
    public let writePrice: FROST
    public let epochDurationMs: UInt64
    public let maxEpochsAhead: UInt32
    /// When the current epoch started (block time, ms since 1970); nil during an epoch change.
    public let epochStartMs: UInt64?
    /// What each transaction pays (burned), from the chain's parameters.
    public let fees: FeeSchedule
}

extension ChainClient {
    /// The committee of `epoch` (the current one by default).
    public func committee(_ epoch: Epoch? = nil) async throws(ChainClientError) -> CommitteeInfo {
        let o = try await json("/v1/committee/\(epoch.map { String($0.rawValue) } ?? "current")")
        guard let number = (o["epoch"] as? NSNumber)?.uint32Value, let entries = o["members"] as? [[String: Any]] else {
            throw ChainClientError(.malformed, "committee answer is incomplete")
        }
        var members: [CommitteeMember] = []
        var seen = Set<UInt16>()
        for entry in entries {
            guard let id = (entry["nodeId"] as? String).flatMap({ try? NodeID(parsing: $0) }),
                let shards = entry["shards"] as? [NSNumber], let keyHex = entry["publicKey"] as? String,
                let key = try? Schnorr.PublicKey(hex: keyHex), let address = entry["networkAddress"] as? String
            else { throw ChainClientError(.malformed, "a committee member does not parse") }
            // Shards are distinct and below the protocol's maximum, or the answer is refused.
            for shard in shards {
                let index = shard.intValue
                guard index >= 0, index < Int(Limits.shardCountMax), seen.insert(UInt16(index)).inserted else {
                    throw ChainClientError(.malformed, "the committee assigns shard \(shard) twice or out of range")
                }
            }
            // A network key that does not parse is refused with the answer: a member whose
            // connections cannot be pinned must not silently fall back to plain HTTP.
            var networkKey: NetworkPublicKey?
            if let hex = entry["networkPublicKey"] as? String, !hex.isEmpty {
                guard let bytes = try? Hex.decode(hex), let parsed = try? NetworkPublicKey(bytes: bytes) else {
                    throw ChainClientError(.malformed, "a committee member's network public key does not parse")
                }
                networkKey = parsed
            }
            members.append(CommitteeMember(
                nodeID: id, name: entry["name"] as? String ?? "", shards: shards.map { ShardIndex($0.uint16Value) }, publicKey: key,
                networkAddress: address, stake: (entry["stake"] as? NSNumber)?.uint64Value ?? 0, networkPublicKey: networkKey))
        }
        guard (seen.max().map { Int($0) + 1 } ?? 0) == seen.count else {
            throw ChainClientError(.malformed, "the committee's shards are not 0 to \(seen.count - 1) without gaps")
        }
        return CommitteeInfo(epoch: Epoch(number), members: members)
    }

    public func epochInfo() async throws(ChainClientError) -> EpochInfo {
        let o = try await json("/v1/epoch")
        guard let epoch = (o["epoch"] as? NSNumber)?.uint32Value, let shards = (o["shardCount"] as? NSNumber)?.uint16Value else {
            throw ChainClientError(.malformed, "epoch answer is incomplete")
        }
        return EpochInfo(
            epoch: Epoch(epoch), state: o["state"] as? String ?? "", shardCount: shards,
            storagePrice: FROST((o["storagePrice"] as? NSNumber)?.uint64Value ?? 0), writePrice: FROST((o["writePrice"] as? NSNumber)?.uint64Value ?? 0),
            epochDurationMs: (o["epochDurationMs"] as? NSNumber)?.uint64Value ?? 0, maxEpochsAhead: (o["maxEpochsAhead"] as? NSNumber)?.uint32Value ?? 0,
            epochStartMs: (o["epochStartMs"] as? NSNumber)?.uint64Value,
            fees: (o["fees"] as? [String: Any]).map { f in
                FeeSchedule(
                    baseFrost: (f["baseFrost"] as? NSNumber)?.uint64Value ?? 0, perByteFrost: (f["perByteFrost"] as? NSNumber)?.uint64Value ?? 0,
                    perOperationFrost: (f["perOperationFrost"] as? NSNumber)?.uint64Value ?? 0)
            } ?? .none)
    }
}

/// One registration of a blob ID (a Walrus `Blob` object) and its owner, as the chain's RPC
/// serves it (`/v1/blobs/{blobId}`, `/v1/blobs?owner=`, `/v1/objects/{id}`): the validator encodes
/// this type and the client decodes it.
public struct BlobRegistration: Codable, Hashable, Sendable {
    public let blobObject: BlobObject
    public let owner: Address
    /// The event of the first certification (nil while uncertified, or on a node that has not
    /// kept it, such as one started from a snapshot).
    public let certificationEvent: EventID?
    /// The event that registered it (nil on a node that has not kept it).
    public let registrationEvent: EventID?
    /// Its attribute, if it has one.
    public let attribute: BlobAttribute?
    /// The shared blob that wraps it, if it was shared (it then belongs to no one).
    public let sharedBlobObject: ObjectID?

    public init(
        blobObject: BlobObject, owner: Address, certificationEvent: EventID?, registrationEvent: EventID?, attribute: BlobAttribute? = nil,
        sharedBlobObject: ObjectID? = nil
    ) {
        self.blobObject = blobObject
        self.owner = owner
        self.certificationEvent = certificationEvent
        self.registrationEvent = registrationEvent
        self.attribute = attribute
        self.sharedBlobObject = sharedBlobObject
    }

    public var objectID: ObjectID { blobObject.id }
    public var blobID: BlobID { blobObject.blobId }
    public var size: UInt64 { blobObject.size }
    public var certifiedEpoch: Epoch? { blobObject.certifiedEpoch.map { Epoch($0) } }
    public var endEpoch: Epoch { Epoch(blobObject.storage.endEpoch) }
    public var deletable: Bool { blobObject.deletable }
}

/// Every registration of one blob ID, and whether the blob ID was marked invalid (with the event
/// that did it, where the node kept it).
public struct BlobRegistrations: Codable, Hashable, Sendable {
    public let blobId: BlobID
    public let invalid: Bool
    public let invalidationEvent: EventID?
    public let registrations: [BlobRegistration]

    public init(blobId: BlobID, invalid: Bool, invalidationEvent: EventID?, registrations: [BlobRegistration]) {
        self.blobId = blobId
        self.invalid = invalid
        self.invalidationEvent = invalidationEvent
        self.registrations = registrations
    }
}

/// A blob object or a shared blob, as `/v1/objects/{id}` names it.
public enum ChainBlobObject: Hashable, Sendable {
    case blob(BlobRegistration)
    /// A shared blob and the blob object it wraps.
    case shared(SharedBlobObject, BlobRegistration)

    /// The blob object (for a shared blob, the one it wraps).
    public var registration: BlobRegistration {
        switch self {
        case .blob(let r), .shared(_, let r): r
        }
    }
}

/// The blob registrations one address owns.
public struct OwnedBlobs: Codable, Hashable, Sendable {
    public let registrations: [BlobRegistration]
    public init(registrations: [BlobRegistration]) { self.registrations = registrations }
}

/// A storage resource, as the chain reports it.
public struct StorageResourceInfo: Hashable, Sendable {
    public let id: ObjectID
    public let startEpoch: Epoch
    public let endEpoch: Epoch
    public let size: UInt64
}

/// A stake, as the chain reports it.
public struct StakeInfo: Hashable, Sendable {
    public let id: ObjectID
    public let nodeID: NodeID
    public let amount: FROST
    public let activationEpoch: Epoch
    public let withdrawEpoch: Epoch?
}

/// A storage node's registration as the chain holds it.
public struct StorageNodeInfo: Hashable, Sendable {
    public let nodeID: NodeID
    public let name: String
    public let networkAddress: String
    public let publicKey: String
    public let operatorAddress: Address
    public let commissionBasisPoints: UInt16
    public let storagePriceVote: FROST
    public let writePriceVote: FROST
    public let capacityVote: UInt64
    /// The network key (hex, 33 bytes compressed P-256), empty when none is registered.
    public let networkPublicKey: String
    /// Shards in the current committee, and in the next one once it is selected.
    public let shards: Int
    public let nextShards: Int?
}

extension ChainClient {
    /// The storage node registered with a node ID (`0x…`) or public key (hex), or nil.
    public func storageNode(_ reference: String) async throws(ChainClientError) -> StorageNodeInfo? {
        let o: [String: Any]
        do { o = try await json("/v1/nodes/\(reference)") } catch where error.code == .notFound { return nil }
        guard let id = (o["nodeId"] as? String).flatMap({ try? NodeID(parsing: $0) }), let address = o["networkAddress"] as? String,
            let owner = (o["operator"] as? String).flatMap({ try? Address(parsing: $0) }), let commission = (o["commissionBasisPoints"] as? NSNumber)?.uint16Value,
            let storage = (o["storagePriceVoteFrost"] as? NSNumber)?.uint64Value, let write = (o["writePriceVoteFrost"] as? NSNumber)?.uint64Value,
            let capacity = (o["capacityVote"] as? NSNumber)?.uint64Value
        else { throw ChainClientError(.malformed, "/v1/nodes/\(reference) answered an incomplete node") }
        return StorageNodeInfo(
            nodeID: id, name: o["name"] as? String ?? "", networkAddress: address, publicKey: o["publicKey"] as? String ?? "", operatorAddress: owner,
            commissionBasisPoints: commission, storagePriceVote: FROST(storage), writePriceVote: FROST(write), capacityVote: capacity,
            networkPublicKey: o["networkPublicKey"] as? String ?? "",
            shards: (o["shards"] as? NSNumber)?.intValue ?? 0, nextShards: (o["nextShards"] as? NSNumber)?.intValue)
    }

    /// The stakes `owner` holds.
    public func stakes(ownedBy owner: Address) async throws(ChainClientError) -> [StakeInfo] {
        let o = try await json("/v1/stakes?owner=\(owner)")
        return (o["stakes"] as? [[String: Any]] ?? []).compactMap { s in
            guard let id = (s["id"] as? String).flatMap({ try? ObjectID(parsing: $0) }), let node = (s["nodeId"] as? String).flatMap({ try? NodeID(parsing: $0) }),
                let amount = (s["amount"] as? NSNumber)?.uint64Value, let activation = (s["activationEpoch"] as? NSNumber)?.uint32Value
            else { return nil }
            return StakeInfo(id: id, nodeID: node, amount: FROST(amount), activationEpoch: Epoch(activation),
                             withdrawEpoch: (s["withdrawEpoch"] as? NSNumber).map { Epoch($0.uint32Value) })
        }
    }

    /// Every registration of a blob ID, and whether it was found invalid.
    public func registrations(_ blobID: BlobID) async throws(ChainClientError) -> BlobRegistrations {
        let answer = try await decoded(BlobRegistrations.self, "/v1/blobs/\(blobID)")
        guard answer.blobId == blobID, answer.registrations.allSatisfy({ $0.blobID == blobID }) else {
            throw ChainClientError(.malformed, "/v1/blobs/\(blobID) answered registrations of another blob ID")
        }
        return answer
    }

    /// The blob registrations `owner` holds.
    public func registrations(ownedBy owner: Address) async throws(ChainClientError) -> [BlobRegistration] {
        try await decoded(OwnedBlobs.self, "/v1/blobs?owner=\(owner)").registrations
    }

    /// What object ID `id` names on the chain, from one `/v1/objects/{id}` answer: a blob
    /// object, a shared blob (with the blob it wraps), or nil for no object or another kind.
    public func blobOrSharedBlob(objectID id: ObjectID) async throws(ChainClientError) -> ChainBlobObject? {
        struct Answer: Decodable {
            let kind: String
            let sharedBlob: SharedBlobObject?
            let registration: BlobRegistration?
        }
        let path = "/v1/objects/\(id)"
        let body: Data
        do { body = try await jsonBody(path) } catch where error.code == .notFound { return nil }
        guard let kind = try? JSONDecoder().decode(Answer.self, from: body).kind else {
            throw ChainClientError(.malformed, "\(path) answered no object kind")
        }
        switch kind {
        case "blob":
            // A blob object's fields are the answer's own.
            let registration: BlobRegistration
            do { registration = try JSONDecoder().decode(BlobRegistration.self, from: body) } catch {
                throw ChainClientError(.malformed, "\(path) answered a blob that does not decode: \(error)")
            }
            guard registration.objectID == id else { throw ChainClientError(.malformed, "\(path) answered object \(registration.objectID)") }
            return .blob(registration)
        case "sharedBlob":
            guard let answer = try? JSONDecoder().decode(Answer.self, from: body), let shared = answer.sharedBlob, let registration = answer.registration,
                shared.id == id, registration.objectID == shared.blob.id
            else { throw ChainClientError(.malformed, "\(path) answered a shared blob that does not hold together") }
            return .shared(shared, registration)
        default:
            return nil
        }
    }

    /// The shared blob with object ID `id` and the registration it wraps, or nil when there is none.
    public func sharedBlob(objectID id: ObjectID) async throws(ChainClientError) -> (shared: SharedBlobObject, registration: BlobRegistration)? {
        guard case let .shared(shared, registration)? = try await blobOrSharedBlob(objectID: id) else { return nil }
        return (shared, registration)
    }

    /// The blob registration with object ID `id`, or nil when there is none (another kind of
    /// object included).
    public func registration(objectID id: ObjectID) async throws(ChainClientError) -> BlobRegistration? {
        guard case let .blob(registration)? = try await blobOrSharedBlob(objectID: id) else { return nil }
        return registration
    }

    /// The storage resources `owner` holds (not attached to a blob).
    public func storageResources(ownedBy owner: Address) async throws(ChainClientError) -> [StorageResourceInfo] {
        let o = try await json("/v1/storage?owner=\(owner)")
        return (o["storage"] as? [[String: Any]] ?? []).compactMap { s in
            guard let id = (s["id"] as? String).flatMap({ try? ObjectID(parsing: $0) }), let start = (s["startEpoch"] as? NSNumber)?.uint32Value,
                let end = (s["endEpoch"] as? NSNumber)?.uint32Value, let size = (s["size"] as? NSNumber)?.uint64Value
            else { return nil }
            return StorageResourceInfo(id: id, startEpoch: Epoch(start), endEpoch: Epoch(end), size: size)
        }
    }
}
