public import ChainTypes
import LightClient
import Synchronization
import WalrusCore

extension ChainClient {
    /// Block `height`, checked like a light client against its commit and the set trusted for its
    /// height: `validators` (the genesis set) or a set it handed over to, directly or through
    /// later sets (`validatorHistory`).
    public func verifiedBlock(_ height: UInt64, chainID: String, validators: ValidatorSet) async throws(ChainClientError) -> Block {
        let block = try await block(height)
        let commit = try await commit(height)
        var history = trustedSets.withLock { $0[chainID + ":" + Hex.encode(validators.hash)] }
            ?? ValidatorHistory(chainID: chainID, genesisValidators: validators)
        if history.set(forHeight: height).hash != block.header.validatorsHash {
            history = try await validatorHistory(chainID: chainID, genesisValidators: validators, through: height)
        }
        do { try history.verify(block.header, commit: commit) } catch {
            throw ChainClientError(.verification, error.message)
        }
        return block
    }

    /// The current committee, checked like a light client: a block at or after the answer, whose
    /// commit holds precommits of more than two thirds of `validators`' power, must commit to
    /// exactly this committee (its header's epoch and committee hash). An RPC that lies about the
    /// epoch, the members, their keys or their shards is refused with `.verification`, so a node
    /// never garbage-collects, signs or serves on the word of an unverified answer.
    public func verifiedCommittee(chainID: String, validators: ValidatorSet) async throws(ChainClientError) -> CommitteeInfo {
        var lastError = ChainClientError(.verification, "the committee could not be checked")
        for _ in 0..<3 {
            let committee = try await committee()
            let height = try await health().height
            guard height > 0 else { throw ChainClientError(.unavailable, "the chain has no committed block yet") }
            let block = try await verifiedBlock(height, chainID: chainID, validators: validators)
            guard block.header.epoch == committee.epoch else {
                // The epoch moved between the two answers (or the RPC lies about it): ask again.
                lastError = ChainClientError(
                    .verification, "the RPC reports epoch \(committee.epoch.rawValue) but block \(height) is in epoch \(block.header.epoch.rawValue)")
                continue
            }
            let commitment = CommitteeCommitment(
                epoch: committee.epoch,
                members: committee.members.map { CommitteeCommitment.Member(nodeID: $0.nodeID, publicKey: $0.publicKey, shards: $0.shards, networkPublicKey: $0.networkPublicKey?.bytes ?? []) })
            guard commitment.hash == block.header.committeeHash else {
                throw ChainClientError(
                    .verification, "the committee the RPC served for epoch \(committee.epoch.rawValue) is not the one block \(height) commits to")
            }
            return committee
        }
        throw lastError
    }
}
