import ChainTypes
import Ledger
import RedStuff
import Testing
import WalrusCore
import WalrusCrypto

@Suite struct StorageTests {
    @Test func reservingPaysEveryEpochAndUsesCapacity() throws {
        let h = try Harness()
        let price = try h.system().storagePrice
        let before = try h.balance(h.alice)
        let size: UInt64 = 3 * 1_048_576 + 1  // 4 units
        #expect(try h.run(h.alice, [.reserveSpace(size: size, epochs: 3)]).succeeded)
        #expect(try h.balance(h.alice) == FROST(before.rawValue - price.rawValue * 4 * 3))
        let system = try h.system()
        for e: UInt32 in 1...3 {
            #expect(system.accounting[Epoch(e)]?.usedCapacity == size)
            #expect(system.accounting[Epoch(e)]?.rewards == FROST(price.rawValue * 4))
        }
        let resources = try h.ledger.storageResources(ownedBy: h.alice.publicKey.address)
        #expect(resources.count == 1 && resources[0].startEpoch == Epoch(1) && resources[0].endEpoch == Epoch(4))
        // Limits: epochs ahead and capacity.
        #expect(try h.run(h.alice, [.reserveSpace(size: 10, epochs: 6)]).failureCode == "E_INVALID_EPOCHS_AHEAD")
        #expect(try h.run(h.alice, [.reserveSpace(size: 0, epochs: 1)]).failureCode == "INVALID_ARGUMENT")
        #expect(try h.run(h.alice, [.reserveSpace(size: system.totalCapacity, epochs: 1)]).failureCode == "E_STORAGE_EXCEEDED")
        #expect(try h.run(h.bob, [.reserveSpace(size: 1, epochs: 5)]).failureCode == "INSUFFICIENT_FUNDS")
    }

    @Test func splitFuseAndTransfer() throws {
        let h = try Harness()
        #expect(try h.run(h.alice, [.reserveSpace(size: 1000, epochs: 4)]).succeeded)
        let original = try h.ledger.storageResources(ownedBy: h.alice.publicKey.address)[0]
        #expect(try h.run(h.alice, [.splitStorageBySize(storage: original.id, size: 400)]).succeeded)
        var owned = try h.ledger.storageResources(ownedBy: h.alice.publicKey.address)
        #expect(owned.map(\.size).sorted() == [400, 600])
        let small = owned.first { $0.size == 400 }!
        #expect(try h.run(h.alice, [.splitStorageByEpoch(storage: small.id, epoch: Epoch(3))]).succeeded)
        owned = try h.ledger.storageResources(ownedBy: h.alice.publicKey.address)
        #expect(owned.count == 3)
        #expect(try h.run(h.alice, [.splitStorageByEpoch(storage: small.id, epoch: Epoch(9))]).failureCode == "INVALID_ARGUMENT")
        // Adjacent periods of one size fuse back.
        let later = owned.first { $0.startEpoch == Epoch(3) }!
        #expect(try h.run(h.alice, [.fuseStorage(first: small.id, second: later.id)]).succeeded)
        // Same period, sizes add.
        #expect(try h.run(h.alice, [.fuseStorage(first: original.id, second: small.id)]).succeeded)
        owned = try h.ledger.storageResources(ownedBy: h.alice.publicKey.address)
        #expect(owned.count == 1 && owned[0].size == 1000 && owned[0].endEpoch == Epoch(5))
        // Only the owner moves it.
        #expect(try h.run(h.bob, [.transferStorage(storage: original.id, to: h.bob.publicKey.address)]).failureCode == "NOT_OWNER")
        #expect(try h.run(h.alice, [.transferStorage(storage: original.id, to: h.bob.publicKey.address)]).succeeded)
        #expect(try h.ledger.storageResources(ownedBy: h.bob.publicKey.address).count == 1)
        #expect(try h.ledger.storageResources(ownedBy: h.alice.publicKey.address).isEmpty)
    }
}

@Suite struct BlobLifecycleTests {
    func registered(_ h: Harness, _ text: String, deletable: Bool = false) throws -> (ObjectID, BlobID) {
        let blob = try Harness.blob(text)
        let execution = try h.block([h.tx(h.alice, [.registerBlob(
            storage: .reserve(epochs: 2), blobID: blob.blobID, rootHash: blob.rootHash, size: blob.size, encodingType: 1, deletable: deletable)])])
        #expect(execution.results[0].succeeded, "\(execution.results[0])")
        return (execution.registeredObjectID!, blob.blobID)
    }

    func confirmation(_ h: Harness, _ blobID: BlobID, _ persistence: BlobPersistence = .permanent, epoch: UInt32 = 1) -> IntentMessage {
        ConfirmationMessage(epoch: Epoch(epoch), blobID: blobID, persistence: persistence).intentMessage
    }

    @Test func registerChargesTheWriteFeeAndEmitsTheEvent() throws {
        let h = try Harness()
        let blob = try Harness.blob("hello walrus")
        let system = try h.system()
        let encoded = try EncodingConfig(shardCount: 10).encodedBlobLength(forLength: blob.size)
        let units = (encoded + 1_048_575) / 1_048_576
        let before = try h.balance(h.alice)
        let execution = try h.block([h.tx(h.alice, [.registerBlob(
            storage: .reserve(epochs: 2), blobID: blob.blobID, rootHash: blob.rootHash, size: blob.size, encodingType: 1, deletable: false)])])
        #expect(execution.results[0].succeeded)
        #expect(try h.balance(h.alice) == FROST(before.rawValue - units * (2 * system.storagePrice.rawValue + system.writePrice.rawValue)))
        guard case let .blobRegistered(epoch, id, size, type, end, deletable, object)? = execution.events.first else {
            Issue.record("no BlobRegistered event")
            return
        }
        #expect(epoch == Epoch(1) && id == blob.blobID && size == blob.size && type == 1 && end == Epoch(3) && !deletable)
        #expect(try h.ledger.blobs(withBlobID: blob.blobID).map(\.id) == [object])
    }

    @Test func registerRejectsWhatTheReferenceRejects() throws {
        let h = try Harness()
        let blob = try Harness.blob("checked")
        func register(_ source: StorageSource, blobID: BlobID? = nil, size: UInt64? = nil, type: UInt8 = 1) throws -> String? {
            try h.run(h.alice, [.registerBlob(storage: source, blobID: blobID ?? blob.blobID, rootHash: blob.rootHash, size: size ?? blob.size, encodingType: type, deletable: false)]).failureCode
        }
        // A blob ID that does not derive from root hash, size and encoding type.
        let other = try Harness.blob("other")
        #expect(try register(.reserve(epochs: 1), blobID: other.blobID) == "E_INVALID_BLOB_ID")
        #expect(try register(.reserve(epochs: 1), size: blob.size + 1) == "E_INVALID_BLOB_ID")
        #expect(try register(.reserve(epochs: 1), type: 0) == "E_UNSUPPORTED_ENCODING")
        // Storage too small, or not covering the current epoch.
        #expect(try h.run(h.alice, [.reserveSpace(size: 1000, epochs: 3)]).succeeded)
        let tiny = try h.ledger.storageResources(ownedBy: h.alice.publicKey.address)[0]
        #expect(try register(.existing(tiny.id)) == "E_RESOURCE_SIZE")
        let encoded = try EncodingConfig(shardCount: 10).encodedBlobLength(forLength: blob.size)
        #expect(try h.run(h.alice, [.reserveSpace(size: encoded, epochs: 3)]).succeeded)
        let fitting = try h.ledger.storageResources(ownedBy: h.alice.publicKey.address).first { $0.size == encoded }!
        #expect(try h.run(h.alice, [.splitStorageByEpoch(storage: fitting.id, epoch: Epoch(2))]).succeeded)
        let future = try h.ledger.storageResources(ownedBy: h.alice.publicKey.address).first { $0.startEpoch == Epoch(2) }!
        #expect(try register(.existing(future.id)) == "E_RESOURCE_BOUNDS")
        // Someone else's storage.
        #expect(try h.run(h.bob, [.registerBlob(storage: .existing(fitting.id), blobID: blob.blobID, rootHash: blob.rootHash, size: blob.size, encodingType: 1, deletable: false)]).failureCode == "NOT_OWNER")
        // The storage the failed attempts used is still there.
        #expect(try register(.existing(fitting.id)) == nil)
    }

    @Test func certifyWithAQuorumCertificate() throws {
        let h = try Harness()
        let (object, blobID) = try registered(h, "certify me")
        let certificate = try h.certificate(confirmation(h, blobID), signers: h.signers(weight: 7))
        let execution = try h.block([h.tx(h.alice, [.certifyBlob(blob: object, certificate: certificate)])])
        #expect(execution.results[0].succeeded)
        #expect(execution.events == [.blobCertified(epoch: Epoch(1), blobID: blobID, endEpoch: Epoch(3), deletable: false, objectID: object, isExtension: false)])
        #expect(try h.ledger.blob(object)?.certifiedEpoch == Epoch(1))
        // Certifying twice fails.
        #expect(try h.run(h.alice, [.certifyBlob(blob: object, certificate: certificate)]).failureCode == "E_ALREADY_CERTIFIED")
    }

    /// Sizes and epoch counts at the top of their types are refusals with a code, never a trap:
    /// a reservation of 2^64 - 1 bytes (funded and unfunded senders) and an extension by
    /// 2^32 - 1 epochs.
    @Test func extremeSizesAndEpochsAreRefusedNotTrapped() throws {
        let h = try Harness()
        #expect(try h.run(h.alice, [.reserveSpace(size: UInt64.max, epochs: 1)]).failureCode == "E_STORAGE_EXCEEDED")
        #expect(try h.run(h.bob, [.reserveSpace(size: UInt64.max, epochs: 2)]).failureCode != nil)
        #expect(try h.run(h.alice, [.reserveSpace(size: UInt64.max - 1, epochs: UInt32.max)]).failureCode == "E_INVALID_EPOCHS_AHEAD")
        let (object, blobID) = try registered(h, "extend me far")
        let certificate = try h.certificate(confirmation(h, blobID), signers: h.signers(weight: 7))
        #expect(try h.run(h.alice, [.certifyBlob(blob: object, certificate: certificate)]).succeeded)
        #expect(try h.run(h.alice, [.extendBlob(blob: object, epochs: UInt32.max)]).failureCode == "E_INVALID_EPOCHS_AHEAD")
        #expect(try h.run(h.alice, [.extendBlob(blob: object, epochs: 1)]).succeeded)
    }

    @Test func certificatesThatMustFail() throws {
        let h = try Harness()
        let (object, blobID) = try registered(h, "not so fast")
        func certify(_ certificate: CommitteeCertificate) throws -> String? {
            try h.run(h.alice, [.certifyBlob(blob: object, certificate: certificate)]).failureCode
        }
        // Too little weight: members holding 6 of 10 shards.
        let six = try h.signers(weight: 5)
        #expect(try certify(h.certificate(confirmation(h, blobID), signers: six)) == "E_NOT_ENOUGH_WEIGHT")
        // Wrong epoch in the message.
        #expect(try certify(h.certificate(confirmation(h, blobID, epoch: 2), signers: [0, 1, 2, 3])) == "E_WRONG_EPOCH")
        // A signer bit beyond the committee.
        let message = confirmation(h, blobID).serialized
        let good = try h.certificate(confirmation(h, blobID), signers: [0, 1, 2, 3])
        let beyond = CommitteeCertificate(signersBitmap: [0b0011_1111], serializedMessage: message, signatures: good.signatures + good.signatures.prefix(2))
        #expect(try certify(beyond) == "E_INVALID_CERTIFICATE")
        // A bad signature.
        var signatures = good.signatures
        signatures[1] = h.alice.sign(message)
        #expect(try certify(CommitteeCertificate(signersBitmap: good.signersBitmap, serializedMessage: message, signatures: signatures)) == "E_INVALID_CERTIFICATE")
        // Another blob, another persistence, another message type.
        let other = try Harness.blob("another")
        #expect(try certify(h.certificate(confirmation(h, other.blobID), signers: [0, 1, 2, 3])) == "E_INVALID_CERTIFICATE")
        #expect(try certify(h.certificate(confirmation(h, blobID, .deletable(object)), signers: [0, 1, 2, 3])) == "E_INVALID_PERSISTENCE")
        #expect(try certify(h.certificate(InvalidBlobIDMessage(epoch: Epoch(1), blobID: blobID).intentMessage, signers: [0, 1, 2, 3])) == "E_INVALID_CERTIFICATE")
        // Only the owner certifies.
        #expect(try h.run(h.bob, [.certifyBlob(blob: object, certificate: good)]).failureCode == "NOT_OWNER")
        #expect(try h.ledger.blob(object)?.certifiedEpoch == nil)
        #expect(try certify(good) == nil)
    }

    @Test func aTransferredBlobBelongsToItsNewOwnerOnly() throws {
        let h = try Harness()
        let (blob, blobID) = try registered(h, "send me", deletable: true)
        let alice = h.alice.publicKey.address, bob = h.bob.publicKey.address
        #expect(try h.run(h.bob, [.transferBlob(blob: blob, to: bob)]).failureCode == "NOT_OWNER")
        #expect(try h.run(h.alice, [.transferBlob(blob: ObjectID(unchecked: [UInt8](repeating: 7, count: 32)), to: bob)]).failureCode == "NOT_FOUND")
        let certificate = try h.certificate(confirmation(h, blobID, .deletable(blob)), signers: [0, 1, 2, 3])
        #expect(try h.run(h.alice, [.certifyBlob(blob: blob, certificate: certificate), .transferBlob(blob: blob, to: bob)]).succeeded)
        #expect(try h.ledger.blobs(ownedBy: alice).isEmpty)
        #expect(try h.ledger.blobs(ownedBy: bob).map(\.id) == [blob])
        let record = try #require(try h.ledger.blob(blob))
        #expect(record.owner == bob && record.storage.owner == bob && record.certifiedEpoch == Epoch(1))
        // The new owner extends (paying with WAL of its own) and deletes it; the old one can do neither.
        #expect(try h.run(h.alice, [.transfer(to: bob, amount: FROST(try h.balance(h.alice).rawValue / 2))]).succeeded)
        #expect(try h.run(h.alice, [.extendBlob(blob: blob, epochs: 1)]).failureCode == "NOT_OWNER")
        #expect(try h.run(h.alice, [.deleteBlob(blob: blob)]).failureCode == "NOT_OWNER")
        #expect(try h.run(h.bob, [.extendBlob(blob: blob, epochs: 1)]).succeeded)
        #expect(try h.run(h.bob, [.deleteBlob(blob: blob)]).succeeded)
        #expect(try h.ledger.storageResources(ownedBy: bob).count == 1)
    }

    @Test func attributesAreTheOwnersToSetAndRemove() throws {
        let h = try Harness()
        let (blob, _) = try registered(h, "with attributes", deletable: true)
        let pair = { (k: String, v: String) in AttributePair(key: k, value: v) }
        #expect(try h.run(h.bob, [.setBlobAttribute(blob: blob, pairs: [pair("content-type", "text/html")])]).failureCode == "NOT_OWNER")
        #expect(try h.run(h.alice, [.setBlobAttribute(blob: blob, pairs: [])]).failureCode == "INVALID_ARGUMENT")
        #expect(try h.run(h.alice, [.setBlobAttribute(blob: blob, pairs: [pair("", "x")])]).failureCode == "INVALID_ARGUMENT")
        #expect(try h.run(h.alice, [.removeBlobAttribute(blob: blob)]).failureCode == "NOT_FOUND")
        #expect(try h.run(h.alice, [.setBlobAttribute(blob: blob, pairs: [pair("content-type", "text/plain"), pair("x-a", "1")])]).succeeded)
        // A key set again keeps its place and takes the new value; a new key is appended.
        #expect(try h.run(h.alice, [.setBlobAttribute(blob: blob, pairs: [pair("content-type", "text/html"), pair("x-b", "2")])]).succeeded)
        #expect(try h.ledger.attribute(blob)?.pairs == [pair("content-type", "text/html"), pair("x-a", "1"), pair("x-b", "2")])
        // Removing a key it does not hold changes nothing.
        #expect(try h.run(h.alice, [.removeBlobAttributeFields(blob: blob, keys: ["x-a", "nope"])]).failureCode == "NOT_FOUND")
        #expect(try h.ledger.attribute(blob)?.pairs.count == 3)
        #expect(try h.run(h.alice, [.removeBlobAttributeFields(blob: blob, keys: ["x-a"])]).succeeded)
        #expect(try h.ledger.attribute(blob)?.pairs.map(\.key) == ["content-type", "x-b"])
        // At most 128 keys on one object.
        let many = (0..<64).map { pair("k\($0)", "v") }, more = (64..<128).map { pair("k\($0)", "v") }
        #expect(try h.run(h.alice, [.setBlobAttribute(blob: blob, pairs: many)]).succeeded)
        #expect(try h.run(h.alice, [.setBlobAttribute(blob: blob, pairs: more)]).failureCode == "INVALID_ARGUMENT")
        #expect(try h.run(h.alice, [.removeBlobAttribute(blob: blob)]).succeeded)
        #expect(try h.ledger.attribute(blob) == nil)
        // Deleting the blob object deletes its attribute.
        #expect(try h.run(h.alice, [.setBlobAttribute(blob: blob, pairs: [pair("a", "b")]), .deleteBlob(blob: blob)]).succeeded)
        #expect(try h.ledger.attribute(blob) == nil)
    }

    @Test func aSharedBlobIsExtendedByAnyoneFromItsFunds() throws {
        let h = try Harness()
        let (deletable, _) = try registered(h, "not shareable", deletable: true)
        #expect(try h.run(h.alice, [.shareBlob(blob: deletable, funds: .zero)]).failureCode == "INVALID_ARGUMENT")
        let (blob, blobID) = try registered(h, "shared with everyone")
        #expect(try h.run(h.bob, [.shareBlob(blob: blob, funds: .zero)]).failureCode == "NOT_OWNER")
        let certificate = try h.certificate(confirmation(h, blobID), signers: [0, 1, 2, 3])
        #expect(try h.run(h.alice, [.certifyBlob(blob: blob, certificate: certificate)]).succeeded)
        let before = try h.balance(h.alice)
        #expect(try h.run(h.alice, [.shareBlob(blob: blob, funds: FROST(1_000_000))]).succeeded)
        let record = try #require(try h.ledger.blob(blob))
        let shared = ObjectID(unchecked: record.owner.bytes)
        #expect(try h.ledger.sharedBlob(shared) == SharedBlobRecord(id: shared, blob: blob, funds: FROST(1_000_000)))
        #expect(try h.balance(h.alice).rawValue < before.rawValue - 1_000_000 + 1, "the funds came from the sharer")
        #expect(try h.ledger.blobs(ownedBy: h.alice.publicKey.address).allSatisfy { $0.id != blob }, "no one owns it now")
        // Its former owner can no longer extend or transfer it as an owned object.
        #expect(try h.run(h.alice, [.extendBlob(blob: blob, epochs: 1)]).failureCode == "NOT_OWNER")
        #expect(try h.run(h.alice, [.transferBlob(blob: blob, to: h.bob.publicKey.address)]).failureCode == "NOT_OWNER")
        // Bob funds it and extends it; the extension is paid from the funds, not by Bob.
        #expect(try h.run(h.alice, [.transfer(to: h.bob.publicKey.address, amount: FROST(try h.balance(h.alice).rawValue / 2))]).succeeded)
        #expect(try h.run(h.bob, [.fundSharedBlob(shared: shared, amount: FROST(50_000_000))]).succeeded)
        #expect(try h.run(h.bob, [.fundSharedBlob(shared: shared, amount: .zero)]).failureCode == "INVALID_ARGUMENT")
        let funds = try #require(try h.ledger.sharedBlob(shared)).funds
        let bobBefore = try h.balance(h.bob)
        let end = record.endEpoch
        #expect(try h.run(h.bob, [.extendSharedBlob(shared: shared, epochs: 1)]).succeeded)
        #expect(try h.ledger.blob(blob)?.endEpoch == Epoch(end.rawValue + 1))
        #expect(try #require(try h.ledger.sharedBlob(shared)).funds < funds)
        #expect(try h.balance(h.bob).rawValue >= bobBefore.rawValue - 100_000, "Bob paid the transaction's fee only")
        // Funds that do not cover an extension refuse it and change nothing.
        let poor = try registered(h, "poorly funded")
        #expect(try h.run(h.alice, [.certifyBlob(blob: poor.0, certificate: try h.certificate(confirmation(h, poor.1), signers: [0, 1, 2, 3])), .shareBlob(blob: poor.0, funds: FROST(1))]).succeeded)
        let poorShared = ObjectID(unchecked: try #require(try h.ledger.blob(poor.0)).owner.bytes)
        #expect(try h.run(h.bob, [.extendSharedBlob(shared: poorShared, epochs: 1)]).failureCode == "INSUFFICIENT_FUNDS")
        #expect(try h.ledger.sharedBlob(poorShared)?.funds == FROST(1))
        #expect(try h.run(h.bob, [.extendSharedBlob(shared: blob, epochs: 1)]).failureCode == "NOT_FOUND")
    }

    @Test func extendDeleteAndInvalidate() throws {
        let h = try Harness()
        let (permanent, permanentID) = try registered(h, "keep me")
        #expect(try h.run(h.alice, [.extendBlob(blob: permanent, epochs: 1)]).failureCode == "E_NOT_CERTIFIED")
        let certificate = try h.certificate(confirmation(h, permanentID), signers: [0, 1, 2, 3])
        #expect(try h.run(h.alice, [.certifyBlob(blob: permanent, certificate: certificate)]).succeeded)
        let extended = try h.block([h.tx(h.alice, [.extendBlob(blob: permanent, epochs: 2)])])
        #expect(extended.events == [.blobCertified(epoch: Epoch(1), blobID: permanentID, endEpoch: Epoch(5), deletable: false, objectID: permanent, isExtension: true)])
        #expect(try h.run(h.alice, [.extendBlob(blob: permanent, epochs: 3)]).failureCode == "E_INVALID_EPOCHS_AHEAD")
        #expect(try h.run(h.alice, [.deleteBlob(blob: permanent)]).failureCode == "E_BLOB_NOT_DELETABLE")

        let (deletable, deletableID) = try registered(h, "drop me", deletable: true)
        let deleted = try h.block([h.tx(h.alice, [.deleteBlob(blob: deletable)])])
        #expect(deleted.events == [.blobDeleted(epoch: Epoch(1), blobID: deletableID, endEpoch: Epoch(3), objectID: deletable, wasCertified: false)])
        #expect(try h.ledger.blob(deletable) == nil)
        #expect(try h.ledger.storageResources(ownedBy: h.alice.publicKey.address).count == 1)

        // Invalidation needs a third of the weight (4 of 10 shards), once.
        let invalid = InvalidBlobIDMessage(epoch: Epoch(1), blobID: permanentID).intentMessage
        let weak = try h.members().firstIndex { $0.member.weight == 2 }!
        #expect(try h.run(h.bob, [.invalidateBlob(certificate: h.certificate(invalid, signers: [weak]))]).failureCode == "E_NOT_ENOUGH_WEIGHT")
        let enough = try h.block([h.tx(h.bob, [.invalidateBlob(certificate: h.certificate(invalid, signers: h.signers(weight: 4)))])])
        #expect(enough.events == [.invalidBlobID(epoch: Epoch(1), blobID: permanentID)])
        #expect(try h.ledger.isInvalid(permanentID))
        #expect(try h.run(h.bob, [.invalidateBlob(certificate: h.certificate(invalid, signers: [0, 1, 2, 3]))]).failureCode == "DUPLICATE")
    }
}
