public import ChainClient
import ChainTypes
import RedStuff
public import WalrusAPI
public import WalrusCore
import WalrusCrypto

/// What storing a blob would cost, without storing it (`--dry-run`).
public struct StoreEstimate: Sendable, Equatable {
    public let blobID: BlobID
    public let unencodedLength: UInt64
    public let encodedLength: UInt64
    public let epochs: UInt32
    /// Storage for `epochs` epochs plus the write fee, in FROST, when storage is reserved anew.
    public let costFrost: UInt64
    /// The transaction fees of the registration and the certification (burned), in FROST: an
    /// estimate from the typical size of the two transactions at this committee's size.
    public let transactionFeesFrost: UInt64
}

extension WalrusClient {
    /// The account this client signs with.
    public var address: Address { builder.address }

    /// Encodes the blob and prices it at the chain's current prices; spends nothing.
    public func estimate(_ blob: [UInt8], epochs: UInt32) async throws(ClientError) -> StoreEstimate {
        let info = try await chainCall { () async throws(ChainClientError) in try await chain.epochInfo() }
        try Self.checkEpochs(epochs, info: info)
        let members = try await chainCall { () async throws(ChainClientError) in try await chain.committee() }.members.count
        let config: EncodingConfig
        let blobID: BlobID
        do {
            config = try EncodingConfig(shardCount: info.shardCount)
            blobID = try BlobEncoder(config: config).computeMetadata(blob).blobID
        } catch { throw ClientError(.invalidArgument, error.message) }
        let encodedLength = (try? config.encodedBlobLength(forLength: UInt64(blob.count))) ?? 0
        let units = Limits.storageUnits(encodedLength)
        return StoreEstimate(
            blobID: blobID, unencodedLength: UInt64(blob.count), encodedLength: encodedLength, epochs: epochs,
            costFrost: try Self.cost(units: units, epochs: epochs, info: info),
            transactionFeesFrost: Self.transactionFees(info: info, members: members))
    }

    /// The fees of a store's two transactions: a registration (about 300 bytes) and a
    /// certification (a signature and a bitmap bit per committee member).
    static func transactionFees(info: EpochInfo, members: Int) -> UInt64 {
        let register = info.fees.fee(bytes: 300, operations: 1)?.rawValue ?? UInt64.max
        let certify = info.fees.fee(bytes: 200 + 65 * members, operations: 1)?.rawValue ?? UInt64.max
        return register.addingReportingOverflow(certify).overflow ? UInt64.max : register + certify
    }

    /// The blob registrations this account owns; expired ones only with `includeExpired`.
    public func ownedBlobs(includeExpired: Bool = false) async throws(ClientError) -> [BlobRegistration] {
        let epoch = try await chainCall { () async throws(ChainClientError) in try await chain.epochInfo() }.epoch
        let all = try await chainCall { () async throws(ChainClientError) in try await chain.registrations(ownedBy: builder.address) }
        return all.filter { includeExpired || $0.endEpoch > epoch }.sorted { ($0.endEpoch, $0.objectID) < ($1.endEpoch, $1.objectID) }
    }

    /// This account's registrations of `blobID` that are not expired.
    private func ownedRegistrations(of blobID: BlobID) async throws(ClientError) -> [BlobRegistration] {
        try await ownedBlobs().filter { $0.blobID == blobID }
    }

    /// Extends the owned certified registration of `blobID` that ends last by `epochs` epochs
    /// (PROTOCOL.md §3.8); returns it with its new end epoch and the cost.
    public func extend(_ blobID: BlobID, epochs: UInt32) async throws(ClientError) -> (registration: BlobRegistration, endEpoch: Epoch, costFrost: UInt64) {
        guard epochs > 0 else { throw ClientError(.invalidArgument, "--epochs is a positive number") }
        let owned = try await ownedRegistrations(of: blobID).filter { $0.certifiedEpoch != nil }
        guard let target = owned.max(by: { $0.endEpoch < $1.endEpoch }) else {
            throw ClientError(.notFound, "this wallet (\(builder.address)) owns no certified, unexpired registration of \(blobID); `walrus list-blobs` shows what it owns")
        }
        return try await extend(target, epochs: epochs)
    }

    /// Extends blob object `objectID` (owned and certified) by `epochs` epochs.
    public func extend(objectID: ObjectID, epochs: UInt32) async throws(ClientError) -> (registration: BlobRegistration, endEpoch: Epoch, costFrost: UInt64) {
        guard epochs > 0 else { throw ClientError(.invalidArgument, "--epochs-extended is a positive number") }
        guard let target = try await chainCall({ () async throws(ChainClientError) in try await chain.registration(objectID: objectID) }) else {
            throw ClientError(.notFound, "there is no blob object \(objectID) (deleted, or not a blob)")
        }
        guard target.owner == builder.address else { throw ClientError(.invalidArgument, "blob object \(objectID) belongs to \(target.owner), not to this wallet (\(builder.address))") }
        guard target.certifiedEpoch != nil else { throw ClientError(.invalidArgument, "blob object \(objectID) is not certified; only certified blobs can be extended") }
        return try await extend(target, epochs: epochs)
    }

    /// Extends the blob shared blob `sharedID` wraps by `epochs`, paid from its funds (anyone may).
    public func extendShared(sharedID: ObjectID, epochs: UInt32) async throws(ClientError) -> (registration: BlobRegistration, endEpoch: Epoch, costFrost: UInt64) {
        guard epochs > 0 else { throw ClientError(.invalidArgument, "--epochs-extended is a positive number") }
        guard let (_, target) = try await chainCall({ () async throws(ChainClientError) in try await chain.sharedBlob(objectID: sharedID) }) else {
            throw ClientError(.notFound, "there is no shared blob \(sharedID) (`walrus share` makes one from a blob object)")
        }
        return try await extend(target, epochs: epochs, operation: .extendSharedBlob(shared: sharedID, epochs: epochs))
    }

    /// Shares this wallet's permanent blob object `objectID` with `funds` from this wallet;
    /// returns the shared blob's object ID.
    public func share(objectID: ObjectID, funds: FROST) async throws(ClientError) -> ObjectID {
        _ = try await chainCall { () async throws(ChainClientError) in try await builder.execute([.shareBlob(blob: objectID, funds: funds)]) }
        guard let shared = try await chainCall({ () async throws(ChainClientError) in try await chain.registration(objectID: objectID) })?.sharedBlobObject else {
            throw ClientError(.verification, "blob object \(objectID) was shared but the chain does not show its shared blob")
        }
        return shared
    }

    /// Adds `amount` of this wallet's WAL to shared blob `sharedID`'s funds.
    public func fundSharedBlob(sharedID: ObjectID, amount: FROST) async throws(ClientError) {
        guard amount > .zero else { throw ClientError(.invalidArgument, "--amount is positive") }
        _ = try await chainCall { () async throws(ChainClientError) in try await builder.execute([.fundSharedBlob(shared: sharedID, amount: amount)]) }
    }

    private func extend(
        _ target: BlobRegistration, epochs: UInt32, operation: ChainTypes.Operation? = nil
    ) async throws(ClientError) -> (registration: BlobRegistration, endEpoch: Epoch, costFrost: UInt64) {
        let info = try await chainCall { () async throws(ChainClientError) in try await chain.epochInfo() }
        try Self.checkEpochs(epochs, info: info)
        let op = operation ?? .extendBlob(blob: target.objectID, epochs: epochs)
        let outcome = try await chainCall { () async throws(ChainClientError) in try await builder.execute([op]) }
        var end = Epoch(target.endEpoch.rawValue &+ epochs)  // Replaced by the event's end below.
        for case let .blobCertified(_, _, newEnd, _, objectID, true) in outcome.events where objectID == target.objectID { end = newEnd }
        let encoded = (try? EncodingConfig(shardCount: info.shardCount).encodedBlobLength(forLength: target.size)) ?? 0
        let units = Limits.storageUnits(encoded)
        let storage = units.multipliedReportingOverflow(by: info.storagePrice.rawValue)
        let cost = storage.partialValue.multipliedReportingOverflow(by: UInt64(epochs))
        return (target, end, storage.overflow || cost.overflow ? UInt64.max : cost.partialValue)
    }

    /// Deletes every deletable registration of `blobID` this account owns (PROTOCOL.md §3.9);
    /// returns the deleted registrations. Their storage resources come back to the account.
    public func delete(_ blobID: BlobID) async throws(ClientError) -> [BlobRegistration] {
        let owned = try await ownedRegistrations(of: blobID)
        let deletable = owned.filter(\.deletable)
        guard !deletable.isEmpty else {
            let why = owned.isEmpty ? "owns no unexpired registration of it" : "owns only permanent registrations of it, which cannot be deleted"
            throw ClientError(.notFound, "cannot delete \(blobID): this wallet (\(builder.address)) \(why)")
        }
        _ = try await chainCall { () async throws(ChainClientError) in try await builder.execute(deletable.map { .deleteBlob(blob: $0.objectID) }) }
        return deletable
    }

    // MARK: Attributes

    /// The attribute of blob object `objectID` (nil when it has none); not found when there is
    /// no such blob object.
    public func blobAttribute(objectID: ObjectID) async throws(ClientError) -> BlobAttribute? {
        guard let registration = try await chainCall({ () async throws(ChainClientError) in try await chain.registration(objectID: objectID) }) else {
            throw ClientError(.notFound, "there is no blob object \(objectID) (deleted, or not a blob)")
        }
        return registration.attribute
    }

    /// Sets keys of this wallet's blob object's attribute (an existing key takes the new value).
    public func setBlobAttribute(objectID: ObjectID, pairs: [(key: String, value: String)]) async throws(ClientError) {
        guard !pairs.isEmpty, pairs.count <= AttributePair.perOperationMax else {
            throw ClientError(.invalidArgument, "set 1 to \(AttributePair.perOperationMax) attribute keys at once")
        }
        for (key, value) in pairs {
            guard !key.isEmpty, key.utf8.count <= AttributePair.keyBytesMax, value.utf8.count <= AttributePair.valueBytesMax else {
                throw ClientError(.invalidArgument, "an attribute key is 1 to \(AttributePair.keyBytesMax) bytes and a value at most \(AttributePair.valueBytesMax): '\(key.prefix(64))'")
            }
        }
        _ = try await chainCall { () async throws(ChainClientError) in
            try await builder.execute([.setBlobAttribute(blob: objectID, pairs: pairs.map { AttributePair(key: $0.key, value: $0.value) })])
        }
    }

    /// Removes keys of this wallet's blob object's attribute (all of them must be there).
    public func removeBlobAttributeFields(objectID: ObjectID, keys: [String]) async throws(ClientError) {
        guard !keys.isEmpty, keys.count <= AttributePair.perOperationMax, keys.allSatisfy({ !$0.isEmpty && $0.utf8.count <= AttributePair.keyBytesMax }) else {
            throw ClientError(.invalidArgument, "remove 1 to \(AttributePair.perOperationMax) keys of 1 to \(AttributePair.keyBytesMax) bytes")
        }
        _ = try await chainCall { () async throws(ChainClientError) in try await builder.execute([.removeBlobAttributeFields(blob: objectID, keys: keys)]) }
    }

    /// Removes this wallet's blob object's attribute.
    public func removeBlobAttribute(objectID: ObjectID) async throws(ClientError) {
        _ = try await chainCall { () async throws(ChainClientError) in try await builder.execute([.removeBlobAttribute(blob: objectID)]) }
    }

    /// Deletes blob objects by object ID, in one transaction: each must be this wallet's and
    /// deletable, or nothing is deleted.
    public func delete(objectIDs: [ObjectID]) async throws(ClientError) -> [BlobRegistration] {
        guard !objectIDs.isEmpty, objectIDs.count <= Transaction.operationsMax else {
            throw ClientError(.invalidArgument, "delete takes 1 to \(Transaction.operationsMax) object IDs at once")
        }
        var targets: [BlobRegistration] = []
        for id in objectIDs {
            guard let target = try await chainCall({ () async throws(ChainClientError) in try await chain.registration(objectID: id) }) else {
                throw ClientError(.notFound, "there is no blob object \(id) (deleted, or not a blob)")
            }
            guard target.owner == builder.address else { throw ClientError(.invalidArgument, "blob object \(id) belongs to \(target.owner), not to this wallet") }
            guard target.deletable else { throw ClientError(.invalidArgument, "blob object \(id) is permanent; it cannot be deleted") }
            targets.append(target)
        }
        _ = try await chainCall { () async throws(ChainClientError) in try await builder.execute(targets.map { .deleteBlob(blob: $0.objectID) }) }
        return targets
    }

    /// The balance of `address` (this account by default).
    public func balance(of address: Address? = nil) async throws(ClientError) -> FROST {
        try await chainCall { () async throws(ChainClientError) in try await chain.account(address ?? builder.address) }.balance
    }

    /// Sends `amount` to `recipient`.
    public func transfer(to recipient: Address, amount: FROST) async throws(ClientError) {
        guard amount.rawValue > 0 else { throw ClientError(.invalidArgument, "the amount is positive") }
        _ = try await chainCall { () async throws(ChainClientError) in try await builder.execute([.transfer(to: recipient, amount: amount)]) }
    }

    /// Stakes `amount` with storage node `node`; returns the stake's object ID. The stake counts from
    /// the epoch after next if the committee of the next epoch is already chosen (PROTOCOL.md §4.3).
    public func stake(node: NodeID, amount: FROST) async throws(ClientError) -> (stake: ObjectID, activationEpoch: Epoch) {
        guard amount.rawValue > 0 else { throw ClientError(.invalidArgument, "the amount is positive") }
        let before = try await chainCall { () async throws(ChainClientError) in try await chain.stakes(ownedBy: builder.address) }
        _ = try await chainCall { () async throws(ChainClientError) in try await builder.execute([.stake(node: node, amount: amount)]) }
        let after = try await chainCall { () async throws(ChainClientError) in try await chain.stakes(ownedBy: builder.address) }
        guard let new = after.first(where: { stake in !before.contains { $0.id == stake.id } }) else {
            throw ClientError(.verification, "the stake transaction succeeded but no new stake of this wallet is listed")
        }
        return (new.id, new.activationEpoch)
    }

    /// The stakes this wallet holds.
    public func stakes() async throws(ClientError) -> [StakeInfo] {
        try await chainCall { () async throws(ChainClientError) in try await chain.stakes(ownedBy: builder.address) }
    }

    /// Withdraws stake `id`: requests the withdrawal first if that was not done, then takes the
    /// WAL back once the protocol's delay has passed (the epoch after the committee it counts for
    /// is selected, PROTOCOL.md §4.3). Returns the stake as it stands and whether the WAL is back.
    public func withdraw(stake id: ObjectID) async throws(ClientError) -> (stake: StakeInfo, withdrawn: Bool, epoch: Epoch) {
        let owned = try await stakes()
        guard var stake = owned.first(where: { $0.id == id }) else {
            throw ClientError(.notFound, "this wallet (\(builder.address)) holds no stake \(id); `walrus stake list` shows its stakes")
        }
        if stake.withdrawEpoch == nil {
            _ = try await chainCall { () async throws(ChainClientError) in try await builder.execute([.requestWithdrawal(stake: id)]) }
            guard let requested = try await stakes().first(where: { $0.id == id }) else {
                throw ClientError(.verification, "the withdrawal request succeeded but stake \(id) is no longer listed")
            }
            stake = requested
        }
        let epoch = try await chainCall { () async throws(ChainClientError) in try await chain.health() }.epoch
        guard let ready = stake.withdrawEpoch, epoch >= ready else { return (stake, false, epoch) }
        _ = try await chainCall { () async throws(ChainClientError) in try await builder.execute([.withdraw(stake: id)]) }
        return (stake, true, epoch)
    }
}
