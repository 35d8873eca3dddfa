import ChainTypes
import LightClient
import Testing
import WalrusCore
import WalrusCrypto

/// A small chain built in memory: four validators commit one block that holds a certification
/// event and its transaction; three storage nodes with 3, 3 and 4 shards sign the certificate.
struct Fixture {
    let chainID = "light-test"
    let validatorKeys = (0..<4).map { _ in Schnorr.PrivateKey.generate() }
    let nodeKeys = (0..<3).map { _ in Schnorr.PrivateKey.generate() }
    let blobID = BlobID(unchecked: (0..<32).map { UInt8($0) })
    let epoch = Epoch(3)

    var validators: ValidatorSet {
        ValidatorSet(validatorKeys.enumerated().map { Validator(publicKey: $1.publicKey.bytes, power: 10, address: "127.0.0.1:\(26600 + $0)") })
    }

    var committee: CommitteeCommitment {
        let shards: [[UInt16]] = [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
        return CommitteeCommitment(
            epoch: epoch,
            members: nodeKeys.enumerated().map { i, key in
                CommitteeCommitment.Member(nodeID: NodeID(unchecked: [UInt8](repeating: UInt8(i + 1), count: 32)), publicKey: key.publicKey, shards: shards[i].map { ShardIndex($0) })
            })
    }

    func confirmation(epoch: Epoch? = nil) -> [UInt8] {
        ConfirmationMessage(epoch: epoch ?? self.epoch, blobID: blobID, persistence: .permanent).intentMessage.serialized
    }

    /// A certificate signed by `signers` (member indices) over `message`.
    func certificate(signers: [Int], message: [UInt8]? = nil, keys: [Schnorr.PrivateKey]? = nil) -> CommitteeCertificate {
        let message = message ?? confirmation()
        let keys = keys ?? nodeKeys
        return CommitteeCertificate(message: message, signatures: signers.map { ($0, keys[$0].sign(message)) }, memberCount: 3)
    }

    let events: [[UInt8]] = [[1, 2, 3], Array("BlobCertified".utf8), [9]]
    let transactions: [[UInt8]] = [[7, 7], Array("certify".utf8)]

    func header(validatorsHash: [UInt8]? = nil, nextValidatorsHash: [UInt8]? = nil, committeeHash: [UInt8]? = nil) -> BlockHeader {
        BlockHeader(
            chainID: chainID, height: 42, timeMs: 1_000, previousHash: [UInt8](repeating: 0, count: 32), proposer: 0, epoch: epoch,
            transactionsRoot: ChainMerkle.root(transactions), eventsRoot: ChainMerkle.root(events), resultsHash: [UInt8](repeating: 0, count: 32),
            validatorsHash: validatorsHash ?? validators.hash, nextValidatorsHash: nextValidatorsHash ?? validators.hash,
            committeeHash: committeeHash ?? committee.hash)
    }

    /// A commit of `header` with precommits of validators `signers`.
    func commit(_ header: BlockHeader, signers: [Int] = [0, 1, 2], keys: [Schnorr.PrivateKey]? = nil) -> Commit {
        let keys = keys ?? validatorKeys
        let votes = signers.map { i -> Vote in
            var vote = Vote(kind: .precommit, height: header.height, round: 0, valueID: ValueID(header.hash), validator: UInt16(i))
            vote.signature = keys[i].sign(vote.signBytes(chainID: chainID)).bytes
            return vote
        }
        return Commit(height: header.height, round: 0, valueID: ValueID(header.hash), precommits: votes)
    }

    func proof(header: BlockHeader? = nil, commit: Commit? = nil, event: [UInt8]? = nil, committee: CommitteeCommitment? = nil) -> CertificationProof {
        let header = header ?? self.header()
        return CertificationProof(
            header: header, commit: commit ?? self.commit(header), eventIndex: 1, event: event ?? events[1],
            eventPath: ChainMerkle.proof(events, index: 1), transactionIndex: 1, transaction: transactions[1],
            transactionPath: ChainMerkle.proof(transactions, index: 1), committee: committee ?? self.committee)
    }

    var client: LightClient { LightClient(chainID: chainID, genesisValidators: validators) }
}

@Suite struct LightClientTests {
    let f = Fixture()

    @Test func aCommittedCertificationVerifies() throws {
        let proof = f.proof()
        try f.client.verifyInclusion(proof)
        let weight = try LightClient.verifyCertificate(f.certificate(signers: [0, 2]), blobID: f.blobID, persistence: .permanent, epoch: f.epoch, committee: proof.committee)
        #expect(weight == 7)
        // The proof survives its wire form.
        #expect(try CertificationProof.decode(bcs: proof.bcsBytes) == proof)
    }

    @Test func aCommitWithoutTwoThirdsOfThePowerIsRefused() {
        let header = f.header()
        #expect(throws: LightClientError(.invalidCommit, "the commit of block 42 has precommits of at most two thirds of the voting power")) {
            try f.client.verify(header, commit: f.commit(header, signers: [0, 1]))
        }
    }

    @Test func aPrecommitSignedByAnotherKeyIsRefused() {
        let header = f.header()
        var keys = f.validatorKeys
        keys[2] = Schnorr.PrivateKey.generate()
        #expect { try f.client.verify(header, commit: f.commit(header, keys: keys)) } throws: { ($0 as? LightClientError)?.code == .invalidCommit }
    }

    @Test func aCommitOfAnotherBlockIsRefused() {
        let other = f.header(committeeHash: [UInt8](repeating: 5, count: 32))
        #expect { try f.client.verify(f.header(), commit: f.commit(other)) } throws: { ($0 as? LightClientError)?.code == .invalidCommit }
    }

    @Test func aHeaderOfAnUnknownValidatorSetIsRefused() {
        // Even with a valid commit by those other validators.
        let others = (0..<4).map { _ in Schnorr.PrivateKey.generate() }
        let set = ValidatorSet(others.map { Validator(publicKey: $0.publicKey.bytes, power: 10, address: "x") })
        let header = f.header(validatorsHash: set.hash, nextValidatorsHash: set.hash)
        #expect { try f.client.verify(header, commit: f.commit(header, keys: others)) } throws: { ($0 as? LightClientError)?.code == .untrustedHeader }
    }

    @Test func handOversMoveTrustOnlyWhereAHeaderSaysSo() throws {
        let nextKeys = (0..<4).map { _ in Schnorr.PrivateKey.generate() }
        let next = ValidatorSet(nextKeys.map { Validator(publicKey: $0.publicKey.bytes, power: 5, address: "y") })
        var client = f.client
        let plain = f.header()
        #expect { try client.handOver(to: next, by: plain, commit: f.commit(plain)) } throws: { ($0 as? LightClientError)?.code == .untrustedHeader }
        let handing = f.header(nextValidatorsHash: next.hash)
        try client.handOver(to: next, by: handing, commit: f.commit(handing))
        #expect(client.validators == next)
        // Now headers of the new set verify and headers of the old one do not.
        let newHeader = f.header(validatorsHash: next.hash, nextValidatorsHash: next.hash)
        try client.verify(newHeader, commit: f.commit(newHeader, keys: nextKeys))
        #expect { try client.verify(plain, commit: f.commit(plain)) } throws: { ($0 as? LightClientError)?.code == .untrustedHeader }
    }

    @Test func anEventNotInTheBlockIsRefused() {
        #expect { try f.client.verifyInclusion(f.proof(event: Array("BlobCertifieD".utf8))) } throws: { ($0 as? LightClientError)?.code == .notIncluded }
    }

    @Test func aCommitteeOtherThanTheHeadersIsRefused() {
        var members = f.committee.members
        members[0] = CommitteeCommitment.Member(nodeID: members[0].nodeID, publicKey: Schnorr.PrivateKey.generate().publicKey, shards: members[0].shards)
        let swapped = CommitteeCommitment(epoch: f.epoch, members: members)
        #expect { try f.client.verifyInclusion(f.proof(committee: swapped)) } throws: { ($0 as? LightClientError)?.code == .wrongCommittee }
    }

    @Test func aForgedCertificateIsRefused() {
        var keys = f.nodeKeys
        keys[2] = Schnorr.PrivateKey.generate()
        let forged = f.certificate(signers: [0, 2], keys: keys)
        #expect(throws: LightClientError(.invalidCertificate, "the signature of committee member 2 does not verify")) {
            try LightClient.verifyCertificate(forged, blobID: f.blobID, persistence: .permanent, epoch: f.epoch, committee: f.committee)
        }
        // A signer bit beyond the committee.
        let beyond = CommitteeCertificate(
            signersBitmap: [0b1000_0101], serializedMessage: f.confirmation(),
            signatures: [0, 2, 0].map { f.nodeKeys[$0].sign(f.confirmation()) })
        #expect { try LightClient.verifyCertificate(beyond, blobID: f.blobID, persistence: .permanent, epoch: f.epoch, committee: f.committee) } throws: {
            ($0 as? LightClientError)?.code == .invalidCertificate
        }
    }

    @Test func aCertificateOfAnotherEpochIsRefused() {
        // Validly signed by the same keys, but for epoch 2.
        let stale = f.certificate(signers: [0, 1, 2], message: f.confirmation(epoch: Epoch(2)))
        #expect(throws: LightClientError(.invalidCertificate, "the certificate was signed for epoch 2, not the certification epoch 3")) {
            try LightClient.verifyCertificate(stale, blobID: f.blobID, persistence: .permanent, epoch: f.epoch, committee: f.committee)
        }
        // And a committee of another epoch does not check a certification of this one.
        let old = CommitteeCommitment(epoch: Epoch(2), members: f.committee.members)
        #expect { try LightClient.verifyCertificate(f.certificate(signers: [0, 1, 2]), blobID: f.blobID, persistence: .permanent, epoch: f.epoch, committee: old) } throws: {
            ($0 as? LightClientError)?.code == .wrongCommittee
        }
    }

    @Test func aCertificateBelowAQuorumOrForAnotherBlobIsRefused() {
        // 3 + 3 = 6 of 10 shards: 3·6 = 18 < 21.
        #expect { try LightClient.verifyCertificate(f.certificate(signers: [0, 1]), blobID: f.blobID, persistence: .permanent, epoch: f.epoch, committee: f.committee) } throws: {
            ($0 as? LightClientError)?.message.contains("below a quorum of 7") == true
        }
        let other = BlobID(unchecked: [UInt8](repeating: 9, count: 32))
        #expect { try LightClient.verifyCertificate(f.certificate(signers: [0, 1, 2]), blobID: other, persistence: .permanent, epoch: f.epoch, committee: f.committee) } throws: {
            ($0 as? LightClientError)?.code == .invalidCertificate
        }
        let deletable = BlobPersistence.deletable(ObjectID(unchecked: [UInt8](repeating: 1, count: 32)))
        #expect { try LightClient.verifyCertificate(f.certificate(signers: [0, 1, 2]), blobID: f.blobID, persistence: deletable, epoch: f.epoch, committee: f.committee) } throws: {
            ($0 as? LightClientError)?.code == .invalidCertificate
        }
    }

    @Test func randomBytesNeverDecodeIntoAProofByAccident() {
        var generator = SeededGenerator(seed: 7)
        let original = f.proof()
        let valid = original.bcsBytes
        for round in 0..<300 {
            var bytes = valid
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...600, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
            }
            // A flipped byte may still decode; every field is covered by a hash or a signature, so
            // such a proof must then fail verification.
            if let decoded = try? CertificationProof.decode(bcs: bytes), decoded != original {
                #expect((try? f.client.verifyInclusion(decoded)) == nil, "round \(round) of seed 7")
            }
        }
    }
}

/// A light client follows validator set hand-overs: each new set is trusted only through a header
/// the set before it committed (more than two thirds of its power) that names the new set, and
/// headers are checked against the set of their own height.
@Suite struct ValidatorHistoryTests {
    let f = Fixture()

    /// A new set of four fresh keys, and the header at `height` handing over to it.
    func handOverHeader(height: UInt64, from current: ValidatorSet, to next: ValidatorSet) -> BlockHeader {
        BlockHeader(
            chainID: f.chainID, height: height, timeMs: 1_000 + height, previousHash: [UInt8](repeating: 0, count: 32), proposer: 0, epoch: f.epoch,
            transactionsRoot: ChainMerkle.root([]), eventsRoot: ChainMerkle.root([]), resultsHash: [UInt8](repeating: 0, count: 32),
            validatorsHash: current.hash, nextValidatorsHash: next.hash, committeeHash: f.committee.hash)
    }

    func commit(_ header: BlockHeader, keys: [Schnorr.PrivateKey], signers: [Int]) -> Commit {
        Commit(height: header.height, round: 0, valueID: ValueID(header.hash), precommits: signers.map { i in
            var vote = Vote(kind: .precommit, height: header.height, round: 0, valueID: ValueID(header.hash), validator: UInt16(i))
            vote.signature = keys[i].sign(vote.signBytes(chainID: f.chainID)).bytes
            return vote
        })
    }

    @Test func threeHandOversAndHeadersOfEverySet() throws {
        var history = ValidatorHistory(chainID: f.chainID, genesisValidators: f.validators)
        var keys = f.validatorKeys
        var current = f.validators
        var sets: [(from: UInt64, keys: [Schnorr.PrivateKey], set: ValidatorSet)] = [(1, keys, current)]
        for (n, height) in [UInt64(10), 20, 30].enumerated() {
            let nextKeys = (0..<(4 + n)).map { _ in Schnorr.PrivateKey.generate() }
            let next = ValidatorSet(nextKeys.map { Validator(publicKey: $0.publicKey.bytes, power: 7, address: "a") })
            let header = handOverHeader(height: height, from: current, to: next)
            try history.apply(HandOver(height: height, validators: next.validators), header: header, commit: commit(header, keys: keys, signers: Array(0..<(keys.count - 1))))
            keys = nextKeys
            current = next
            sets.append((height + 1, keys, current))
        }
        #expect(history.entries.map(\.fromHeight) == [1, 11, 21, 31])
        // A header of each set's period verifies against that set, and not against another.
        for (i, entry) in sets.enumerated() {
            let header = handOverHeader(height: entry.from + 2, from: entry.set, to: entry.set)
            try history.verify(header, commit: commit(header, keys: entry.keys, signers: Array(0..<entry.keys.count)))
            let wrong = sets[(i + 1) % sets.count]
            #expect(throws: LightClientError.self) { try history.verify(header, commit: commit(header, keys: wrong.keys, signers: Array(0..<(wrong.keys.count - 1)))) }
        }
    }

    @Test func aHandOverWithoutTwoThirdsOrToAnotherSetIsRefused() throws {
        var history = ValidatorHistory(chainID: f.chainID, genesisValidators: f.validators)
        let nextKeys = (0..<4).map { _ in Schnorr.PrivateKey.generate() }
        let next = ValidatorSet(nextKeys.map { Validator(publicKey: $0.publicKey.bytes, power: 10, address: "a") })
        let header = handOverHeader(height: 5, from: f.validators, to: next)
        // Two of four validators: not more than two thirds of the power.
        #expect { try history.apply(HandOver(height: 5, validators: next.validators), header: header, commit: commit(header, keys: f.validatorKeys, signers: [0, 1])) }
            throws: { ($0 as? LightClientError)?.code == .invalidCommit }
        // Signed by the new set itself instead of the trusted one.
        #expect { try history.apply(HandOver(height: 5, validators: next.validators), header: header, commit: commit(header, keys: nextKeys, signers: [0, 1, 2])) }
            throws: { ($0 as? LightClientError)?.code == .invalidCommit }
        // A set the header does not name.
        let impostor = ValidatorSet((0..<4).map { _ in Validator(publicKey: Schnorr.PrivateKey.generate().publicKey.bytes, power: 10, address: "b") })
        #expect { try history.apply(HandOver(height: 5, validators: impostor.validators), header: header, commit: commit(header, keys: f.validatorKeys, signers: [0, 1, 2])) }
            throws: { ($0 as? LightClientError)?.code == .untrustedHeader }
        #expect(history.entries.count == 1)
        // A later header of the new set is then not trusted.
        let later = handOverHeader(height: 9, from: next, to: next)
        #expect { try history.verify(later, commit: commit(later, keys: nextKeys, signers: [0, 1, 2])) } throws: { ($0 as? LightClientError)?.code == .untrustedHeader }
        // The genuine hand-over is accepted, and out of order ones are not.
        try history.apply(HandOver(height: 5, validators: next.validators), header: header, commit: commit(header, keys: f.validatorKeys, signers: [0, 1, 2]))
        try history.verify(later, commit: commit(later, keys: nextKeys, signers: [0, 1, 2]))
        #expect(throws: LightClientError.self) {
            try history.apply(HandOver(height: 5, validators: next.validators), header: header, commit: commit(header, keys: f.validatorKeys, signers: [0, 1, 2]))
        }
    }
}
