public import ChainTypes
public import WalrusCore
public import WalrusCrypto

/// A light client of the coordination chain: it trusts the genesis validator set and nothing a
/// server says until a commit of that set proves it.
///
/// Hand-overs: a header names the set that commits it (`validatorsHash`) and the set that commits
/// the next height (`nextValidatorsHash`). The client accepts a header only when its validators
/// hash is the trusted set's, and moves to a new set only through `handOver(to:by:)`, which needs a
/// verified header whose next-validators hash is the new set's.
public struct LightClient: Sendable {
    public let chainID: String
    public private(set) var validators: ValidatorSet

    public init(chainID: String, genesisValidators: ValidatorSet) {
        self.chainID = chainID
        validators = genesisValidators
    }

    /// Checks that `commit` decides `header` with precommits, each validly signed, of validators
    /// holding more than two thirds of the trusted set's power.
    public func verify(_ header: BlockHeader, commit: Commit) throws(LightClientError) {
        guard header.chainID == chainID else {
            throw LightClientError(.untrustedHeader, "block \(header.height) is of chain '\(header.chainID)', not '\(chainID)'")
        }
        guard header.validatorsHash == validators.hash else {
            throw LightClientError(.untrustedHeader, "block \(header.height) names a validator set this client was never handed over to")
        }
        guard commit.height == header.height, commit.valueID == ValueID(header.hash) else {
            throw LightClientError(.invalidCommit, "the commit is for another block than \(header.height)")
        }
        guard commit.hasQuorum(in: validators) else {
            throw LightClientError(.invalidCommit, "the commit of block \(header.height) has precommits of at most two thirds of the voting power")
        }
        for vote in commit.precommits {
            guard let key = try? Schnorr.PublicKey(bytes: validators[Int(vote.validator)].publicKey),
                let signature = try? Schnorr.Signature(bytes: vote.signature),
                key.isValidSignature(signature, for: vote.signBytes(chainID: chainID))
            else {
                throw LightClientError(.invalidCommit, "the precommit of validator \(vote.validator) on block \(header.height) is not validly signed")
            }
        }
    }

    /// Moves trust to `next` when a verified header hands over to it.
    public mutating func handOver(to next: ValidatorSet, by header: BlockHeader, commit: Commit) throws(LightClientError) {
        try verify(header, commit: commit)
        guard header.nextValidatorsHash == next.hash else {
            throw LightClientError(.untrustedHeader, "block \(header.height) does not hand over to that validator set")
        }
        validators = next
    }

    /// Checks that `item` is leaf `index` of the Merkle tree whose root is `root`.
    public static func verifyInclusion(
        _ item: [UInt8], index: UInt32, path: [[UInt8]], root: [UInt8], what: String
    ) throws(LightClientError) {
        guard path.count <= 64, path.allSatisfy({ $0.count == 32 }),
            ChainMerkle.verify(item: item, index: Int(index), path: path, root: root)
        else { throw LightClientError(.notIncluded, "\(what) is not at index \(index) under the block's root") }
    }

    /// Checks that `committee` is the one `header` commits to.
    public static func verifyCommittee(_ committee: CommitteeCommitment, in header: BlockHeader) throws(LightClientError) {
        guard committee.hash == header.committeeHash else {
            throw LightClientError(.wrongCommittee, "the committee does not match the committee hash of block \(header.height)")
        }
        guard committee.epoch == header.epoch else {
            throw LightClientError(.wrongCommittee, "the committee is of \(committee.epoch), block \(header.height) of \(header.epoch)")
        }
    }

    /// Checks a confirmation certificate for `blobID` with `persistence` against the committee of
    /// `epoch`: the signed message must be that confirmation for that epoch, every signature must
    /// verify under its member's key, and the signers must hold a quorum of shards (3w ≥ 2n + 1).
    /// Returns the signers' weight.
    @discardableResult
    public static func verifyCertificate(
        _ certificate: CommitteeCertificate, blobID: BlobID, persistence: BlobPersistence, epoch: Epoch,
        committee: CommitteeCommitment
    ) throws(LightClientError) -> UInt64 {
        guard committee.epoch == epoch else {
            throw LightClientError(.wrongCommittee, "the committee is of \(committee.epoch), the certification of \(epoch)")
        }
        let message: ConfirmationMessage
        do { message = try ConfirmationMessage(serialized: certificate.serializedMessage) } catch {
            throw LightClientError(.invalidCertificate, "the certified message is not a storage confirmation: \(error.message)")
        }
        guard message.epoch == epoch else {
            throw LightClientError(.invalidCertificate, "the certificate was signed for \(message.epoch), not the certification \(epoch)")
        }
        guard message.blobID == blobID, message.persistence == persistence else {
            throw LightClientError(.invalidCertificate, "the certificate confirms another blob or persistence than \(blobID)")
        }
        let weight: UInt64
        do { weight = try certificate.verifiedWeight(committee: committee.signers) } catch {
            throw LightClientError(.invalidCertificate, error.message)
        }
        guard BFT.isQuorum(weight: weight, totalWeight: committee.shardCount) else {
            throw LightClientError(
                .invalidCertificate, "the signers hold \(weight) of \(committee.shardCount) shards, below a quorum of \(BFT.quorumWeight(totalWeight: committee.shardCount))")
        }
        return weight
    }
}

/// A validator set hand-over as validators serve it: block `height` (whose header's next-validators
/// hash is `validators`' hash) ends the old set; `validators` commit from `height + 1` on.
public struct HandOver: Hashable, Sendable, BCSCodable {
    public let height: UInt64
    public let validators: [Validator]

    public init(height: UInt64, validators: [Validator]) {
        self.height = height
        self.validators = validators
    }

    public func encode(to w: inout BCSWriter) {
        w.write(height)
        w.writeSequence(validators)
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        height = try r.readU64()
        validators = try r.readSequence(of: Validator.self, max: 1024, minElementBytes: 41)
        try ValidatorSet.checkPowers(validators)
    }
}

/// The validator sets a light client trusts, each from the height it took over: genesis's from
/// height 1, and each later one only through a hand-over header that the set before it committed.
/// Headers are checked against the set of their own height, so a certificate from many set
/// changes ago still verifies.
public struct ValidatorHistory: Sendable {
    public let chainID: String
    public private(set) var entries: [(fromHeight: UInt64, set: ValidatorSet)]

    public init(chainID: String, genesisValidators: ValidatorSet) {
        self.chainID = chainID
        entries = [(1, genesisValidators)]
    }

    /// The trusted set of `height`.
    public func set(forHeight height: UInt64) -> ValidatorSet {
        entries.last { $0.fromHeight <= height }?.set ?? entries[0].set
    }

    /// The height from which the latest trusted set commits.
    public var latestFrom: UInt64 { entries.last?.fromHeight ?? 1 }

    /// Checks `header` and its commit against the trusted set of its height.
    public func verify(_ header: BlockHeader, commit: Commit) throws(LightClientError) {
        try LightClient(chainID: chainID, genesisValidators: set(forHeight: header.height)).verify(header, commit: commit)
    }

    /// Trusts `handOver.validators` from `header.height + 1` on: `header` must be block
    /// `handOver.height`, after the latest hand-over, committed by the set trusted for it, and
    /// name the new set as its next validators.
    public mutating func apply(_ handOver: HandOver, header: BlockHeader, commit: Commit) throws(LightClientError) {
        guard header.height == handOver.height, handOver.height >= latestFrom else {
            throw LightClientError(.untrustedHeader, "the hand-over at block \(handOver.height) is not after the latest trusted one (from \(latestFrom))")
        }
        let next = ValidatorSet(handOver.validators)
        var light = LightClient(chainID: chainID, genesisValidators: set(forHeight: header.height))
        try light.handOver(to: next, by: header, commit: commit)
        entries.append((header.height + 1, next))
    }
}

