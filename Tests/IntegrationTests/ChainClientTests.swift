import ChainClient
import ChainTypes
import Foundation
import Ledger
import RedStuff
import Testing
import ValidatorNode
import WalrusCore
import WalrusCrypto

@Suite(.serialized) struct ChainClientTests {
    @Test(.timeLimit(.minutes(2))) func registerABlobAndFollowVerifiedEvents() async throws {
        let chain = try LocalChain(validators: 4)
        try chain.startAll()
        let client = ChainClient(endpoints: (0..<4).map { chain.rpc($0) }, timeoutSeconds: 5)
        try await chain.waitUntil("the chain to run") { (try? await client.health().height) ?? 0 >= 2 }
        let health = try await client.health()
        let genesis = try GenesisFile.load(chain.directory.appendingPathComponent("genesis.yaml").path)
        #expect(health.genesisHash == Hex.encode(genesis.hash))

        // Reserve and register a real blob in one transaction.
        let builder = TransactionBuilder(key: try chain.walletKey(), chainID: "walrus-test", client: client)
        let metadata = try BlobEncoder(config: EncodingConfig(shardCount: 40)).computeMetadata(Array("hello chain".utf8))
        let outcome = try await builder.execute([.registerBlob(
            storage: .reserve(epochs: 2), blobID: metadata.blobID, rootHash: metadata.metadata.rootHash.bytes, size: 11, encodingType: 1,
            deletable: false)])
        guard case .blobRegistered(_, let blobID, let size, _, _, _, _)? = outcome.events.first else {
            Issue.record("no BlobRegistered event: \(outcome.events)")
            return
        }
        #expect(blobID == metadata.blobID && size == 11)
        guard case .blobRegistered(_, _, _, _, _, _, let objectID)? = outcome.events.first else { return }
        let object = await chain.get(1, "v1/objects/\(objectID)")
        #expect(object?["blobId"] as? String == metadata.blobID.description && object?["kind"] as? String == "blob")
        let byBlobID = await chain.get(2, "v1/blobs/\(metadata.blobID)")
        #expect((byBlobID?["registrations"] as? [[String: Any]])?.first?["objectId"] as? String == objectID.description)

        // A bad registration fails with the ledger's reason.
        do {
            _ = try await builder.execute([.registerBlob(storage: .reserve(epochs: 2), blobID: metadata.blobID, rootHash: metadata.metadata.rootHash.bytes, size: 12, encodingType: 1, deletable: false)])
            Issue.record("a wrong blob ID was accepted")
        } catch {
            #expect(error.code == .failed && error.message.contains("E_INVALID_BLOB_ID"))
        }

        // The follower finds the event, verified against commits and events roots.
        let follower = VerifiedEventFollower(client: client, chainID: "walrus-test", validators: try genesis.validatorSet())
        var found = false
        for _ in 0..<50 where !found {
            let events = try await follower.next(limit: 50, waitMs: 200)
            found = events.contains { if case .blobRegistered(_, metadata.blobID, _, _, _, _, _) = $0.event { true } else { false } }
        }
        #expect(found)

        // Tampering is caught: a precommit signature changed, or another validator set.
        let height = outcome.height
        let block = try await client.block(height)
        let commit = try await client.commit(height)
        try VerifiedEventFollower.check(block: block, commit: commit, validators: genesis.validatorSet(), chainID: "walrus-test")
        var votes = commit.precommits
        votes[0].signature[5] ^= 1
        let forged = Commit(height: commit.height, round: commit.round, valueID: commit.valueID, precommits: votes)
        #expect(throws: ChainClientError.self) { try VerifiedEventFollower.check(block: block, commit: forged, validators: genesis.validatorSet(), chainID: "walrus-test") }
        let strangers = ValidatorSet((0..<4).map { _ in Validator(publicKey: Schnorr.PrivateKey.generate().publicKey.bytes, power: 1, address: "x") })
        #expect(throws: ChainClientError.self) { try VerifiedEventFollower.check(block: block, commit: commit, validators: strangers, chainID: "walrus-test") }
        for i in 0..<4 { chain.stop(i) }
    }
}
