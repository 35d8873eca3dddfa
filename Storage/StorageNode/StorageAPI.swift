import Synchronization
import Metrics
import ChainClient
import Foundation
import HTTPKit
import KVStore
import NIOHTTP1
import RedStuff
import WalrusAPI
import WalrusCore
import WalrusCrypto

/// The storage node's REST API: the reference's paths, BCS bodies and JSON answers (PROTOCOL.md
/// §6.1). Errors are the AIP-193 JSON body with a stable reason.
struct StorageAPI: Sendable {
    let state: NodeState
    let store: SliverStore
    let key: Schnorr.PrivateKey
    let handOver: HandOver
    let recovery: RecoveryWorker
    /// Sync-shard requests answered within their freshness window.
    let replays = ReplayCache(capacity: 100_000)

    /// An error answer with the reference's shape.
    /// A write that the store refused: 507 when the disk is full (the client then stops sending
    /// this node more, rather than retrying), 500 otherwise. Nothing was stored either way.
    static func storageFailed(_ error: KVError) -> HTTPResponse {
        error.code == .full
            ? Self.error(.insufficientStorage, "INSUFFICIENT_STORAGE", error.message)
            : Self.error(.internalServerError, "STORAGE_FAILED", error.message)
    }

    /// Walrus's error body in the storage nodes' domain, with the (HTTP code, status) pair Walrus
    /// clients accept: a 400 is FAILED_PRECONDITION when the node's state refuses the request
    /// (not registered, shard not assigned, metadata or slivers missing), INVALID_ARGUMENT when the
    /// request itself is wrong; a full disk is RESOURCE_EXHAUSTED (429) with the reason
    /// INSUFFICIENT_STORAGE.
    static func error(_ status: HTTPResponseStatus, _ reason: String, _ message: String) -> HTTPResponse {
        let code: APIStatusCode = switch status.code {
        case 400: preconditionReasons.contains(reason) ? .failedPrecondition : .invalidArgument
        case 401: .unauthenticated
        case 403: .permissionDenied
        case 404: .notFound
        case 416: .rangeNotSatisfiable
        case 429, 507: .resourceExhausted
        case 451: .unavailableForLegalReasons
        case 503: .unavailable
        case 504: .deadlineExceeded
        default: .internalError
        }
        return .walrus(APIErrorBody(code, reason: reason, domain: APIErrorDomain.storageNode, message))
    }

    static let preconditionReasons: Set<String> = [
        "NOT_REGISTERED", "SHARD_NOT_ASSIGNED", "METADATA_NOT_FOUND", "MISSING_SLIVERS", "NOT_CERTIFIED", "CACHE_SATURATED",
    ]

    static func success(_ data: Any, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        .json(["success": ["code": Int(status.code), "data": data]], status: status)
    }

    /// The body each route may carry, decided from the head before any of it is read: a sliver
    /// for sliver uploads and inconsistency proofs, 4 MiB for metadata (64 bytes a shard at the
    /// largest committee), 4 KiB for a signed shard-sync request, nothing for the rest.
    static func admission(_ head: HTTPRequestHead, sliverBytesMax: Int) -> HTTPAdmission {
        let path = head.uri.split(separator: "?", maxSplits: 1).first ?? ""
        switch head.method {
        case .PUT where path.hasSuffix("/metadata"): return .accept(bodyBytesMax: 4 << 20)
        case .PUT: return .accept(bodyBytesMax: sliverBytesMax)
        case .POST where path.contains("/inconsistencyProof/"): return .accept(bodyBytesMax: sliverBytesMax)
        case .POST where path == "/v1/migrate/sync_shard": return .accept(bodyBytesMax: 4 << 10)
        default: return .accept(bodyBytesMax: 0)
        }
    }

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let p = request.components
        if request.method == .GET && p == ["v1", "health"] { return await health(detailed: request.query["detailed"] == "true") }
        if request.method == .GET && p == ["v1", "api"] { return HTTPResponse(status: .ok, contentType: "application/json", body: Self.openAPI) }
        if request.method == .POST && p == ["v1", "migrate", "sync_shard"] { return await syncShard(request) }
        guard p.count >= 4, p[0] == "v1", p[1] == "blobs" else { return Self.error(.notFound, "NOT_FOUND", "no route \(request.path)") }
        guard let blobID = try? BlobID(parsing: p[2]) else { return Self.error(.badRequest, "INVALID_BLOB_ID", "'\(p[2])' is not a blob ID") }
        let rest = Array(p[3...])
        switch (request.method, rest.count, rest.first ?? "") {
        case (.GET, 1, "status"): return await status(blobID)
        case (.PUT, 1, "metadata"): return await putMetadata(blobID, request.body)
        case (.GET, 1, "metadata"): return getMetadata(blobID)
        case (.GET, 2, "metadata") where rest[1] == "status": return Self.success(store.metadata(blobID) == nil ? "nonexistent" : "stored")
        case (.PUT, 3, "slivers"): return await putSliver(blobID, rest[1], rest[2], request.body, crc32c: request.bodyCRC32C)
        case (.GET, 3, "slivers"): return await getSliver(blobID, rest[1], rest[2], statusOnly: false)
        case (.GET, 4, "slivers") where rest[3] == "status": return await getSliver(blobID, rest[1], rest[2], statusOnly: true)
        case (.GET, 2, "confirmation") where rest[1] == "permanent": return await confirm(blobID, .permanent, request.query)
        case (.GET, 1, "recoverySymbols"): return await recoverySymbols(blobID, request.query)
        case (.POST, 2, "inconsistencyProof"): return await inconsistencyProof(blobID, rest[1], request.body)
        case (.GET, 3, "confirmation") where rest[1] == "deletable":
            guard let object = try? ObjectID(parsing: rest[2]) else { return Self.error(.badRequest, "INVALID_ARGUMENT", "an object ID is 0x and 64 hex digits") }
            return await confirm(blobID, .deletable(object), request.query)
        default:
            return Self.error(.notFound, "NOT_FOUND", "no route \(request.method) \(request.path)")
        }
    }

    /// Walrus's `ServiceHealthInfo`; `?detailed=true` adds each shard's state.
    private func health(detailed: Bool) async -> HTTPResponse {
        let owned = await state.ownShards
        let transfer = await handOver.inTransfer, recovering = await handOver.inRecovery
        let readOnly = Set(await state.previousShards).subtracting(owned)
        func status(_ shard: ShardIndex) -> String { transfer.contains(shard) ? "inTransfer" : recovering.contains(shard) ? "inRecovery" : "ready" }
        let inTransfer = owned.filter { transfer.contains($0) }.count
        let inRecovery = owned.filter { !transfer.contains($0) && recovering.contains($0) }.count
        let detail = detailed
            ? ServiceHealthInfo.ShardStatusDetail(
                owned: owned.sorted().map { .init(shard: $0.rawValue, status: status($0)) },
                other: readOnly.sorted().map { .init(shard: $0.rawValue, status: "readOnly") })
            : nil
        let info = ServiceHealthInfo(
            uptime: .init(seconds: Date().timeIntervalSince(state.started)), epoch: await state.epoch.rawValue,
            publicKey: Data(key.publicKey.bytes).base64EncodedString(), nodeStatus: owned.isEmpty ? "Standby" : "Active",
            eventProgress: .init(persisted: await state.eventsApplied, pending: UInt64(await recovery.pending), highestFinishedEventIndex: await state.lastEventIndex),
            shardSummary: .init(
                owned: owned.count, ownedShardStatus: .init(unknown: 0, ready: owned.count - inTransfer - inRecovery, inTransfer: inTransfer, inRecovery: inRecovery),
                readOnly: readOnly.count),
            shardDetail: detail)
        return HTTPResponse(status: .ok, contentType: "application/json", body: WalrusJSON.encode(NodeSuccess(code: 200, data: info)))
    }

    private func status(_ blobID: BlobID) async -> HTTPResponse {
        let status = store.blobInfo(blobID)?.status ?? .nonexistent
        return HTTPResponse(status: .ok, contentType: "application/json", body: WalrusJSON.encode(NodeSuccess(code: 200, data: status)))
    }

    private func putMetadata(_ blobID: BlobID, _ body: [UInt8]) async -> HTTPResponse {
        // Registration first, even when the metadata is still here from an earlier registration:
        // until the node has seen the new one, the collector may yet remove the old data.
        guard await state.isRegistered(blobID, nil) else {
            return Self.error(.badRequest, "NOT_REGISTERED", "blob \(blobID) is not registered on chain (or expired); register it first")
        }
        if store.metadata(blobID) != nil { return Self.success("metadata already stored", status: .ok) }
        let metadata: BlobMetadata
        do { metadata = try BlobMetadata.decode(bcs: body) } catch {
            return Self.error(.badRequest, error.code == .unsupportedEncoding ? "UNSUPPORTED_ENCODING_TYPE" : "INVALID_METADATA", "the body is not BCS BlobMetadata: \(error.message)")
        }
        do { try metadata.verify(against: blobID, shardCount: await state.shardCount) } catch {
            return Self.error(.badRequest, error.code == .unsupportedEncodingType ? "UNSUPPORTED_ENCODING_TYPE" : "INVALID_METADATA", error.message)
        }
        let store = self.store
        do { try await BlockingIO.run { () throws(KVError) in try store.putMetadata(blobID, metadata) } } catch { return Self.storageFailed(error) }
        return Self.success("metadata successfully stored", status: .created)
    }

    private func getMetadata(_ blobID: BlobID) -> HTTPResponse {
        guard let metadata = store.metadata(blobID) else { return Self.error(.notFound, "METADATA_NOT_FOUND", "no metadata for blob \(blobID)") }
        return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: BlobMetadataWithID(blobID: blobID, metadata: metadata).bcsBytes)
    }

    /// Resolves a pair index and axis to the shard this node must own for the blob (for reads, a
    /// shard it owned in the previous epoch is enough: it stays readable during the hand-over).
    private func locate(_ blobID: BlobID, _ pairText: String, _ axisText: String, forReading: Bool = false) async -> Result<(SliverPairIndex, SliverAxis, ShardIndex), HTTPError> {
        let n = await state.shardCount
        guard let pair = UInt16(pairText), pair < n else { return .failure(HTTPError(.badRequest, "INVALID_ARGUMENT", "sliver pair index \(pairText) is not below \(n)")) }
        let axis: SliverAxis
        switch axisText {
        case "primary": axis = .primary
        case "secondary": axis = .secondary
        default: return .failure(HTTPError(.badRequest, "INVALID_ARGUMENT", "sliver type '\(axisText)' is not primary or secondary"))
        }
        let shard = SliverPairIndex(pair).shardIndex(rotationOffset: blobID.rotationOffset(shardCount: n), shardCount: n)
        guard await (forReading ? state.readableShards : state.ownShards).contains(shard) else {
            return .failure(HTTPError(.badRequest, "SHARD_NOT_ASSIGNED", "pair \(pair) of blob \(blobID) is stored on \(shard), which this node does not own"))
        }
        return .success((SliverPairIndex(pair), axis, shard))
    }

    /// `crc32c`: the body's checksum if the server computed it as the body arrived.
    private func putSliver(_ blobID: BlobID, _ pairText: String, _ axisText: String, _ body: [UInt8], crc32c: UInt32?) async -> HTTPResponse {
        let (pair, axis, shard): (SliverPairIndex, SliverAxis, ShardIndex)
        switch await locate(blobID, pairText, axisText) {
        case .failure(let e): return e.response
        case .success(let found): (pair, axis, shard) = found
        }
        guard await state.isRegistered(blobID, nil) else {
            return Self.error(.badRequest, "NOT_REGISTERED", "blob \(blobID) is not registered on chain (or expired)")
        }
        guard let metadata = store.metadata(blobID) else { return Self.error(.badRequest, "METADATA_NOT_FOUND", "store the metadata of blob \(blobID) first") }
        if store.hasSliver(axis, shard: shard, blobID: blobID) { return Self.success("sliver stored successfully") }
        let n = await state.shardCount
        let expected = axis == .primary ? pair.primarySliverIndex : pair.secondarySliverIndex(shardCount: n)
        // Checked where the body lies (no decoded copy of the sliver): wire form, index, Merkle root.
        let checked = body.withUnsafeBytes { raw in
            Result { () throws(RedStuffError) -> SliverIndex in
                let (_, _, index) = try SliverData.parseWire(raw, maxBytes: SliverData.symbolBytesMax)
                guard index == expected else { return index }
                return try SliverData.verifyWire(raw, axis: axis, against: metadata, config: EncodingConfig(shardCount: n))
            }
        }
        switch checked {
        case .failure(let error) where error.code == .malformed:
            return Self.error(.badRequest, "INVALID_SLIVER", "the body is not a BCS sliver: \(error.message)")
        case .failure(let error):
            return Self.error(.badRequest, "INVALID_SLIVER", error.message)
        case .success(let index) where index != expected:
            return Self.error(.badRequest, "SLIVER_INDEX_MISMATCH", "pair \(pair.rawValue) holds \(axis) sliver \(expected.rawValue), the body is sliver \(index.rawValue)")
        case .success:
            break
        }
        let store = self.store
        do {
            try await BlockingIO.run { () throws(KVError) in try store.putSliver(axis, shard: shard, blobID: blobID, bytes: body, crc32c: crc32c) }
        } catch {
            return Self.storageFailed(error)
        }
        Self.bytesStored.increment(by: body.count)
        return Self.success("sliver stored successfully", status: .created)
    }

    private func getSliver(_ blobID: BlobID, _ pairText: String, _ axisText: String, statusOnly: Bool) async -> HTTPResponse {
        let (axis, shard): (SliverAxis, ShardIndex)
        switch await locate(blobID, pairText, axisText, forReading: true) {
        case .failure(let e): return e.response
        case .success(let found): (axis, shard) = (found.1, found.2)
        }
        if let info = store.blobInfo(blobID), info.invalid { return Self.error(.notFound, "BLOB_INVALID", "blob \(blobID) was found inconsistently encoded") }
        guard let bytes = store.sliver(axis, shard: shard, blobID: blobID) else {
            return statusOnly ? Self.success("nonexistent") : Self.error(.notFound, "SLIVER_NOT_FOUND", "no \(axis) sliver of pair \(pairText) for blob \(blobID)")
        }
        if statusOnly { return Self.success("stored") }
        Self.bytesServed.increment(by: bytes.count)
        return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: bytes)
    }

    static let bytesStored = Counter(label: "walrus_storage_sliver_bytes_stored_total")
    static let bytesServed = Counter(label: "walrus_storage_sliver_bytes_served_total")

    /// Shard sync (PROTOCOL.md §4.5): a node that owns `shard` now pulls its slivers from the
    /// previous owner. The request is signed by the requester's key (given in the Authorization
    /// header) and is refused unless that key owns the shard in the current committee.
    private func syncShard(_ request: HTTPRequest) async -> HTTPResponse {
        guard let header = request.headers["authorization"], let keyBytes = Data(base64Encoded: header),
            let requester = try? Schnorr.PublicKey(bytes: Array(keyBytes))
        else { return Self.error(.unauthorized, "REQUEST_UNAUTHORIZED", "the Authorization header carries the requester's public key in base64") }
        guard let signed = try? SignedRequest.decode(bcs: request.body),
            let message = try? requester.verify(signed.signature, serializedMessage: signed.serializedMessage, expecting: .syncShard),
            let sync = try? SyncShardRequest.decode(bcs: message.body), sync.epoch == message.header.epoch
        else { return Self.error(.badRequest, "INVALID_REQUEST", "the body is not a validly signed SyncShardRequest") }
        // Addressed to this node, fresh, and not seen before: a signed request recorded on the
        // wire cannot be replayed, here or to another node.
        guard let recipient = sync.recipient else {
            return Self.error(.badRequest, "INVALID_REQUEST", "version 1 sync-shard requests name no recipient and no time, so they could be replayed; send version 2")
        }
        guard recipient == key.publicKey.bytes else {
            return Self.error(.forbidden, "REQUEST_UNAUTHORIZED", "the request is addressed to another node")
        }
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        guard (now > sync.timestampMs ? now - sync.timestampMs : sync.timestampMs - now) <= SyncShardRequest.freshnessMs else {
            return Self.error(.forbidden, "REQUEST_UNAUTHORIZED", "the request was made at \(sync.timestampMs) ms, more than \(SyncShardRequest.freshnessMs / 1000) s from this node's clock; check both clocks")
        }
        let committee = await state.committee
        guard sync.epoch == committee.epoch, committee.owner(of: sync.shard)?.publicKey == requester else {
            return Self.error(.forbidden, "REQUEST_UNAUTHORIZED", "the requester does not own \(sync.shard) in epoch \(committee.epoch.rawValue)")
        }
        switch replays.admit(Blake2b256.hash(signed.serializedMessage), expiresMs: sync.timestampMs &+ SyncShardRequest.freshnessMs, nowMs: now) {
        case .fresh: break
        case .replayed: return Self.error(.forbidden, "REQUEST_UNAUTHORIZED", "this signed request was already answered; sign a new one")
        case .full: return Self.error(.serviceUnavailable, "BUSY", "too many sync-shard requests in the last minute; retry shortly")
        }
        // Only blobs certified before this epoch, not invalid: filtered before the page is cut,
        // and the page cut by bytes as well as by count.
        let store = self.store, limit = Int(min(sync.count, SyncShardRequest.countMax))
        let entries = await BlockingIO.run {
            store.syncPage(sync.axis, shard: sync.shard, from: sync.startingBlobID, countMax: limit, bytesMax: SyncShardRequest.pageBytesTarget) { blobID in
                guard let info = store.blobInfo(blobID), !info.invalid, let certified = info.initialCertifiedEpoch else { return false }
                return certified < sync.epoch && info.isCertified(at: sync.epoch)
            }
        }
        var writer = BCSWriter(capacity: entries.reduce(16) { $0 + $1.1.count + 48 })
        writer.writeLength(entries.count)
        for (blobID, bytes) in entries {
            writer.write(blobID)
            writer.writeBytes(bytes)
        }
        return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: writer.bytes)
    }

    /// The most bytes one recovery-symbol answer may hold: a request for more targets than fit is
    /// refused with the number that would, and the asker splits it.
    static let recoverySymbolsBytesMax = 16 << 20

    /// The most bytes one symbol takes in a recovery-symbol answer: the symbol, its indices and
    /// lengths, and a proof of at most log2(n) + 1 nodes of 33 bytes.
    static func recoverySymbolBytes(symbolSize: Int, n: Int) -> Int {
        var depth = 1
        while (1 << depth) < n { depth += 1 }
        return symbolSize + 16 + 33 * (depth + 1)
    }

    /// Recovery symbols for sliver `targetSliver` of axis `targetType`: one from each sliver of the
    /// other axis this node holds, with its Merkle proof (BCS `Vec<GeneralRecoverySymbol>`).
    /// Several targets (`targetSlivers=1,2,3`) share one expansion of each source sliver; repeated
    /// targets count once, and the answer is capped in bytes, so one request cannot ask the node
    /// for more than `recoverySymbolsBytesMax`. The work runs on the recovery pool; when that is
    /// full the answer is 503 with Retry-After.
    private func recoverySymbols(_ blobID: BlobID, _ query: [String: String]) async -> HTTPResponse {
        let n = await state.shardCount
        let targetTexts = query["targetSlivers"].map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            ?? query["targetSliver"].map { [$0] } ?? []
        var seen = Set<UInt16>()
        var targets: [SliverIndex] = []
        for text in targetTexts.prefix(Int(n) + 1) {
            guard let value = UInt16(text), value < n else {
                return Self.error(.badRequest, "INVALID_ARGUMENT", "target sliver '\(text.prefix(16))' is not a number below \(n)")
            }
            if seen.insert(value).inserted { targets.append(SliverIndex(value)) }
        }
        guard !targets.isEmpty, targetTexts.count <= Int(n),
            let axis: SliverAxis = query["targetType"] == "primary" ? .primary : query["targetType"] == "secondary" ? .secondary : nil
        else { return Self.error(.badRequest, "INVALID_ARGUMENT", "give targetSliver or targetSlivers (at most \(n), each below \(n)) and targetType (primary or secondary)") }
        if let info = store.blobInfo(blobID), info.invalid { return Self.error(.notFound, "BLOB_INVALID", "blob \(blobID) is invalid") }
        guard let config = try? EncodingConfig(shardCount: n), let metadata = store.metadata(blobID),
            let symbolSize = try? config.symbolSize(forLength: metadata.unencodedLength)
        else { return Self.error(.notFound, "SLIVER_NOT_FOUND", "this node holds no sliver of blob \(blobID) to help with") }
        let shards = await state.readableShards.filter { self.store.hasSliver(axis.orthogonal, shard: $0, blobID: blobID) }
        guard !shards.isEmpty else { return Self.error(.notFound, "SLIVER_NOT_FOUND", "this node holds no sliver of blob \(blobID) to help with") }
        let perSymbol = Self.recoverySymbolBytes(symbolSize: symbolSize, n: config.n)
        let fitting = Self.recoverySymbolsBytesMax / max(1, shards.count * perSymbol)
        guard targets.count <= fitting else {
            return Self.error(
                .badRequest, "TOO_MANY_TARGETS",
                "\(targets.count) targets would take \(targets.count * shards.count * perSymbol) bytes; ask for at most \(max(1, fitting)) per request")
        }
        let store = self.store, wanted = targets
        let body: [UInt8]?
        do {
            body = try await RecoveryCPU.pool.run {
                let symbols = store.recoverySymbols(blobID, for: wanted, axis: axis, from: shards, config: config, symbolSize: symbolSize)
                guard !symbols.isEmpty else { return nil }
                var writer = BCSWriter(capacity: symbols.count * perSymbol + 8)
                writer.writeSequence(symbols)
                return writer.bytes
            }
        } catch {
            var busy = Self.error(.serviceUnavailable, "BUSY", "this node is serving other recoveries; retry shortly")
            busy.headers.append(("retry-after", "1"))
            return busy
        }
        guard let body else { return Self.error(.notFound, "SLIVER_NOT_FOUND", "this node holds no sliver of blob \(blobID) to help with") }
        return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: body)
    }

    /// Checks an inconsistency proof and, when it proves the blob inconsistent, signs the
    /// invalid-blob message for the current epoch.
    private func inconsistencyProof(_ blobID: BlobID, _ axisText: String, _ body: [UInt8]) async -> HTTPResponse {
        let axis: SliverAxis
        switch axisText {
        case "primary": axis = .primary
        case "secondary": axis = .secondary
        default: return Self.error(.badRequest, "INVALID_ARGUMENT", "the proof's sliver type is primary or secondary")
        }
        guard let metadata = store.metadata(blobID) else { return Self.error(.badRequest, "METADATA_NOT_FOUND", "this node has no metadata for blob \(blobID)") }
        let n = await state.shardCount
        do {
            let proof = try InconsistencyProof(bcs: body, axis: axis)
            try proof.verify(against: metadata, config: try EncodingConfig(shardCount: n))
        } catch { return Self.error(.badRequest, "INVALID_PROOF", error.message) }
        let message = InvalidBlobIDMessage(epoch: await state.epoch, blobID: blobID).intentMessage
        // Walrus answers an attestation with the bare signed message.
        let signed = SignedMessage(serializedMessage: message.serialized, signature: key.sign(message).bytes)
        return HTTPResponse(status: .ok, contentType: "application/json", body: WalrusJSON.encode(NodeSuccess(code: 200, data: signed)))
    }

    /// Signs a confirmation only when the blob is registered and every shard this node owns holds
    /// both of its slivers (PROTOCOL.md §3.5).
    private func confirm(_ blobID: BlobID, _ persistence: BlobPersistence, _ query: [String: String]) async -> HTTPResponse {
        var registered = await state.isRegistered(blobID, persistence)
        if !registered, query["wait_for_registration"] == "true" {
            registered = await state.waitForRegistration(blobID, persistence: persistence, millis: UInt64(query["wait_millis"] ?? "") ?? 1000)
        }
        guard registered else { return Self.error(.badRequest, "NOT_REGISTERED", "blob \(blobID) is not registered with that persistence") }
        let n = await state.shardCount
        let offset = blobID.rotationOffset(shardCount: n)
        for shard in await state.ownShards {
            guard store.hasSliver(.primary, shard: shard, blobID: blobID), store.hasSliver(.secondary, shard: shard, blobID: blobID) else {
                let pair = shard.pairIndex(rotationOffset: offset, shardCount: n)
                return Self.error(.badRequest, "MISSING_SLIVERS", "\(shard) (pair \(pair.rawValue)) does not hold both slivers of blob \(blobID) yet")
            }
        }
        let message = ConfirmationMessage(epoch: await state.epoch, blobID: blobID, persistence: persistence).intentMessage
        let signed = SignedMessage(serializedMessage: message.serialized, signature: key.sign(message).bytes)
        return HTTPResponse(status: .ok, contentType: "application/json", body: WalrusJSON.encode(NodeSuccess(code: 200, data: StorageConfirmation(signed: signed))))
    }
}

struct HTTPError: Error {
    let status: HTTPResponseStatus
    let reason: String
    let message: String
    init(_ status: HTTPResponseStatus, _ reason: String, _ message: String) {
        self.status = status
        self.reason = reason
        self.message = message
    }
    var response: HTTPResponse { StorageAPI.error(status, reason, message) }
}

/// Digests of signed requests already answered, each kept until its request would be stale
/// anyway: a second request with the same digest is a replay. Bounded: when full of unexpired
/// entries, new requests are refused (busy) rather than admitted unchecked.
final class ReplayCache: Sendable {
    enum Outcome { case fresh, replayed, full }
    private let entries = Mutex<[[UInt8]: UInt64]>([:])
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func admit(_ digest: [UInt8], expiresMs: UInt64, nowMs: UInt64) -> Outcome {
        entries.withLock { entries in
            if entries[digest] != nil { return .replayed }
            if entries.count >= capacity { entries = entries.filter { $0.value > nowMs } }
            guard entries.count < capacity else { return .full }
            entries[digest] = expiresMs
            return .fresh
        }
    }
}
