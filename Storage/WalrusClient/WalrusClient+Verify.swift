import ChainClient
import ChainTypes
import LightClient
public import WalrusCore
import WalrusCrypto

/// What `verify` proved about a blob, from the pinned genesis alone.
public struct AvailabilityReport: Sendable, Equatable {
    public let blobID: BlobID
    public let objectID: ObjectID
    public let deletable: Bool
    /// The block holding the certification, and the voting power of its precommits.
    public let height: UInt64
    public let commitPower: UInt64
    public let totalPower: UInt64
    public let certifiedEpoch: Epoch
    public let endEpoch: Epoch
    /// The shard weight of the certificate's signers, of all shards.
    public let signersWeight: UInt64
    public let shardCount: UInt64
    /// The latest committed block this client verified, and its epoch.
    public let latestHeight: UInt64
    public let latestEpoch: Epoch

    /// Whether the certified period still runs at the latest verified block.
    public var isAvailable: Bool { latestEpoch < endEpoch }
}

extension WalrusClient {
    /// Verifies, trusting nothing but the genesis hash the config pins, that `blobID` was
    /// certified: the genesis the chain serves must hash to the pinned hash; the block holding a
    /// `BlobCertified` event for the blob must be committed by more than two thirds of the power of
    /// the validator set of its height, trusted from genesis through each verified hand-over; the event and the certifying transaction must be in that block by their Merkle
    /// paths; and the transaction's confirmation certificate must be signed by storage nodes
    /// holding a quorum of shards of the committee the block commits to, for the event's epoch.
    public func verify(_ blobID: BlobID) async throws(ClientError) -> AvailabilityReport {
        let genesis = try await chainCall { () async throws(ChainClientError) in try await chain.genesis(pinnedHash: pinnedGenesisHash) }
        let validators: ValidatorSet
        do { validators = try genesis.validatorSet() } catch { throw ClientError(.verification, error.message) }
        let status = try await chainCall { () async throws(ChainClientError) in try await chain.registrations(blobID) }
        // Permanent registrations first (only their owner can't end them early), then the longest.
        let certified = status.registrations.filter { $0.certifiedEpoch != nil }
            .sorted { ($0.deletable ? 1 : 0, $1.endEpoch.rawValue) < ($1.deletable ? 1 : 0, $0.endEpoch.rawValue) }
        guard let registration = certified.first else {
            throw ClientError(.notFound, "the chain has no certified registration of \(blobID); store it first (`walrus store`)")
        }
        let proof = try await chainCall { () async throws(ChainClientError) in try await chain.certificationProof(registration.objectID) }
        // The sets trusted up to the latest block: genesis's, then each one a verified hand-over
        // named, so a certification many set changes after genesis still verifies.
        let latestHeight = try await chainCall { () async throws(ChainClientError) in try await chain.health() }.height
        let history = try await chainCall { () async throws(ChainClientError) in
            try await chain.validatorHistory(chainID: genesis.chainID, genesisValidators: validators, through: max(latestHeight, proof.header.height))
        }
        let certifyingSet = history.set(forHeight: proof.header.height)
        let light = LightClient(chainID: genesis.chainID, genesisValidators: certifyingSet)
        do {
            try light.verifyInclusion(proof)
            let (epoch, endEpoch, deletable) = try Self.certification(in: proof.event, blobID: blobID, objectID: registration.objectID)
            let certificate = try Self.certificate(in: proof.transaction, objectID: registration.objectID)
            let weight = try LightClient.verifyCertificate(
                certificate, blobID: blobID, persistence: deletable ? .deletable(registration.objectID) : .permanent, epoch: epoch,
                committee: proof.committee)
            let latest = try await latestVerifiedHeader(history, height: latestHeight)
            let power = proof.commit.precommits.reduce(UInt64(0)) { $0 + certifyingSet[Int($1.validator)].power }
            return AvailabilityReport(
                blobID: blobID, objectID: registration.objectID, deletable: deletable, height: proof.header.height, commitPower: power,
                totalPower: certifyingSet.totalPower, certifiedEpoch: epoch, endEpoch: endEpoch, signersWeight: weight,
                shardCount: proof.committee.shardCount, latestHeight: latest.height, latestEpoch: latest.epoch)
        } catch let error as LightClientError {
            throw ClientError(.verification, "\(error.message); the chain's answer for \(blobID) does not prove its certification")
        } catch let error as ClientError { throw error } catch { throw ClientError(.verification, "\(error)") }
    }

    /// The certification event's epoch, end epoch and persistence, read from verified bytes.
    static func certification(in bytes: [UInt8], blobID: BlobID, objectID: ObjectID) throws(LightClientError) -> (Epoch, Epoch, Bool) {
        guard let event = try? LedgerEvent.decode(bcs: bytes),
            case let .blobCertified(epoch, eventBlobID, endEpoch, deletable, eventObjectID, isExtension) = event
        else { throw LightClientError(.notIncluded, "the proven event is not a BlobCertified event") }
        guard eventBlobID == blobID, eventObjectID == objectID, !isExtension else {
            throw LightClientError(.notIncluded, "the proven event certifies another blob or registration, or is an extension")
        }
        return (epoch, endEpoch, deletable)
    }

    /// The certificate of the transaction's `certifyBlob` for `objectID`, read from verified bytes.
    static func certificate(in bytes: [UInt8], objectID: ObjectID) throws(LightClientError) -> CommitteeCertificate {
        guard let tx = try? SignedTransaction.decode(bcs: bytes) else {
            throw LightClientError(.notIncluded, "the proven transaction does not decode")
        }
        for case let .certifyBlob(blob, certificate) in tx.transaction.operations where blob == objectID { return certificate }
        throw LightClientError(.notIncluded, "the proven transaction does not certify registration \(objectID)")
    }

    /// The latest block, checked by its commit and the set trusted for it.
    private func latestVerifiedHeader(_ history: ValidatorHistory, height: UInt64) async throws -> BlockHeader {
        let block = try await chainCall { () async throws(ChainClientError) in try await chain.block(height) }
        let commit = try await chainCall { () async throws(ChainClientError) in try await chain.commit(height) }
        try history.verify(block.header, commit: commit)
        return block.header
    }
}
