public import ChainTypes
public import ChainClient
import Foundation
import HTTPKit
import NIOHTTP1
public import RedStuff
public import WalrusAPI
public import WalrusCore
import WalrusCrypto
import Synchronization
import Transport

/// The SDK: stores and reads blobs on a network of validators and storage nodes.
public final class WalrusClient: Sendable {
    public let chain: ChainClient
    public let builder: TransactionBuilder
    public let chainID: String
    /// The genesis hash (hex) the client config pins; the light client starts from it.
    public let pinnedGenesisHash: String
    let timeoutSeconds: Double
    /// Storage-node traffic: pooled keep-alive connections, bodies without intermediate copies.
    /// Nodes are reached over TLS pinned to their registered network keys.
    let http = HTTPClient(idleMaxPerHost: WalrusClient.perNodeConcurrency, security: TLSClient.shared)
    /// Requests in flight to one storage node: enough that a node's share of a store's slivers
    /// (2000 at 1000 shards, over the committee) takes a few round trips across a WAN, not
    /// hundreds (BENCHMARKS.md, "Across hosts").
    static let perNodeConcurrency = 32
    /// Upload bytes in flight to one storage node, roughly (see `perNodeConcurrency`).
    static let perNodeBytesInFlight = 16 << 20

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
        return WalrusClient(chain: chain, key: key, chainID: health.chainID, pinnedGenesisHash: context.genesisHash, timeoutSeconds: timeoutSeconds)
    }

    init(chain: ChainClient, key: Schnorr.PrivateKey, chainID: String, pinnedGenesisHash: String, timeoutSeconds: Double) {
        self.chain = chain
        self.chainID = chainID
        self.pinnedGenesisHash = pinnedGenesisHash
        self.timeoutSeconds = timeoutSeconds
        builder = TransactionBuilder(key: key, chainID: chainID, client: chain)
    }

    /// One request to a storage node, bounded by the per-request timeout; nil when no response came.
    func nodeRequest(
        _ method: HTTPMethod, _ url: String, body: HTTPClientBody? = nil, timeout: Double? = nil, responseBytesMax: Int = 1 << 20,
        sink: (any HTTPBodySink)? = nil
    ) async -> HTTPClientResponse? {
        try? await http.request(method, url, body: body, timeoutSeconds: timeout ?? min(timeoutSeconds, 30), responseBytesMax: responseBytesMax, sink: sink)
    }

    func chainCall<T>(_ body: () async throws(ChainClientError) -> T) async throws(ClientError) -> T {
        do { return try await body() } catch { throw mapChainError(error) }
    }

    // MARK: - Store

    /// Refuses an epoch count the chain would refuse, before anything is encoded or spent.
    static func checkEpochs(_ epochs: UInt32, info: EpochInfo) throws(ClientError) {
        guard epochs >= 1, epochs <= info.maxEpochsAhead else {
            throw ClientError(.invalidArgument, "epochs must be 1 to \(info.maxEpochsAhead) (this network's limit), not \(epochs)")
        }
    }

    /// The write fee plus `epochs` epochs of storage for `units` storage units, in FROST; refused
    /// when it does not fit in 64 bits (no wallet could pay it).
    static func cost(units: UInt64, epochs: UInt32, info: EpochInfo) throws(ClientError) -> UInt64 {
        let storage = units.multipliedReportingOverflow(by: info.storagePrice.rawValue)
        let storageEpochs = storage.partialValue.multipliedReportingOverflow(by: UInt64(epochs))
        let write = units.multipliedReportingOverflow(by: info.writePrice.rawValue)
        let total = storageEpochs.partialValue.addingReportingOverflow(write.partialValue)
        guard !storage.overflow, !storageEpochs.overflow, !write.overflow, !total.overflow else {
            throw ClientError(.invalidArgument, "storing \(units) storage units for \(epochs) epochs costs more than 2^64 FROST")
        }
        return total.partialValue
    }

    /// Stores a blob for `epochs` epochs (PROTOCOL.md §3.14): encode; unless `force`, return an
    /// existing certification that lasts long enough; check that a quorum of shards answers before
    /// spending anything; reuse an owned uncertified registration or an owned storage resource that
    /// fits, or reserve and register in one transaction; upload metadata and slivers to every node;
    /// collect verified confirmations until a quorum of shards; certify. When the committee changes
    /// between the confirmations and the certification, it uploads to the new committee and
    /// certifies again (at most `epochRetriesMax` times).
    public func store(
        _ blob: [UInt8], epochs: UInt32, permanent: Bool, force: Bool = false, sendTo: Address? = nil, share: Bool = false,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws(ClientError) -> BlobStoreResult {
        try await store(length: UInt64(blob.count), epochs: epochs, permanent: permanent, force: force, sendTo: sendTo, share: share, progress: progress) { target in
            blob.withUnsafeBytes { target.copyMemory(from: $0) }
        }
    }

    /// Stores a blob of `length` bytes that `fill` writes into the buffer it is given, which is
    /// where the encoder reads it: a file read straight into it is never copied (`store(_:)` of an
    /// array copies it once). An error `fill` throws ends the store before anything is spent.
    public func store(
        length: UInt64, epochs: UInt32, permanent: Bool, force: Bool = false, sendTo: Address? = nil, share: Bool = false,
        progress: @escaping @Sendable (String) -> Void = { _ in }, fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) async throws(ClientError) -> BlobStoreResult {
        var fillError: (any Error)?
        return try await store(length: length, epochs: epochs, permanent: permanent, force: force, sendTo: sendTo, share: share, progress: progress) { config in
            do {
                return try MessageMatrix(config: config, length: length) { (target: UnsafeMutableRawBufferPointer) throws(RedStuffError) in
                    do { try fill(target) } catch {
                        fillError = error
                        throw RedStuffError(.malformed, "could not read the blob: \(error)")
                    }
                }
            } catch { throw fillError ?? error }
        }
    }

    /// Stores the blob in the message matrix that `matrix` makes for the committee's encoding
    /// (for example one over a file mapped from the page cache, `MessageMatrix(config:length:memory:owner:)`). An error it
    /// throws ends the store before anything is spent.
    /// `attributes` are set on a newly created object in the certifying transaction (before it is
    /// sent or shared).
    public func store(
        length: UInt64, epochs: UInt32, permanent: Bool, force: Bool = false, sendTo: Address? = nil, share: Bool = false,
        attributes: [AttributePair] = [],
        progress: @escaping @Sendable (String) -> Void = { _ in }, matrix makeMatrix: (EncodingConfig) throws -> MessageMatrix
    ) async throws(ClientError) -> BlobStoreResult {
        guard !share || permanent else { throw ClientError(.invalidArgument, "only a permanent blob can be shared: store it as permanent") }
        guard !share || sendTo == nil else { throw ClientError(.invalidArgument, "a blob is either shared or sent to an address, not both") }
        let info = try await chainCall { () async throws(ChainClientError) in try await chain.epochInfo() }
        try Self.checkEpochs(epochs, info: info)
        var committee = try await chainCall { () async throws(ChainClientError) in try await chain.committee() }
        let config: EncodingConfig
        let encoded: EncodedBlob
        var phase = Date()
        /// Seconds since the last call (phase timings for `--verbose` and for finding where time goes).
        func lap() -> String {
            let now = Date()
            defer { phase = now }
            return String(format: "%.2f s", now.timeIntervalSince(phase))
        }
        do {
            config = try EncodingConfig(shardCount: committee.shardCount)
        } catch { throw ClientError(.invalidArgument, error.message) }
        do {
            let matrix = try makeMatrix(config)
            guard matrix.config == config, matrix.unencodedLength == length else {
                throw ClientError(.invalidArgument, "the matrix was made for \(matrix.config.n) shards and \(matrix.unencodedLength) bytes, not for this committee's \(config.n) shards and \(length) bytes")
            }
            encoded = BlobEncoder(config: config).encode(matrix)
        } catch let error as ClientError {
            throw error
        } catch let error as RedStuffError {
            throw ClientError(.invalidArgument, error.message)
        } catch {
            throw ClientError(.invalidArgument, "could not read the blob: \(error)")
        }
        let blobID = encoded.blobID
        let metadata = encoded.metadata.metadata
        // checkEpochs bounds epochs by maxEpochsAhead; the end epoch is refused rather than wrapped.
        let (end, wrapped) = info.epoch.rawValue.addingReportingOverflow(epochs)
        guard !wrapped else { throw ClientError(.invalidArgument, "epoch \(info.epoch.rawValue) plus \(epochs) epochs is past the last epoch") }
        let wantedEnd = Epoch(end)
        let encodedLength = (try? config.encodedBlobLength(forLength: metadata.unencodedLength)) ?? 0
        progress("encoded \(length) bytes for \(config.n) shards in \(lap()): blob \(blobID)")
        let existing = try await chainCall { () async throws(ChainClientError) in try await chain.registrations(blobID) }
        if existing.invalid {
            // Walrus answers markedInvalid with the invalidation event; without it there is only the error.
            if let event = existing.invalidationEvent { return .markedInvalid(blobId: blobID, event: event) }
            throw ClientError(.verification, "blob \(blobID) was marked invalid on this network; it cannot be stored again")
        }
        let me = builder.address
        // As in Walrus, a certification that already serves answers even when the object was to be
        // sent elsewhere (nothing new is made, so nothing is sent); `force` makes a new object.
        if !force {
            // Like the reference: a certified permanent registration that lasts long enough serves
            // anyone, named by its certification event; a deletable one only its owner, named by
            // its object (someone else may delete theirs at any time).
            if let certified = existing.registrations.first(where: {
                $0.certifiedEpoch != nil && $0.endEpoch >= wantedEnd && $0.deletable == !permanent && (!$0.deletable || $0.owner == me)
            }) {
                let by: EventOrObjectID = certified.deletable ? .object(certified.objectID) : certified.certificationEvent.map { .event($0) } ?? .object(certified.objectID)
                return .alreadyCertified(blobId: blobID, endEpoch: certified.endEpoch.rawValue, certifiedBy: by)
            }
        }
        try await requireReachableQuorum(committee)
        let (objectID, cost, operation, storageEnd) = try await registration(
            for: encoded, encodedLength: encodedLength, epochs: epochs, wantedEnd: wantedEnd, permanent: permanent, info: info,
            existing: existing.registrations.filter { $0.owner == me })
        progress("\(operation.name): registration \(objectID) in \(lap()); uploading to \(committee.members.count) nodes")
        let persistence: BlobPersistence = permanent ? .permanent : .deletable(objectID)
        for attempt in 0...WalrusClient.epochRetriesMax {
            let signatures = await uploadAndConfirm(encoded, committee: committee, persistence: persistence, progress: progress)
            let weight = signatures.reduce(UInt64(0)) { $0 + committee.members[$1.member].weight }
            progress("confirmations of \(weight) of \(committee.shardCount) shards in \(lap())")
            let current = try await chainCall { () async throws(ChainClientError) in try await chain.committee() }
            // Storage that ended while the slivers went out cannot be certified any more: say so
            // now rather than upload again to nodes that refuse an expired blob.
            if current.epoch >= storageEnd {
                throw ClientError(
                    .unavailable,
                    "epoch \(current.epoch.rawValue) began during the store, and registration \(objectID)'s storage ended with it (end epoch \(storageEnd.rawValue)): it can no longer be certified. Store again, which registers anew; near the end of an epoch give --epochs 2 or more")
            }
            if current.epoch != committee.epoch, attempt < WalrusClient.epochRetriesMax {
                progress("the committee changed from epoch \(committee.epoch.rawValue) to \(current.epoch.rawValue) during the store; uploading again")
                committee = current
                continue
            }
            guard BFT.isQuorum(weight: weight, totalWeight: UInt64(committee.shardCount)) else {
                throw ClientError(.notEnoughConfirmations, "confirmations from nodes holding \(weight) of \(committee.shardCount) shards; a quorum needs \(BFT.quorumWeight(totalWeight: UInt64(committee.shardCount))). Too many storage nodes are down. This store spent \(FROST(cost)) on registration \(objectID); storing the same file again reuses it")
            }
            let message = ConfirmationMessage(epoch: committee.epoch, blobID: blobID, persistence: persistence).intentMessage.serialized
            let certificate = CommitteeCertificate(message: message, signatures: signatures, memberCount: committee.members.count)
            // The object goes to its recipient in the certifying transaction itself: both or neither.
            var transfer: [ChainTypes.Operation] = attributes.isEmpty ? [] : [.setBlobAttribute(blob: objectID, pairs: attributes)]
            if let sendTo { transfer.append(.transferBlob(blob: objectID, to: sendTo)) }
            if share { transfer.append(.shareBlob(blob: objectID, funds: .zero)) }
            do {
                _ = try await builder.execute([.certifyBlob(blob: objectID, certificate: certificate)] + transfer)
            } catch {
                if error.ledgerCode == .wrongEpoch, attempt < WalrusClient.epochRetriesMax {
                    committee = try await chainCall { () async throws(ChainClientError) in try await chain.committee() }
                    progress("the epoch changed before the certification; uploading to the committee of epoch \(committee.epoch.rawValue)")
                    continue
                }
                throw mapChainError(error)
            }
            progress("certified in \(lap())")
            // The object as the chain now holds it (certified, and sent where it was asked to go).
            guard let stored = try await chainCall({ () async throws(ChainClientError) in try await chain.registration(objectID: objectID) }) else {
                throw ClientError(.verification, "registration \(objectID) was certified but the chain does not show it")
            }
            return .newlyCreated(blobObject: stored.blobObject, resourceOperation: operation, cost: cost, sharedBlobObject: stored.sharedBlobObject)
        }
        throw ClientError(.unavailable, "the committee kept changing during the store; registration \(objectID) stays, retry the store to reuse it")
    }

    /// How often a store starts over with a new committee.
    static let epochRetriesMax = 3

    /// Picks the resource operation and runs it: an owned uncertified registration of this blob
    /// that lasts long enough costs nothing; an owned storage resource that fits costs the write
    /// fee; otherwise storage is reserved and the blob registered in one transaction.
    private func registration(
        for encoded: EncodedBlob, encodedLength: UInt64, epochs: UInt32, wantedEnd: Epoch, permanent: Bool, info: EpochInfo,
        existing: [BlobRegistration]
    ) async throws(ClientError) -> (ObjectID, UInt64, RegisterBlobOp, Epoch) {
        if let reusable = existing.first(where: { $0.certifiedEpoch == nil && $0.deletable == !permanent && $0.endEpoch >= wantedEnd }) {
            return (reusable.objectID, 0, .reuseRegistration(encodedLength: encodedLength), reusable.endEpoch)
        }
        let units = Limits.storageUnits(encodedLength)
        let owned = try await chainCall { () async throws(ChainClientError) in try await chain.storageResources(ownedBy: builder.address) }
        let fitting = owned.filter { $0.startEpoch <= info.epoch && $0.endEpoch >= wantedEnd && $0.size >= encodedLength }.min { $0.size < $1.size }
        let source: StorageSource = fitting.map { .existing($0.id) } ?? .reserve(epochs: epochs)
        let cost = try Self.cost(units: units, epochs: fitting == nil ? epochs : 0, info: info)
        let metadata = encoded.metadata.metadata
        let outcome = try await chainCall { () async throws(ChainClientError) in
            try await builder.execute([.registerBlob(
                storage: source, blobID: encoded.blobID, rootHash: metadata.rootHash.bytes, size: metadata.unencodedLength,
                encodingType: 1, deletable: !permanent)])
        }
        guard case .blobRegistered(_, _, _, _, _, _, let objectID)? = outcome.events.first else {
            throw ClientError(.verification, "the registration emitted no BlobRegistered event")
        }
        return (
            objectID, cost, fitting == nil ? .registerFromScratch(encodedLength: encodedLength, epochsAhead: epochs) : .reuseStorage(encodedLength: encodedLength),
            fitting?.endEpoch ?? wantedEnd)
    }

    /// Asks every node's health (in parallel, a few seconds at most) and refuses to go on when the
    /// nodes that answer hold less than a quorum of shards: nothing has been spent yet.
    private func requireReachableQuorum(_ committee: CommitteeInfo) async throws(ClientError) {
        let timeout = min(timeoutSeconds, 5)
        let total = UInt64(committee.shardCount)
        let weight = await withTaskGroup(of: UInt64.self) { group in
            for member in committee.members {
                group.addTask {
                    guard let base = member.httpBase, let response = await self.nodeRequest(.GET, "\(base)/v1/health", timeout: timeout), response.status == 200 else { return 0 }
                    return member.weight
                }
            }
            // Enough as soon as a quorum answers; a hung node costs nothing then.
            var weight: UInt64 = 0
            for await answered in group {
                weight += answered
                if BFT.isQuorum(weight: weight, totalWeight: total) {
                    group.cancelAll()
                    break
                }
            }
            return weight
        }
        guard BFT.isQuorum(weight: weight, totalWeight: UInt64(committee.shardCount)) else {
            throw ClientError(.unavailable, "storage nodes holding only \(weight) of \(committee.shardCount) shards answer; a store needs \(BFT.quorumWeight(totalWeight: UInt64(committee.shardCount))). Nothing was spent; retry when more nodes are up (`walrus health --committee`)")
        }
    }

    public func mapChainError(_ error: ChainClientError) -> ClientError {
        if error.ledgerCode == .insufficientFunds { return ClientError(.insufficientFunds, error.message) }
        // The ledger refused the request itself: what it names is missing, or not this wallet's.
        if error.ledgerCode == .notFound { return ClientError(.notFound, error.message) }
        if error.ledgerCode == .notOwner || error.ledgerCode == .invalidArgument { return ClientError(.invalidArgument, error.message) }
        return ClientError(error.isRetryable ? .unavailable : .verification, error.message)
    }

    /// Uploads each node's slivers and asks it to confirm; returns the verified confirmations.
    private func uploadAndConfirm(
        _ encoded: EncodedBlob, committee: CommitteeInfo, persistence: BlobPersistence, progress: @escaping @Sendable (String) -> Void
    ) async -> [(member: Int, signature: Schnorr.Signature)] {
        let n = committee.shardCount
        let offset = encoded.blobID.rotationOffset(shardCount: n)
        let expected = ConfirmationMessage(epoch: committee.epoch, blobID: encoded.blobID, persistence: persistence).intentMessage.serialized
        // A task's result: a node's confirmation (or nil when it gave none), or `.graceOver`.
        enum Event: Sendable {
            case node((Int, Schnorr.Signature)?)
            case graceOver
        }
        let start = Date()
        return await withTaskGroup(of: Event.self) { group in
            for (index, member) in committee.members.enumerated() {
                let pairs = member.shards.map { $0.pairIndex(rotationOffset: offset, shardCount: n) }
                group.addTask {
                    .node(await self.uploadNode(encoded, to: member, index: index, pairs: pairs, shardCount: n, persistence: persistence, expected: expected, epoch: committee.epoch, progress: progress))
                }
            }
            // Every confirmation is collected; once they reach a quorum of shards, the other nodes
            // get a grace period (at least 2 s, or half the time so far) and are then given up:
            // a node that is slow or hung does not hold the store up, and rebuilds its slivers by
            // recovery after the certification.
            var signatures: [(member: Int, signature: Schnorr.Signature)] = []
            var weight: UInt64 = 0
            var answered = 0
            var graceStarted = false
            while let event = await group.next() {
                switch event {
                case .node(let result):
                    answered += 1
                    if let result {
                        signatures.append((result.0, result.1))
                        weight += committee.members[result.0].weight
                    }
                    if answered == committee.members.count {
                        group.cancelAll()
                    } else if !graceStarted, BFT.isQuorum(weight: weight, totalWeight: UInt64(committee.shardCount)) {
                        graceStarted = true
                        let grace = max(2, Date().timeIntervalSince(start) / 2)
                        group.addTask {
                            try? await Task.sleep(nanoseconds: UInt64(grace * 1e9))
                            return .graceOver
                        }
                    }
                case .graceOver:
                    if answered < committee.members.count {
                        progress("a quorum of shards confirmed; not waiting longer for \(committee.members.count - answered) node(s)")
                        group.cancelAll()
                    }
                }
            }
            return signatures.sorted { $0.member < $1.member }
        }
    }

    /// Uploads one node's metadata and slivers, then asks for its confirmation; nil when the node
    /// refused something, gave no valid confirmation, or the task was cancelled.
    private func uploadNode(
        _ encoded: EncodedBlob, to member: CommitteeMember, index: Int, pairs: [SliverPairIndex], shardCount n: UInt16,
        persistence: BlobPersistence, expected: [UInt8], epoch: Epoch, progress: @escaping @Sendable (String) -> Void
    ) async -> (Int, Schnorr.Signature)? {
                    guard let node = member.httpBase else {
                        progress("\(member.name): its registered address '\(member.networkAddress.prefix(64))' is not host:port; skipped")
                        return nil
                    }
                    let base = "\(node)/v1/blobs/\(encoded.blobID)"
                    if let refusal = await self.put(base + "/metadata", .bytes(encoded.metadata.metadata.bcsBytes)) {
                        if !Task.isCancelled { progress("\(member.name): the metadata was not accepted (\(refusal))") }
                        return nil
                    }
                    // Each sliver is its own request, up to `perNodeConcurrency` in flight but no more
                    // than about `perNodeBytesInFlight`: across a WAN a node's share of small slivers
                    // costs (slivers / in flight) round trips; large ones fill the link anyway, and
                    // more of them at once only contend for memory and cores.
                    let slivers = pairs.flatMap { pair in [(pair, SliverAxis.primary), (pair, SliverAxis.secondary)] }
                    let inFlight = max(4, min(WalrusClient.perNodeConcurrency, WalrusClient.perNodeBytesInFlight / max(1, encoded.sliverBCSCount(.primary))))
                    let refusal: String? = await withTaskGroup(of: String?.self) { uploads in
                        for (i, (pair, axis)) in slivers.enumerated() {
                            if i >= inFlight, let refusal = await uploads.next() ?? nil { return refusal }
                            uploads.addTask {
                                let index = axis == .primary ? pair.primarySliverIndex : pair.secondarySliverIndex(shardCount: n)
                                return await self.put("\(base)/slivers/\(pair.rawValue)/\(axis == .primary ? "primary" : "secondary")", WalrusClient.sliverBody(encoded, axis, index))
                            }
                        }
                        for await case let refusal? in uploads { return refusal }
                        return nil
                    }
                    if let refusal {
                        if !Task.isCancelled { progress("\(member.name): not every sliver was accepted (\(refusal))") }
                        return nil
                    }
                    let path: String = switch persistence {
                    case .permanent: "confirmation/permanent"
                    case .deletable(let id): "confirmation/deletable/\(id)"
                    }
                    guard let signature = await self.confirmation(
                        base + "/" + path + "?wait_for_registration=true&wait_millis=5000", expected: expected, key: member.publicKey, epoch: epoch)
                    else {
                        if !Task.isCancelled { progress("\(member.name): no valid confirmation for epoch \(epoch.rawValue)") }
                        return nil
                    }
                    return (index, signature)
    }

    /// The body that uploads a sliver. A large sliver whose symbols are large goes to the socket
    /// from the encoding's buffers as it lies there: no copy, and no buffer of its own (for a
    /// 128 MiB blob, 590 MB of copying and about 100 MB of fresh buffers fewer); a small one,
    /// or one made of many small symbols, is copied into one buffer, which costs less than many
    /// pieces.
    static func sliverBody(_ encoded: EncodedBlob, _ axis: SliverAxis, _ index: SliverIndex) -> HTTPClientBody {
        let count = encoded.sliverBCSCount(axis)
        guard count >= borrowedSliverBytesMin, encoded.symbolSize >= borrowedSymbolBytesMin else {
            return .writer(count: count) { encoded.writeSliverBCS(axis, index, into: $0) }
        }
        let (head, regions, tail) = encoded.sliverBCSParts(axis, index)
        return .borrowed(BorrowedBytes(owner: encoded, parts: [.bytes(head)] + regions.map { .region($0) } + [.bytes(tail)]))
    }

    static let borrowedSliverBytesMin = 256 << 10
    static let borrowedSymbolBytesMin = 4 << 10

    /// Asks a node for its confirmation and verifies it. A node that signs for an earlier epoch
    /// has not yet seen the epoch change: it is asked again, for a few seconds.
    private func confirmation(_ url: String, expected: [UInt8], key: Schnorr.PublicKey, epoch: Epoch) async -> Schnorr.Signature? {
        for _ in 0..<20 where !Task.isCancelled {
            guard let response = await nodeRequest(.GET, url), response.status == 200,
                let signed = try? WalrusJSON.decode(NodeSuccess<StorageConfirmation>.self, from: response.body).success.data.signed,
                let signature = try? Schnorr.Signature(bytes: signed.signature)
            else { return nil }
            let serialized = signed.serializedMessage
            if serialized == expected { return key.isValidSignature(signature, for: serialized) ? signature : nil }
            guard let signedEpoch = try? ConfirmationMessage(serialized: serialized).epoch, signedEpoch < epoch else { return nil }
            try? await Task.sleep(nanoseconds: 250_000_000)
        }
        return nil
    }

    /// PUTs metadata or a sliver; nil when the node accepted it, else why not. Refusals that mean
    /// the node lags behind the chain (it has not applied the registration or the committee of
    /// this epoch yet), server errors and lost connections are retried with backoff within the
    /// timeout; a full disk (507) and any other refusal are final. The first retry comes soon: a
    /// node applies a registration some milliseconds after the client saw it committed, so the
    /// first upload often arrives just before.
    private func put(_ url: String, _ body: HTTPClientBody) async -> String? {
        let deadline = Date().addingTimeInterval(min(timeoutSeconds, 30))
        var delayMs: UInt64 = 10
        var last = "no answer"
        while true {
            if let response = await nodeRequest(.PUT, url, body: body) {
                if response.status == 200 || response.status == 201 { return nil }
                let error = try? WalrusJSON.decode(APIErrorBody.self, from: response.body)
                let reason = error?.reason ?? ""
                last = error?.message ?? "HTTP \(response.status)"
                if response.status == 507 || reason == "INSUFFICIENT_STORAGE" || (response.status < 500 && !WalrusClient.lagReasons.contains(reason)) { return last }
            }
            guard Date() < deadline else { return last + "; gave up retrying" }
            guard !Task.isCancelled else { return "cancelled" }
            try? await Task.sleep(nanoseconds: delayMs * 1_000_000)
            delayMs = min(delayMs * 2, 1000)
        }
    }

    static let lagReasons: Set<String> = ["NOT_REGISTERED", "SHARD_NOT_ASSIGNED", "METADATA_NOT_FOUND"]


    // MARK: - Read

    /// Reads a blob (PROTOCOL.md §8.3): metadata from the first node whose answer verifies, primary
    /// slivers from the nodes holding them until n_P verify, decoding, and the consistency check.
    public func read(_ blobID: BlobID, check: ConsistencyCheck = .default, progress: @Sendable (String) -> Void = { _ in }) async throws(ClientError) -> [UInt8] {
        try await read(blobID, check: check, progress: progress) { Array($0) }
    }

    /// Reads a blob and hands it to `body` in place, without copying it out: the systematic slivers
    /// are received straight into the message matrix, and `body` sees the blob there. The bytes are
    /// valid only during the call.
    public func read<R>(
        _ blobID: BlobID, check: ConsistencyCheck = .default, progress: @Sendable (String) -> Void = { _ in },
        _ body: (UnsafeRawBufferPointer) -> R
    ) async throws(ClientError) -> R {
        let (committee, metadata) = try await certifiedMetadata(blobID)
        let n = committee.shardCount
        let config: EncodingConfig
        let decoder: BlobDecoder
        do {
            config = try EncodingConfig(shardCount: n)
            decoder = try BlobDecoder(config: config, metadata: BlobMetadataWithID(blobID: blobID, metadata: metadata))
        } catch { throw ClientError(.verification, error.message) }
        let offset = blobID.rotationOffset(shardCount: n)
        let needed = config.primarySourceSymbols
        // The systematic slivers, received into their rows of the message matrix and verified there:
        // when all verify, the matrix holds the blob (nothing to decode).
        let assembly: SystematicAssembly
        do { assembly = try SystematicAssembly(decoder: decoder) } catch { throw ClientError(.verification, error.message) }
        var lagging = await fetchSystematicRows(blobID, into: assembly, committee: committee, offset: offset)
        if assembly.isComplete && check != .strict {
            progress("read \(metadata.unencodedLength) bytes from \(needed) systematic slivers")
            return assembly.withBlob(body)
        }
        // Otherwise, for each systematic sliver that could not be fetched or did not verify, the
        // next sliver held by a node that has not failed or lagged in this read, until n_P verify
        // or none is left to ask for.
        if !lagging.isEmpty { progress("no answer in time from \(lagging.map(WalrusClient.displayURL).sorted().joined(separator: ", ")); asking other nodes") }
        var verified = assembly.verifiedSlivers()
        var remaining = Array(needed..<Int(n))
        while verified.count < needed && !remaining.isEmpty {
            let usable = remaining.filter { pair in owner(ofPair: pair, committee: committee, offset: offset).map { !lagging.contains($0) } ?? false }
            if usable.isEmpty { break }
            let batch = Array(usable.prefix(needed - verified.count))
            remaining.removeAll { batch.contains($0) }
            let (slivers, lagged) = await fetchPrimarySlivers(blobID, pairs: batch, committee: committee, offset: offset, decoder: decoder)
            verified += slivers
            lagging.formUnion(lagged)
        }
        guard verified.count >= needed else {
            throw ClientError(.unavailable, "only \(verified.count) of the \(needed) primary slivers needed could be fetched and verified; too many storage nodes are down, retry later")
        }
        do {
            let blob = try decoder.decode(verified: verified, check: check)
            progress("read \(blob.count) bytes from \(verified.count) slivers")
            return blob.withUnsafeBytes(body)
        } catch {
            throw ClientError(error.code == .inconsistentBlob ? .verification : .unavailable, error.message)
        }
    }

    /// A blob the chain says is certified and valid now, with its verified metadata: what HEAD
    /// and Range answers need, without fetching any sliver.
    public struct CertifiedBlob: Sendable {
        public let blobID: BlobID
        let committee: CommitteeInfo
        let metadata: BlobMetadata
        /// The blob's length in bytes.
        public var length: UInt64 { metadata.unencodedLength }
    }

    /// Checks that `blobID` is certified and fetches its verified metadata.
    public func certifiedBlob(_ blobID: BlobID) async throws(ClientError) -> CertifiedBlob {
        let (committee, metadata) = try await certifiedMetadata(blobID)
        return CertifiedBlob(blobID: blobID, committee: committee, metadata: metadata)
    }

    /// Bytes `range` of a certified blob (clamped to its length), fetching only the systematic
    /// rows that hold them (see `readStream`).
    public func readRange(_ blob: CertifiedBlob, _ range: Range<UInt64>) async throws(ClientError) -> [UInt8] {
        var bytes: [UInt8] = []
        do {
            try await readStream(blob, range: range) { bytes += $0 }
        } catch let error as ClientError {
            throw error
        } catch {
            throw ClientError(.unavailable, "\(error)")
        }
        return bytes
    }

    /// Blob bytes `range` (the whole blob when nil), handed to `consume` in order, in pieces of at
    /// most `pieceBytes`, as they are read: the systematic rows are fetched and verified a window
    /// of about `windowBytes` at a time, the next window while the previous is consumed, so a
    /// read holds two windows, not the blob. Each row is verified against the metadata (the
    /// default consistency check). When a window cannot be assembled (a row no node serves or
    /// verifies), the blob is read and decoded whole once and the rest is served from it.
    public func readStream(
        _ blob: CertifiedBlob, range: Range<UInt64>? = nil, windowBytes: Int = 32 << 20, pieceBytes: Int = 1 << 20,
        _ consume: ([UInt8]) async throws -> Void
    ) async throws {
        let n = blob.committee.shardCount
        let decoder: BlobDecoder
        let rowBytes: Int, rows: Range<Int>
        do {
            decoder = try BlobDecoder(config: try EncodingConfig(shardCount: n), metadata: BlobMetadataWithID(blobID: blob.blobID, metadata: blob.metadata))
            let shape = try SystematicAssembly(decoder: decoder, window: 0..<0)
            rowBytes = shape.rowBytes
            rows = shape.rows(holding: range ?? 0..<blob.length)
        } catch { throw ClientError(.verification, error.message) }
        let wanted = (range ?? 0..<blob.length).clamped(to: 0..<blob.length)
        guard !rows.isEmpty, !wanted.isEmpty else { return }
        let perWindow = max(1, windowBytes / max(1, rowBytes))
        let windows = stride(from: rows.lowerBound, to: rows.upperBound, by: perWindow).map { $0..<min($0 + perWindow, rows.upperBound) }
        let offset = blob.blobID.rotationOffset(shardCount: n)
        func fetch(_ window: Range<Int>) -> Task<SystematicAssembly?, Never> {
            Task {
                guard let assembly = try? SystematicAssembly(decoder: decoder, window: window) else { return nil }
                _ = await fetchSystematicRows(blob.blobID, into: assembly, rows: window, committee: blob.committee, offset: offset)
                return assembly
            }
        }
        var next: Task<SystematicAssembly?, Never>? = fetch(windows[0])
        defer { next?.cancel() }
        var whole: [UInt8]?
        for index in windows.indices {
            let assembly = await next?.value
            next = index + 1 < windows.count && whole == nil ? fetch(windows[index + 1]) : nil
            let part: Range<UInt64>
            if let assembly {
                part = assembly.windowBytes.clamped(to: wanted)
            } else {
                let start = UInt64(windows[index].lowerBound) * UInt64(rowBytes), end = UInt64(windows[index].upperBound) * UInt64(rowBytes)
                part = (start..<end).clamped(to: wanted)
            }
            var cursor = part.lowerBound
            while cursor < part.upperBound {
                let end = min(cursor + UInt64(pieceBytes), part.upperBound)
                var piece = whole == nil ? assembly?.withBytes(cursor..<end) { Array($0) } : nil
                if piece == nil {
                    if whole == nil { whole = try await read(blob.blobID) }
                    guard let whole, UInt64(whole.count) >= end else {
                        throw ClientError(.verification, "blob \(blob.blobID) decoded to fewer bytes than its metadata states")
                    }
                    piece = Array(whole[Int(cursor)..<Int(end)])
                }
                try await consume(piece ?? [])
                cursor = end
            }
        }
    }

    /// The committee and the blob's verified metadata, once the chain says the blob is certified
    /// and valid now.
    private func certifiedMetadata(_ blobID: BlobID) async throws(ClientError) -> (CommitteeInfo, BlobMetadata) {
        let status = try await chainCall { () async throws(ChainClientError) in try await chain.registrations(blobID) }
        if status.invalid { throw ClientError(.verification, "blob \(blobID) was found inconsistently encoded and is invalid") }
        let epoch = try await chainCall { () async throws(ChainClientError) in try await chain.epochInfo() }.epoch
        guard status.registrations.contains(where: { $0.certifiedEpoch != nil && $0.endEpoch > epoch }) else {
            throw ClientError(.notFound, "blob \(blobID) is not certified on this network, or its storage expired")
        }
        let committee = try await chainCall { () async throws(ChainClientError) in try await chain.committee() }
        guard let metadata = await fetchMetadata(blobID, committee: committee) else {
            throw ClientError(.unavailable, "no storage node returned metadata that verifies against \(blobID); retry later")
        }
        return (committee, metadata)
    }

    /// The blob's metadata from the first node whose answer verifies. Nodes are asked in random
    /// order, the next one as soon as one fails or after a second without an answer, so a hung
    /// node delays this by a second, not by a request timeout.
    private func fetchMetadata(_ blobID: BlobID, committee: CommitteeInfo) async -> BlobMetadata? {
        let members = committee.members.shuffled()
        return await withTaskGroup(of: BlobMetadata??.self) { group in
            var next = 0
            func askNext() {
                guard next < members.count else { return }
                let member = members[next]
                next += 1
                group.addTask {
                    guard let base = member.httpBase, let response = await self.nodeRequest(.GET, "\(base)/v1/blobs/\(blobID)/metadata"), response.status == 200,
                        let withID = try? BlobMetadataWithID.decode(bcs: response.body), withID.blobID == blobID,
                        (try? withID.metadata.verify(against: blobID, shardCount: committee.shardCount)) != nil
                    else { return .some(nil) }
                    return .some(withID.metadata)
                }
                // A timer: `nil` (not `.some(nil)`) means "a second passed".
                group.addTask {
                    try? await Task.sleep(nanoseconds: 1_000_000_000)
                    return nil
                }
            }
            askNext()
            var outstanding = 1
            while outstanding > 0, let event = await group.next() {
                switch event {
                case .some(.some(let metadata)):
                    group.cancelAll()
                    return metadata
                case .some(.none):
                    outstanding -= 1
                    if next < members.count { outstanding += 1; askNext() }
                case .none:
                    if next < members.count { outstanding += 1; askNext() }
                }
            }
            group.cancelAll()
            return nil
        }
    }

    /// A node's base URL for people: without the pinned key it carries.
    static func displayURL(_ url: String) -> String {
        guard let at = url.firstIndex(of: "@"), let scheme = url.range(of: "://"), scheme.upperBound < at else { return url }
        return String(url[..<scheme.upperBound]) + String(url[url.index(after: at)...])
    }

    /// The base URL (with the pinned key, for TLS) of the node holding sliver pair `pair`.
    func owner(ofPair pair: Int, committee: CommitteeInfo, offset: UInt16) -> String? {
        // Only a valid host:port: an address from the chain never becomes a path or another host.
        committee.owner(of: SliverPairIndex(UInt16(pair)).shardIndex(rotationOffset: offset, shardCount: committee.shardCount))?.httpBase
    }

    /// The pairs with the nodes that hold them, as `HedgedFetch` takes them.
    func work(_ pairs: some Sequence<Int>, committee: CommitteeInfo, offset: UInt16) -> [(item: Int, node: String)] {
        pairs.compactMap { pair in owner(ofPair: pair, committee: committee, offset: offset).map { (item: pair, node: $0) } }
    }

    /// Fetches the systematic primary slivers (pairs 0..<n_P), each body streamed into its row of
    /// `assembly` and verified there when complete, through `HedgedFetch` (a slow node holds up
    /// the read for a grace period, not for the request timeout); returns the nodes that failed
    /// or lagged.
    private func fetchSystematicRows(
        _ blobID: BlobID, into assembly: SystematicAssembly, rows: Range<Int>? = nil, committee: CommitteeInfo, offset: UInt16
    ) async -> Set<String> {
        let outcome = await HedgedFetch.run(work(rows ?? 0..<assembly.rows, committee: committee, offset: offset)) { row, node in
            let sink = assembly.sink(row: row)
            let url = "\(node)/v1/blobs/\(blobID)/slivers/\(row)/primary"
            guard let response = await self.nodeRequest(.GET, url, responseBytesMax: SliverData.symbolBytesMax + 16, sink: BodySink(sink)),
                response.status == 200
            else { return false }
            return (try? assembly.accept(sink)) != nil
        }
        return outcome.laggingNodes
    }

    /// Fetches the primary slivers of `pairs` through `HedgedFetch` and verifies each as it
    /// arrives, so verifying overlaps the other transfers; returns those that verify and the nodes
    /// that failed or lagged.
    private func fetchPrimarySlivers(
        _ blobID: BlobID, pairs: [Int], committee: CommitteeInfo, offset: UInt16, decoder: BlobDecoder
    ) async -> ([VerifiedSliver], Set<String>) {
        let found = Mutex<[VerifiedSliver]>([])
        let outcome = await HedgedFetch.run(work(pairs, committee: committee, offset: offset)) { pair, node in
            let url = "\(node)/v1/blobs/\(blobID)/slivers/\(pair)/primary"
            guard let response = await self.nodeRequest(.GET, url, responseBytesMax: SliverData.symbolBytesMax + 16), response.status == 200,
                let sliver = response.withUnsafeBody({ try? SliverData(bcs: $0, axis: .primary) }),
                sliver.index.rawValue == UInt16(pair), let verified = try? decoder.verify(sliver)
            else { return false }
            found.withLock { $0.append(verified) }
            return true
        }
        return (found.withLock { $0 }, outcome.laggingNodes)
    }
}

/// Streams a sliver response into its row of the message matrix.
final class BodySink: HTTPBodySink {
    let sink: SliverWireSink
    init(_ sink: SliverWireSink) { self.sink = sink }
    func receive(_ chunk: UnsafeRawBufferPointer) -> Bool { sink.receive(chunk) }
}
