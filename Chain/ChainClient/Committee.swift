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
    public var weight: UInt64 { UInt64(shards.count) }
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
}

extension ChainClient {
    /// The committee of `epoch` (the current one by default).
    public func committee(_ epoch: Epoch? = nil) async throws(ChainClientError) -> CommitteeInfo {
        let o = try await json("/v1/committee/\(epoch.map { String($0.rawValue) } ?? "current")")
        guard let number = (o["epoch"] as? NSNumber)?.uint32Value, let entries = o["members"] as? [[String: Any]] else {
            throw ChainClientError(.malformed, "committee answer is incomplete")
        }
        var members: [CommitteeMember] = []
        for entry in entries {
            guard let id = (entry["nodeId"] as? String).flatMap({ try? NodeID(parsing: $0) }),
                let shards = entry["shards"] as? [NSNumber], let keyHex = entry["publicKey"] as? String,
                let key = try? Schnorr.PublicKey(hex: keyHex), let address = entry["networkAddress"] as? String
            else { throw ChainClientError(.malformed, "a committee member does not parse") }
            members.append(CommitteeMember(
                nodeID: id, name: entry["name"] as? String ?? "", shards: shards.map { ShardIndex($0.uint16Value) }, publicKey: key,
                networkAddress: address))
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
            epochDurationMs: (o["epochDurationMs"] as? NSNumber)?.uint64Value ?? 0, maxEpochsAhead: (o["maxEpochsAhead"] as? NSNumber)?.uint32Value ?? 0)
    }
}

/// One registration of a blob ID, as the chain reports it.
public struct BlobRegistration: Hashable, Sendable {
    public let objectID: ObjectID
    public let certifiedEpoch: Epoch?
    public let endEpoch: Epoch
    public let deletable: Bool
    /// Who owns the registration (nil when the server did not say).
    public let owner: Address?
}

extension ChainClient {
    /// Every registration of a blob ID, and whether it was found invalid.
    public func registrations(_ blobID: BlobID) async throws(ChainClientError) -> (registrations: [BlobRegistration], invalid: Bool) {
        let o = try await json("/v1/blobs/\(blobID)")
        let list = (o["registrations"] as? [[String: Any]] ?? []).compactMap { r -> BlobRegistration? in
            guard let id = (r["objectId"] as? String).flatMap({ try? ObjectID(parsing: $0) }), let end = (r["endEpoch"] as? NSNumber)?.uint32Value else { return nil }
            return BlobRegistration(
                objectID: id, certifiedEpoch: (r["certifiedEpoch"] as? NSNumber).map { Epoch($0.uint32Value) }, endEpoch: Epoch(end),
                deletable: r["deletable"] as? Bool ?? false, owner: (r["owner"] as? String).flatMap { try? Address(parsing: $0) })
        }
        return (list, o["invalid"] as? Bool ?? false)
    }
}
