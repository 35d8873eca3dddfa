public import ChainClient
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
public import RedStuff
public import WalrusCore
import WalrusCrypto

/// What storing a blob did.
public enum StoreResult: Sendable, Equatable {
    case newlyCreated(blobID: BlobID, objectID: ObjectID, endEpoch: Epoch, costFrost: UInt64, encodedLength: UInt64, unencodedLength: UInt64)
    case alreadyCertified(blobID: BlobID, objectID: ObjectID, endEpoch: Epoch)

    public var blobID: BlobID {
        switch self {
        case .newlyCreated(let id, _, _, _, _, _), .alreadyCertified(let id, _, _): id
        }
    }
}

extension StoreResult {
    /// The JSON the CLI and the publisher print, shaped like the reference's `BlobStoreResult`.
    public var jsonObject: [String: Any] {
        switch self {
        case let .newlyCreated(blobID, objectID, endEpoch, cost, encoded, size):
            ["newlyCreated": [
                "blobObject": ["blobId": blobID.description, "id": objectID.description, "endEpoch": endEpoch.rawValue, "size": size, "encodedLength": encoded] as [String: Any],
                "cost": cost,
            ] as [String: Any]]
        case let .alreadyCertified(blobID, objectID, endEpoch):
            ["alreadyCertified": ["blobId": blobID.description, "objectId": objectID.description, "endEpoch": endEpoch.rawValue] as [String: Any]]
        }
    }
}

/// The SDK: stores and reads blobs on a network of validators and storage nodes.
public final class WalrusClient: Sendable {
    public let chain: ChainClient
    public let builder: TransactionBuilder
    public let chainID: String
    let timeoutSeconds: Double
    private let session: URLSession
    /// Requests in flight to one storage node.
    static let perNodeConcurrency = 4

    /// Connects with a context of the client config: checks the pinned genesis and loads the wallet.
    public static func connect(_ context: ClientConfig.Context, timeoutSeconds: Double = 60) async throws(ClientError) -> WalrusClient {
        let endpoints = context.chainRPC.compactMap(URL.init(string:))
        guard !endpoints.isEmpty else { throw ClientError(.config, "the context lists no chain_rpc URL") }
        let chain = ChainClient(endpoints: endpoints, timeoutSeconds: min(timeoutSeconds, 10))
        let health: ChainClient.Health
        do { health = try await chain.health() } catch {
            throw ClientError(.unavailable, "\(error.message); is the network running (`walrus devnet status`)?")
        }
        guard health.genesisHash == context.genesisHash else {
            throw ClientError(.config, "the network at \(context.chainRPC[0]) has genesis \(health.genesisHash.prefix(16))…, the config pins \(context.genesisHash.prefix(16))…: the network was reset; run `walrus devnet up` again or update genesis_hash")
        }
        let key: Schnorr.PrivateKey
        do { key = try KeyFile.load(from: context.walletKeyFile) } catch { throw ClientError(.config, error.message) }
        return WalrusClient(chain: chain, key: key, chainID: health.chainID, timeoutSeconds: timeoutSeconds)
    }

    init(chain: ChainClient, key: Schnorr.PrivateKey, chainID: String, timeoutSeconds: Double) {
        self.chain = chain
        self.chainID = chainID
        self.timeoutSeconds = timeoutSeconds
        builder = TransactionBuilder(key: key, chainID: chainID, client: chain)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = min(timeoutSeconds, 30)
        session = URLSession(configuration: configuration)
    }

    private func chainCall<T>(_ body: () async throws(ChainClientError) -> T) async throws(ClientError) -> T {
        do { return try await body() } catch {
            if error.message.contains("INSUFFICIENT_FUNDS") { throw ClientError(.insufficientFunds, error.message) }
            throw ClientError(error.isRetryable ? .unavailable : .verification, error.message)
        }
    }

    // MARK: - Store

    /// Stores a blob for `epochs` epochs (PROTOCOL.md §3.14): encode, register with storage paid in
    /// the same transaction, upload metadata and slivers to every node, collect verified
    /// confirmations until a quorum of shards, and certify.
    public func store(_ blob: [UInt8], epochs: UInt32, permanent: Bool, force: Bool = false, progress: @Sendable (String) -> Void = { _ in }) async throws(ClientError) -> StoreResult {
        let info = try await chainCall { () async throws(ChainClientError) in try await chain.epochInfo() }
        let committee = try await chainCall { () async throws(ChainClientError) in try await chain.committee() }
        let config: EncodingConfig
        let encoded: EncodedBlob
        do {
            config = try EncodingConfig(shardCount: committee.shardCount)
            encoded = try BlobEncoder(config: config).encode(blob)
        } catch { throw ClientError(.invalidArgument, error.message) }
        let blobID = encoded.blobID
        let wantedEnd = Epoch(info.epoch.rawValue + epochs)
        progress("encoded \(blob.count) bytes for \(config.n) shards: blob \(blobID)")
        if !force {
            // Like the reference: a certified permanent registration that lasts long enough serves
            // anyone; a deletable one only its owner (someone else may delete theirs at any time).
            let existing = try await chainCall { () async throws(ChainClientError) in try await chain.registrations(blobID) }
            let me = builder.address
            if let certified = existing.registrations.first(where: {
                $0.certifiedEpoch != nil && $0.endEpoch >= wantedEnd && $0.deletable == !permanent && (!$0.deletable || $0.owner == me)
            }) {
                return .alreadyCertified(blobID: blobID, objectID: certified.objectID, endEpoch: certified.endEpoch)
            }
        }
        let metadata = encoded.metadata.metadata
        let outcome = try await chainCall { () async throws(ChainClientError) in
            try await builder.execute([.registerBlob(
                storage: .reserve(epochs: epochs), blobID: blobID, rootHash: metadata.rootHash.bytes, size: metadata.unencodedLength,
                encodingType: 1, deletable: !permanent)])
        }
        guard case .blobRegistered(_, _, _, _, let endEpoch, _, let objectID)? = outcome.events.first else {
            throw ClientError(.verification, "the registration emitted no BlobRegistered event")
        }
        progress("registered as \(objectID); uploading to \(committee.members.count) nodes")
        let persistence: BlobPersistence = permanent ? .permanent : .deletable(objectID)
        let signatures = await uploadAndConfirm(encoded, committee: committee, persistence: persistence)
        let weight = signatures.reduce(UInt64(0)) { $0 + committee.members[$1.member].weight }
        guard BFT.isQuorum(weight: weight, totalWeight: UInt64(committee.shardCount)) else {
            throw ClientError(.unavailable, "confirmations from nodes holding \(weight) of \(committee.shardCount) shards; a quorum needs \(BFT.quorumWeight(totalWeight: UInt64(committee.shardCount))). Too many storage nodes are down; retry later")
        }
        let message = ConfirmationMessage(epoch: committee.epoch, blobID: blobID, persistence: persistence).intentMessage.serialized
        let certificate = CommitteeCertificate(message: message, signatures: signatures, memberCount: committee.members.count)
        _ = try await chainCall { () async throws(ChainClientError) in try await builder.execute([.certifyBlob(blob: objectID, certificate: certificate)]) }
        progress("certified with confirmations of \(weight) of \(committee.shardCount) shards")
        let encodedLength = (try? config.encodedBlobLength(forLength: metadata.unencodedLength)) ?? 0
        let units = (encodedLength + Limits.storageUnitBytes - 1) / Limits.storageUnitBytes
        let cost = units * (info.storagePrice.rawValue * UInt64(epochs) + info.writePrice.rawValue)
        return .newlyCreated(blobID: blobID, objectID: objectID, endEpoch: endEpoch, costFrost: cost, encodedLength: encodedLength, unencodedLength: metadata.unencodedLength)
    }

    /// Uploads each node's slivers and asks it to confirm; returns the verified confirmations.
    private func uploadAndConfirm(_ encoded: EncodedBlob, committee: CommitteeInfo, persistence: BlobPersistence) async -> [(member: Int, signature: Schnorr.Signature)] {
        let n = committee.shardCount
        let offset = encoded.blobID.rotationOffset(shardCount: n)
        let expected = ConfirmationMessage(epoch: committee.epoch, blobID: encoded.blobID, persistence: persistence).intentMessage.serialized
        return await withTaskGroup(of: (Int, Schnorr.Signature)?.self) { group in
            for (index, member) in committee.members.enumerated() {
                let pairs = member.shards.map { $0.pairIndex(rotationOffset: offset, shardCount: n) }
                group.addTask {
                    guard let base = URL(string: "http://\(member.networkAddress)/v1/blobs/\(encoded.blobID)") else { return nil }
                    guard await self.putMetadata(base, encoded.metadata.metadata.bcsBytes) else { return nil }
                    let ok = await withTaskGroup(of: Bool.self) { uploads in
                        for (i, pair) in pairs.enumerated() {
                            if i >= WalrusClient.perNodeConcurrency { if await uploads.next() == false { return false } }
                            uploads.addTask {
                                let slivers = encoded.sliverPair(pair)
                                let a = await self.put(base.appendingPathComponent("slivers/\(pair.rawValue)/primary"), slivers.primary.bcsBytes())
                                let b = await self.put(base.appendingPathComponent("slivers/\(pair.rawValue)/secondary"), slivers.secondary.bcsBytes())
                                return a && b
                            }
                        }
                        for await result in uploads where !result { return false }
                        return true
                    }
                    guard ok else { return nil }
                    let path: String = switch persistence {
                    case .permanent: "confirmation/permanent"
                    case .deletable(let id): "confirmation/deletable/\(id)"
                    }
                    guard let url = URL(string: base.absoluteString + "/" + path + "?wait_for_registration=true&wait_millis=5000"),
                        let (data, response) = try? await self.session.data(from: url), (response as? HTTPURLResponse)?.statusCode == 200,
                        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                        let signed = ((object["success"] as? [String: Any])?["data"] as? [String: Any])?["signed"] as? [String: Any],
                        let serialized = (signed["serializedMessage"] as? String).flatMap({ Data(base64Encoded: $0) }).map(Array.init),
                        let raw = (signed["signature"] as? String).flatMap({ Data(base64Encoded: $0) }),
                        let signature = try? Schnorr.Signature(bytes: Array(raw)),
                        serialized == expected, member.publicKey.isValidSignature(signature, for: serialized)
                    else { return nil }
                    return (index, signature)
                }
            }
            var signatures: [(member: Int, signature: Schnorr.Signature)] = []
            for await result in group { if let result { signatures.append((result.0, result.1)) } }
            return signatures.sorted { $0.member < $1.member }
        }
    }

    /// PUTs metadata, retrying while the node has not yet seen the registration.
    private func putMetadata(_ base: URL, _ body: [UInt8]) async -> Bool {
        let deadline = Date().addingTimeInterval(min(timeoutSeconds, 30))
        while Date() < deadline {
            var request = URLRequest(url: base.appendingPathComponent("metadata"))
            request.httpMethod = "PUT"
            request.httpBody = Data(body)
            if let (_, response) = try? await session.data(for: request), let status = (response as? HTTPURLResponse)?.statusCode {
                if status == 200 || status == 201 { return true }
                if status != 400 { return false }
            }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
        return false
    }

    private func put(_ url: URL, _ body: [UInt8]) async -> Bool {
        var request = URLRequest(url: url)
        request.httpMethod = "PUT"
        request.httpBody = Data(body)
        for _ in 0..<3 {
            if let (_, response) = try? await session.data(for: request), let status = (response as? HTTPURLResponse)?.statusCode, status == 200 || status == 201 {
                return true
            }
        }
        return false
    }

    // MARK: - Read

    /// Reads a blob (PROTOCOL.md §8.3): metadata from the first node whose answer verifies, primary
    /// slivers from the nodes holding them until n_P verify, decoding, and the consistency check.
    public func read(_ blobID: BlobID, check: ConsistencyCheck = .default, progress: @Sendable (String) -> Void = { _ in }) async throws(ClientError) -> [UInt8] {
        let status = try await chainCall { () async throws(ChainClientError) in try await chain.registrations(blobID) }
        if status.invalid { throw ClientError(.verification, "blob \(blobID) was found inconsistently encoded and is invalid") }
        let epoch = try await chainCall { () async throws(ChainClientError) in try await chain.epochInfo() }.epoch
        guard status.registrations.contains(where: { $0.certifiedEpoch != nil && $0.endEpoch > epoch }) else {
            throw ClientError(.notFound, "blob \(blobID) is not certified on this network, or its storage expired")
        }
        let committee = try await chainCall { () async throws(ChainClientError) in try await chain.committee() }
        let n = committee.shardCount
        guard let metadata = await fetchMetadata(blobID, committee: committee) else {
            throw ClientError(.unavailable, "no storage node returned metadata that verifies against \(blobID); retry later")
        }
        let config: EncodingConfig
        let decoder: BlobDecoder
        do {
            config = try EncodingConfig(shardCount: n)
            decoder = try BlobDecoder(config: config, metadata: BlobMetadataWithID(blobID: blobID, metadata: metadata))
        } catch { throw ClientError(.verification, error.message) }
        let offset = blobID.rotationOffset(shardCount: n)
        // Systematic slivers first (they need no decoding work), then the others if needed.
        let order = Array(0..<Int(n))
        var slivers: [SliverData] = []
        for chunk in [Array(order.prefix(config.primarySourceSymbols)), Array(order.dropFirst(config.primarySourceSymbols))] {
            slivers += await fetchPrimarySlivers(blobID, pairs: chunk, committee: committee, offset: offset)
            do {
                let blob = try decoder.decode(slivers, check: check)
                progress("read \(blob.count) bytes from \(slivers.count) slivers")
                return blob
            } catch {
                if error.code == .inconsistentBlob { throw ClientError(.verification, error.message) }
            }
        }
        throw ClientError(.unavailable, "only \(slivers.count) of the \(config.primarySourceSymbols) primary slivers needed could be fetched; too many storage nodes are down, retry later")
    }

    private func fetchMetadata(_ blobID: BlobID, committee: CommitteeInfo) async -> BlobMetadata? {
        for member in committee.members.shuffled() {
            guard let url = URL(string: "http://\(member.networkAddress)/v1/blobs/\(blobID)/metadata"),
                let (data, response) = try? await session.data(from: url), (response as? HTTPURLResponse)?.statusCode == 200,
                let withID = try? BlobMetadataWithID.decode(bcs: Array(data)), withID.blobID == blobID,
                (try? withID.metadata.verify(against: blobID, shardCount: committee.shardCount)) != nil
            else { continue }
            return withID.metadata
        }
        return nil
    }

    private func fetchPrimarySlivers(_ blobID: BlobID, pairs: [Int], committee: CommitteeInfo, offset: UInt16) async -> [SliverData] {
        let n = committee.shardCount
        let session = self.session
        return await withTaskGroup(of: SliverData?.self) { group in
            var slivers: [SliverData] = []
            for (i, p) in pairs.enumerated() {
                // At most 16 requests in flight; results taken to make room are kept.
                if i >= 16, let done = await group.next(), let sliver = done { slivers.append(sliver) }
                let shard = SliverPairIndex(UInt16(p)).shardIndex(rotationOffset: offset, shardCount: n)
                guard let member = committee.owner(of: shard), let url = URL(string: "http://\(member.networkAddress)/v1/blobs/\(blobID)/slivers/\(p)/primary") else { continue }
                group.addTask {
                    guard let (data, response) = try? await session.data(from: url), (response as? HTTPURLResponse)?.statusCode == 200 else { return nil }
                    return try? SliverData(bcs: Array(data), axis: .primary)
                }
            }
            for await sliver in group { if let sliver { slivers.append(sliver) } }
            return slivers
        }
    }
}
