import ChainClient
import Foundation
import HTTPKit
import ChainTypes
import RedStuff
import WalrusAPI
import WalrusCore
import WalrusCrypto

/// Turns an inconsistency proof into an invalid blob on chain (PROTOCOL.md §3.10): sends the proof
/// to every committee member, collects their signed `InvalidBlobIDMessage`s until the signers hold
/// at least one honest node's weight (3w ≥ n+1), and submits the invalidation with the operator key.
actor Invalidator {
    let state: NodeState
    let builder: TransactionBuilder
    private let http: HTTPClient
    private var done: Set<BlobID> = []

    init(state: NodeState, builder: TransactionBuilder, http: HTTPClient) {
        self.state = state
        self.builder = builder
        self.http = http
    }

    /// Returns true once the blob is invalid on chain (or was already handled).
    func invalidate(_ blobID: BlobID, proof: InconsistencyProof) async -> Bool {
        if done.contains(blobID) { return true }
        let committee = await state.committee
        let body = proof.bcsBytes
        var signatures: [(member: Int, signature: Schnorr.Signature)] = []
        var weight: UInt64 = 0
        var message: [UInt8]?
        for (index, member) in committee.members.enumerated() {
            guard let base = member.httpBase,
                let response = try? await http.request(
                    .POST, "\(base)/v1/blobs/\(blobID)/inconsistencyProof/\(proof.axis)", body: .bytes(body), timeoutSeconds: 10, responseBytesMax: 64 << 10),
                response.status == 200,
                let signed = try? WalrusJSON.decode(NodeSuccess<SignedMessage>.self, from: response.body).success.data,
                let signature = try? Schnorr.Signature(bytes: signed.signature),
                case let serialized = signed.serializedMessage,
                let parsed = try? InvalidBlobIDMessage(serialized: serialized), parsed.blobID == blobID, parsed.epoch == committee.epoch,
                member.publicKey.isValidSignature(signature, for: serialized), message == nil || message == serialized
            else { continue }
            message = serialized
            signatures.append((index, signature))
            weight += member.weight
            if BFT.isValidity(weight: weight, totalWeight: UInt64(committee.shardCount)) { break }
        }
        guard let message, BFT.isValidity(weight: weight, totalWeight: UInt64(committee.shardCount)) else { return false }
        let certificate = CommitteeCertificate(message: message, signatures: signatures, memberCount: committee.members.count)
        do {
            _ = try await builder.execute([.invalidateBlob(certificate: certificate)])
        } catch {
            // Another node may have invalidated it first.
            if error.ledgerCode != .duplicate { return false }
        }
        done.insert(blobID)
        return true
    }
}

/// Deletes the metadata and slivers of blobs that are invalid, expired, or have no live
/// registration left, in the background.
actor Collector {
    let state: NodeState
    let store: SliverStore
    private var running = true
    private(set) var collected: UInt64 = 0

    init(state: NodeState, store: SliverStore) {
        self.state = state
        self.store = store
    }

    func stop() { running = false }

    func run(intervalMs: UInt64 = 1000) async {
        while running {
            try? await Task.sleep(nanoseconds: intervalMs * 1_000_000)
            await collectOnce()
        }
    }

    func collectOnce() async {
        let epoch = await state.epoch
        let n = await state.shardCount
        let shouldGo = { (info: BlobInfo) in
            info.invalid || epoch >= info.endEpoch && info.endEpoch > Epoch(0) || (!info.isLive && info.endEpoch > Epoch(0))
        }
        for (blobID, info) in store.allBlobInfos() where !store.isCollected(blobID) && shouldGo(info) {
            if (try? store.deleteBlobData(blobID, shardCount: n, if: shouldGo)) == true { collected += 1 }
        }
    }
}
