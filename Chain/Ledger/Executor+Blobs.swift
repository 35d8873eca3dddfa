import ChainTypes
import RedStuff
import WalrusCore
import WalrusCrypto

extension Executor {
    /// Registers a blob (PROTOCOL.md §3.3): storage bounds and size, the blob ID recomputed from the
    /// root hash, RS2 only; the write fee goes to the current epoch.
    mutating func registerBlob(
        _ source: StorageSource, blobID: BlobID, rootHash: [UInt8], size: UInt64, encodingType: UInt8, deletable: Bool
    ) throws(LedgerError) {
        guard encodingType == Limits.encodingTypeRS2 else {
            throw LedgerError(.unsupportedEncoding, "encoding type \(encodingType) is not RS2 (1)")
        }
        let config: EncodingConfig
        let encoded: UInt64
        do {
            config = try EncodingConfig(shardCount: parameters.shardCount)
            encoded = try config.encodedBlobLength(forLength: size)
        } catch { throw LedgerError(.invalidArgument, error.message) }
        var storage: StorageResource
        switch source {
        case .existing(let id):
            storage = try ownedStorage(id)
            view.delete(Keys.storage(id))
            clearOwned(sender, Keys.ownedStorage, id)
        case .reserve(let epochs):
            storage = try reserve(size: encoded, epochs: epochs, owner: sender)
            view.delete(Keys.storage(storage.id))
            clearOwned(sender, Keys.ownedStorage, storage.id)
        }
        guard storage.startEpoch <= epoch, epoch < storage.endEpoch else {
            throw LedgerError(.storageExpired, "the storage covers epochs [\(storage.startEpoch.rawValue), \(storage.endEpoch.rawValue)), the current epoch is \(epoch.rawValue)")
        }
        guard encoded <= storage.size else {
            throw LedgerError(.storageTooSmall, "the blob needs \(encoded) encoded bytes, the storage holds \(storage.size)")
        }
        let derived = BlobMetadata.blobID(encodingType: encodingType, unencodedLength: size, rootHash: .digest(rootHash))
        guard derived == blobID else {
            throw LedgerError(.invalidBlobID, "root hash, size and encoding type give blob ID \(derived), not \(blobID)")
        }
        try debit(sender, try Executor.multiply(system.writePrice, Limits.storageUnits(encoded)))
        var entry = system.accounting[epoch, default: AccountingEntry()]
        entry.rewards = FROST(entry.rewards.rawValue + system.writePrice.rawValue * Limits.storageUnits(encoded))
        system.accounting[epoch] = entry
        storage.owner = sender
        let blob = BlobRecord(
            id: newObjectID(), owner: sender, registeredEpoch: epoch, blobID: blobID, size: size, encodingType: encodingType,
            certifiedEpoch: nil, storage: storage, deletable: deletable)
        view.put(Keys.blob(blob.id), blob)
        view.put(Keys.blobIndex(blobID, blob.id), Marker())
        setOwned(sender, Keys.ownedBlob, blob.id)
        events.append(.blobRegistered(
            epoch: epoch, blobID: blobID, size: size, encodingType: encodingType, endEpoch: storage.endEpoch, deletable: deletable,
            objectID: blob.id))
    }

    func ownedBlob(_ id: ObjectID) throws(LedgerError) -> BlobRecord {
        guard let blob = try view.get(BlobRecord.self, Keys.blob(id)) else { throw LedgerError(.notFound, "no blob registration \(id)") }
        guard blob.owner == sender else { throw LedgerError(.notOwner, "blob registration \(id) belongs to \(blob.owner)") }
        return blob
    }

    /// The current committee as certificate signers, in member order.
    func committeeSigners() throws(LedgerError) -> [CertificateSigner] {
        var signers: [CertificateSigner] = []
        for member in system.committee.members {
            guard let pool = try view.get(StoragePool.self, Keys.pool(member.nodeID)) else {
                throw LedgerError(.notFound, "committee member \(member.nodeID) has no pool")
            }
            signers.append(CertificateSigner(publicKey: pool.publicKey, weight: member.weight))
        }
        return signers
    }

    /// Checks a certificate's epoch and signatures and returns its weight.
    func certificateWeight(_ certificate: CommitteeCertificate, messageEpoch: Epoch) throws(LedgerError) -> UInt64 {
        guard messageEpoch == epoch, system.committee.epoch == epoch else {
            throw LedgerError(.wrongEpoch, "the certificate is for epoch \(messageEpoch.rawValue), the current epoch is \(epoch.rawValue)")
        }
        let signers = try committeeSigners()
        do { return try certificate.verifiedWeight(committee: signers) } catch { throw LedgerError(.invalidCertificate, error.message) }
    }

    /// Certifies a blob with a quorum certificate of the current committee (PROTOCOL.md §3.6).
    mutating func certifyBlob(_ id: ObjectID, _ certificate: CommitteeCertificate) throws(LedgerError) {
        var blob = try ownedBlob(id)
        let message: ConfirmationMessage
        do { message = try ConfirmationMessage(serialized: certificate.serializedMessage) } catch {
            throw LedgerError(.invalidCertificate, error.message)
        }
        let weight = try certificateWeight(certificate, messageEpoch: message.epoch)
        guard BFT.isQuorum(weight: weight, totalWeight: UInt64(parameters.shardCount)) else {
            throw LedgerError(.insufficientWeight, "signers hold \(weight) of \(parameters.shardCount) shards; a quorum needs \(BFT.quorumWeight(totalWeight: UInt64(parameters.shardCount)))")
        }
        guard message.blobID == blob.blobID else {
            throw LedgerError(.invalidCertificate, "the certificate is for blob \(message.blobID), the registration for \(blob.blobID)")
        }
        guard blob.certifiedEpoch == nil else { throw LedgerError(.alreadyCertified, "blob registration \(id) is already certified") }
        guard epoch < blob.endEpoch else { throw LedgerError(.storageExpired, "the blob's storage ended at epoch \(blob.endEpoch.rawValue)") }
        switch message.persistence {
        case .permanent where blob.deletable:
            throw LedgerError(.persistenceMismatch, "the certificate is for a permanent blob; the registration is deletable")
        case .deletable where !blob.deletable:
            throw LedgerError(.persistenceMismatch, "the certificate is for a deletable blob; the registration is permanent")
        case .deletable(let object) where object != blob.id:
            throw LedgerError(.persistenceMismatch, "the certificate is for registration \(object), not \(blob.id)")
        default: break
        }
        blob.certifiedEpoch = epoch
        view.put(Keys.blob(id), blob)
        events.append(.blobCertified(epoch: epoch, blobID: blob.blobID, endEpoch: blob.endEpoch, deletable: blob.deletable, objectID: id, isExtension: false))
    }

    /// Extends a certified blob's storage by `epochs`, paid at the current storage price (§3.8).
    mutating func extendBlob(_ id: ObjectID, epochs: UInt32) throws(LedgerError) {
        try extend(try ownedBlob(id), epochs: epochs, fromShared: nil)
    }

    /// Extends the blob a shared blob wraps, paid from the shared blob's funds; anyone may.
    mutating func extendSharedBlob(_ shared: ObjectID, epochs: UInt32) throws(LedgerError) {
        guard let record = try view.get(SharedBlobRecord.self, Keys.shared(shared)) else { throw LedgerError(.notFound, "no shared blob \(shared)") }
        guard let blob = try view.get(BlobRecord.self, Keys.blob(record.blob)) else { throw LedgerError(.notFound, "shared blob \(shared) wraps no blob") }
        try extend(blob, epochs: epochs, fromShared: shared)
    }

    /// Shares an owned permanent blob object: it belongs to no one from then on.
    mutating func shareBlob(_ id: ObjectID, funds: FROST) throws(LedgerError) {
        var blob = try ownedBlob(id)
        guard !blob.deletable else { throw LedgerError(.invalidArgument, "only a permanent blob can be shared (a shared blob has no owner who could delete it)") }
        if funds > .zero { try debit(sender, funds) }
        let sharedID = newObjectID()
        clearOwned(sender, Keys.ownedBlob, id)
        blob.owner = SharedBlobRecord.owner(of: sharedID)
        blob.storage.owner = blob.owner
        view.put(Keys.blob(id), blob)
        view.put(Keys.shared(sharedID), SharedBlobRecord(id: sharedID, blob: id, funds: funds))
    }

    /// Adds the sender's WAL to a shared blob's funds.
    mutating func fundSharedBlob(_ shared: ObjectID, amount: FROST) throws(LedgerError) {
        guard amount > .zero else { throw LedgerError(.invalidArgument, "fund a shared blob with a positive amount") }
        guard var record = try view.get(SharedBlobRecord.self, Keys.shared(shared)) else { throw LedgerError(.notFound, "no shared blob \(shared)") }
        try debit(sender, amount)
        do { record.funds = try record.funds.adding(amount) } catch { throw LedgerError(error) }
        view.put(Keys.shared(shared), record)
    }

    private mutating func extend(_ original: BlobRecord, epochs: UInt32, fromShared shared: ObjectID?) throws(LedgerError) {
        var blob = original
        let id = blob.id
        guard let certified = blob.certifiedEpoch else { throw LedgerError(.notCertified, "only certified blobs can be extended") }
        guard epoch < blob.endEpoch else { throw LedgerError(.storageExpired, "the blob's storage ended at epoch \(blob.endEpoch.rawValue)") }
        // In 64 bits: an end epoch plus 2^32 - 1 epochs is a refusal, not an overflow.
        guard epochs > 0, UInt64(blob.endEpoch.rawValue) + UInt64(epochs) - UInt64(epoch.rawValue) <= UInt64(parameters.maxEpochsAhead) else {
            throw LedgerError(.tooManyEpochs, "storage can reach at most \(parameters.maxEpochsAhead) epochs ahead")
        }
        let newEnd = Epoch(blob.endEpoch.rawValue + epochs)
        try payForEpochs(size: blob.storage.size, from: blob.endEpoch, to: newEnd, fromShared: shared)
        blob.storage.endEpoch = newEnd
        view.put(Keys.blob(id), blob)
        events.append(.blobCertified(epoch: certified, blobID: blob.blobID, endEpoch: newEnd, deletable: blob.deletable, objectID: id, isExtension: true))
    }

    /// Deletes a deletable blob; its storage returns to the owner (§3.9).
    mutating func deleteBlob(_ id: ObjectID) throws(LedgerError) {
        let blob = try ownedBlob(id)
        guard blob.deletable else { throw LedgerError(.notDeletable, "blob registration \(id) is permanent") }
        guard epoch < blob.endEpoch else { throw LedgerError(.storageExpired, "the blob's storage ended at epoch \(blob.endEpoch.rawValue)") }
        view.delete(Keys.blob(id))
        view.delete(Keys.blobIndex(blob.blobID, id))
        view.delete(Keys.attribute(id))
        clearOwned(sender, Keys.ownedBlob, id)
        var storage = blob.storage
        storage.owner = sender
        view.put(Keys.storage(storage.id), storage)
        setOwned(sender, Keys.ownedStorage, storage.id)
        events.append(.blobDeleted(epoch: epoch, blobID: blob.blobID, endEpoch: blob.endEpoch, objectID: id, wasCertified: blob.certifiedEpoch != nil))
    }

    /// Gives an owned blob registration, with its storage, to another address.
    mutating func transferBlob(_ id: ObjectID, to recipient: Address) throws(LedgerError) {
        var blob = try ownedBlob(id)
        guard recipient != sender else { return }
        clearOwned(sender, Keys.ownedBlob, id)
        blob.owner = recipient
        blob.storage.owner = recipient
        view.put(Keys.blob(id), blob)
        setOwned(recipient, Keys.ownedBlob, id)
    }

    /// Sets keys of an owned blob object's attribute: an existing key takes the new value in its
    /// place, a new one is appended (Walrus's `insert_or_update_metadata_pair`).
    mutating func setBlobAttribute(_ id: ObjectID, _ pairs: [AttributePair]) throws(LedgerError) {
        _ = try ownedBlob(id)
        guard !pairs.isEmpty else { throw LedgerError(.invalidArgument, "set at least one attribute key") }
        var record = try view.get(BlobAttributeRecord.self, Keys.attribute(id)) ?? BlobAttributeRecord(pairs: [])
        for pair in pairs {
            guard !pair.key.isEmpty else { throw LedgerError(.invalidArgument, "an attribute key is not empty") }
            if let index = record.pairs.firstIndex(where: { $0.key == pair.key }) { record.pairs[index] = pair } else { record.pairs.append(pair) }
        }
        guard record.pairs.count <= AttributePair.perBlobMax else {
            throw LedgerError(.invalidArgument, "a blob object holds at most \(AttributePair.perBlobMax) attribute keys")
        }
        view.put(Keys.attribute(id), record)
    }

    /// Removes keys of an owned blob object's attribute; a key it does not hold is refused and
    /// nothing changes (Walrus aborts the same way).
    mutating func removeBlobAttributeFields(_ id: ObjectID, _ keys: [String]) throws(LedgerError) {
        _ = try ownedBlob(id)
        guard var record = try view.get(BlobAttributeRecord.self, Keys.attribute(id)) else {
            throw LedgerError(.notFound, "blob object \(id) has no attribute")
        }
        for key in keys {
            guard let index = record.pairs.firstIndex(where: { $0.key == key }) else {
                throw LedgerError(.notFound, "blob object \(id) has no attribute key '\(key.prefix(64))'")
            }
            record.pairs.remove(at: index)
        }
        view.put(Keys.attribute(id), record)
    }

    /// Removes the attribute of an owned blob object.
    mutating func removeBlobAttribute(_ id: ObjectID) throws(LedgerError) {
        _ = try ownedBlob(id)
        guard try view.get(BlobAttributeRecord.self, Keys.attribute(id)) != nil else {
            throw LedgerError(.notFound, "blob object \(id) has no attribute")
        }
        view.delete(Keys.attribute(id))
    }

    /// Marks a blob ID invalid with a certificate of at least one honest node's weight (§3.10).
    mutating func invalidateBlob(_ certificate: CommitteeCertificate) throws(LedgerError) {
        let message: InvalidBlobIDMessage
        do { message = try InvalidBlobIDMessage(serialized: certificate.serializedMessage) } catch {
            throw LedgerError(.invalidCertificate, error.message)
        }
        let weight = try certificateWeight(certificate, messageEpoch: message.epoch)
        guard BFT.isValidity(weight: weight, totalWeight: UInt64(parameters.shardCount)) else {
            throw LedgerError(.insufficientWeight, "signers hold \(weight) of \(parameters.shardCount) shards; invalidation needs \(BFT.validityWeight(totalWeight: UInt64(parameters.shardCount)))")
        }
        guard try view.get(Marker.self, Keys.invalid(message.blobID)) == nil else {
            throw LedgerError(.duplicate, "blob \(message.blobID) is already invalid")
        }
        view.put(Keys.invalid(message.blobID), Marker())
        events.append(.invalidBlobID(epoch: epoch, blobID: message.blobID))
    }
}
