import ChainClient
import ChainTypes
import Foundation
import HTTPKit
import Ledger
import LightClient
import NIOHTTP1
import WalrusAPI
import WalrusCore
import WalrusCrypto

/// The validator's RPC: JSON for queries, BCS for signed transactions, blocks and commits.
struct RPC: Sendable {
    let store: ChainStore
    let driver: ConsensusDriver
    let metrics: NodeMetrics
    let genesis: GenesisFile
    let genesisHash: [UInt8]
    let chainID: String
    let mempool: Mempool
    let peers: @Sendable () -> Int
    /// This validator's key (32 bytes).
    let ownKey: [UInt8]

    static let eventsPageMax = 1000
    static let longPollMaxMs: UInt64 = 30_000

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let p = request.path.split(separator: "/").map(String.init)
        let get = request.method == .GET
        let argument = p.count == 3 && p[0] == "v1" ? p[2] : nil
        switch (get, p.count >= 2 ? p[1] : p.first ?? "") {
        case (true, "health") where p == ["v1", "health"]: return health()
        case (false, "transactions") where request.method == .POST && p == ["v1", "transactions"]: return await submit(request.body)
        case (false, "transactions") where request.method == .POST && p == ["v1", "transactions", "batch"]: return await submitBatch(request.body)
        case (true, "transactions") where argument != nil: return await transaction(argument!, waitMs: request.query["wait_ms"])
        case (true, "blocks") where argument == "latest": return block(String(store.height()), request.query)
        case (true, "blocks") where argument != nil: return block(argument!, request.query)
        case (true, "commits") where argument != nil: return commit(argument!)
        case (true, "accounts") where argument != nil: return account(argument!)
        case (true, "epoch") where p == ["v1", "epoch"]: return epoch()
        case (true, "validators") where p == ["v1", "validators"]: return validatorRecords()
        case (true, "handovers") where p == ["v1", "handovers"]: return handOvers(request.query)
        case (true, "snapshots") where p == ["v1", "snapshots"]: return snapshotList()
        case (true, "snapshots") where p.count == 4 && p[3] == "state": return statePage(p[2], request.query["after"])
        case (true, "committee") where argument != nil: return committee(argument!)
        case (true, "blobs") where argument != nil: return blob(argument!)
        case (true, "blobs") where p == ["v1", "blobs"]: return ownedBlobs(request.query["owner"] ?? "")
        case (true, "storage") where p == ["v1", "storage"]: return storage(request.query["owner"] ?? "")
        case (true, "stakes") where p == ["v1", "stakes"]: return stakes(request.query["owner"] ?? "")
        case (true, "nodes") where argument != nil: return node(argument!)
        case (true, "objects") where argument != nil: return object(argument!)
        case (true, "events") where p == ["v1", "events"]: return await events(request.query)
        case (true, "genesis") where p == ["v1", "genesis"]: return genesisFile()
        case (true, "proofs") where p.count == 4 && p[2] == "certification": return certificationProof(p[3])
        default: return .error(.notFound, code: "NOT_FOUND", "no route \(request.method) \(request.path); see Docs/VALIDATOR.md")
        }
    }

    /// This validator's index in the current set; nil (JSON null) while it is not in it.
    private func validatorIndex() -> Int? {
        guard let sets = try? store.ledger.consensusSets(), let set = sets.validators(atHeight: store.height() + 1) else { return nil }
        return set.firstIndex { $0.publicKey == ownKey }
    }

    private func health() -> HTTPResponse {
        let system = try? store.ledger.system()
        return .json([
            "status": "ok", "chainId": chainID, "genesisHash": Hex.encode(genesisHash), "height": store.height(),
            "earliestHeight": store.earliestHeight(),
            "epoch": system?.epoch.rawValue ?? 0, "validatorIndex": validatorIndex() as Any, "peers": peers(), "mempool": mempool.count,
        ])
    }

    /// The genesis as JSON: a light client checks it against the hash it pins.
    private func genesisFile() -> HTTPResponse {
        guard let data = try? JSONEncoder().encode(genesis) else { return .error(.internalServerError, code: "INTERNAL", "genesis does not encode") }
        return HTTPResponse(status: .ok, contentType: "application/json", body: Array(data))
    }

    /// The proof that registration `objectId` was certified (BCS `CertificationProof`): the block
    /// with the certification event, its commit, the event and the certifying transaction with
    /// their Merkle paths, and the committee the block commits to.
    private func certificationProof(_ text: String) -> HTTPResponse {
        guard let objectID = try? ObjectID(parsing: text) else { return .error(.badRequest, code: "INVALID_ARGUMENT", "an object ID is 0x and 64 hex digits") }
        guard let (height, index) = store.certification(of: objectID) else {
            return .error(.notFound, code: "NOT_FOUND", "registration \(text) was not certified on this chain")
        }
        let events = store.blockEvents(height)
        guard let block = store.block(height), let commit = store.commit(height), Int(index) < events.count,
            let digest = events[Int(index)].transaction, let (_, txIndex, _) = store.transaction(digest), Int(txIndex) < block.transactions.count,
            let committee = try? store.ledger.committee(block.header.epoch)
        else { return .error(.internalServerError, code: "INTERNAL", "the records of block \(height) are incomplete") }
        let items = events.map(\.event.bytes)
        let proof = CertificationProof(
            header: block.header, commit: commit, eventIndex: index, event: items[Int(index)],
            eventPath: ChainMerkle.proof(items, index: Int(index)), transactionIndex: txIndex, transaction: block.transactions[Int(txIndex)],
            transactionPath: ChainMerkle.proof(block.transactions, index: Int(txIndex)), committee: store.commitment(of: committee))
        return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: proof.bcsBytes)
    }

    private func submit(_ body: [UInt8]) async -> HTTPResponse {
        guard !body.isEmpty else { return .error(.badRequest, code: "INVALID_ARGUMENT", "the body is a BCS SignedTransaction") }
        let tx: SignedTransaction
        do { tx = try SignedTransaction.decode(bcs: body) } catch {
            return .error(.badRequest, code: "MALFORMED", "not a BCS SignedTransaction: \(error.message)")
        }
        // Size and signature are checked here, on the request's task: the consensus actor
        // never spends its time on a transaction that cannot be admitted.
        guard body.count <= SignedTransaction.bytesMax else {
            return .error(.badRequest, code: LedgerError.Code.tooLarge.rawValue, "the transaction has \(body.count) bytes; at most \(SignedTransaction.bytesMax) fit in a block")
        }
        guard mempool.preverify(tx) else {
            return .error(.badRequest, code: LedgerError.Code.badSignature.rawValue, "the transaction signature does not verify")
        }
        do { try await driver.submit(tx) } catch {
            guard error.code == .mempoolFull else {
                return .error(.badRequest, code: error.code.rawValue, error.message, retryable: error.isRetryable)
            }
            var busy = HTTPResponse.error(.serviceUnavailable, code: error.code.rawValue, error.message, retryable: true)
            busy.headers.append(("retry-after", "1"))
            return busy
        }
        return .json(["digest": Hex.encode(tx.digest)], status: .accepted)
    }

    /// Many transactions in one request: BCS `Vec<SignedTransaction>`; each is admitted or refused
    /// on its own.
    private func submitBatch(_ body: [UInt8]) async -> HTTPResponse {
        var reader = BCSReader(body)
        let transactions: [SignedTransaction]
        do {
            transactions = try reader.readSequence(of: SignedTransaction.self, max: RPC.batchTransactionsMax, minElementBytes: 100)
            try reader.finish()
        } catch { return .error(.badRequest, code: "MALFORMED", "not a BCS Vec<SignedTransaction>: \(error.message)") }
        var results: [[String: Any]] = []
        for tx in transactions {
            do throws(LedgerError) {
                guard tx.bcsBytes.count <= SignedTransaction.bytesMax else {
                    throw LedgerError(.tooLarge, "the transaction has more than \(SignedTransaction.bytesMax) bytes")
                }
                guard mempool.preverify(tx) else { throw LedgerError(.badSignature, "the transaction signature does not verify") }
                try await driver.submit(tx)
                results.append(["digest": Hex.encode(tx.digest), "accepted": true])
            } catch {
                results.append(["digest": Hex.encode(tx.digest), "accepted": false, "error": ["code": error.code.rawValue, "message": error.message]])
            }
        }
        return .json(["results": results], status: .accepted)
    }

    static let batchTransactionsMax = 1000

    /// A committed transaction's block, index, status and events. With `wait_ms`, a transaction
    /// not committed yet is waited for (up to that long, at most `longPollMaxMs`) before the 404.
    private func transaction(_ digestHex: String, waitMs: String?) async -> HTTPResponse {
        guard let digest = try? Hex.decode(digestHex), digest.count == 32 else {
            return .error(.badRequest, code: "INVALID_ARGUMENT", "a transaction digest is 64 hex digits")
        }
        let wait = min(UInt64(waitMs ?? "") ?? 0, RPC.longPollMaxMs)
        guard let (height, index, result) = await store.commitSignal.poll(waitMs: wait, { store.transaction(digest) }) else {
            return .error(.notFound, code: "NOT_FOUND", "transaction \(digestHex) is not in a committed block (yet)", retryable: true)
        }
        let events = result.events.map { event -> [String: Any] in
            var object = EventJSON.object(event)
            object["bcs"] = Data(event.bcsBytes).base64EncodedString()
            return object
        }
        var object: [String: Any] = ["height": height, "index": index, "digest": digestHex, "events": events]
        switch result.status {
        case .success: object["status"] = "success"
        case let .failure(code, message), let .rejected(code, message):
            object["status"] = "failure"
            object["error"] = ["code": code, "message": message]
        }
        return .json(object)
    }

    private func block(_ heightText: String, _ query: [String: String]) -> HTTPResponse {
        guard let height = UInt64(heightText), let block = store.block(height) else {
            return .error(.notFound, code: "NOT_FOUND", "no committed block at height \(heightText)")
        }
        if query["format"] == "bcs" { return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: block.bcsBytes) }
        let h = block.header
        return .json([
            "height": h.height, "timeMs": h.timeMs, "hash": Hex.encode(h.hash), "previousHash": Hex.encode(h.previousHash),
            "proposer": h.proposer, "epoch": h.epoch.rawValue, "transactions": block.transactions.count,
            "transactionsRoot": Hex.encode(h.transactionsRoot), "eventsRoot": Hex.encode(h.eventsRoot),
            "validatorsHash": Hex.encode(h.validatorsHash), "nextValidatorsHash": Hex.encode(h.nextValidatorsHash),
            "committeeHash": Hex.encode(h.committeeHash),
        ])
    }

    /// Validator set hand-overs after block `after` (default 0), up to 100, as a BCS sequence of
    /// `HandOver`: a light client checks each against the header and commit of its block.
    private func handOvers(_ query: [String: String]) -> HTTPResponse {
        guard let after = UInt64(query["after"] ?? "0") else {
            return .error(.badRequest, code: "INVALID_ARGUMENT", "after is a block height")
        }
        var writer = BCSWriter()
        writer.writeSequence(store.handOvers(after: after, limit: 100))
        return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: writer.bytes)
    }

    /// The state snapshots this validator keeps, newest first.
    private func snapshotList() -> HTTPResponse {
        .json(["snapshots": (store.snapshots?.heights ?? []).map { ["height": $0] }])
    }

    /// One page of a snapshot's state (BCS `StatePage`), after the key `after` (hex).
    private func statePage(_ heightText: String, _ afterText: String?) -> HTTPResponse {
        guard let height = UInt64(heightText) else { return .error(.badRequest, code: "INVALID_ARGUMENT", "the snapshot height is a number") }
        var after: [UInt8]?
        if let afterText {
            guard let bytes = try? Hex.decode(afterText), bytes.count <= StatePage.keyBytesMax else {
                return .error(.badRequest, code: "INVALID_ARGUMENT", "after is a state key in hex (at most \(StatePage.keyBytesMax) bytes)")
            }
            after = bytes
        }
        guard let page = store.snapshots?.page(height: height, after: after) else {
            return .error(.notFound, code: "NOT_FOUND", "no snapshot at height \(height); see GET /v1/snapshots")
        }
        return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: page.bcsBytes)
    }

    private func commit(_ heightText: String) -> HTTPResponse {
        guard let height = UInt64(heightText), let commit = store.commit(height) else {
            return .error(.notFound, code: "NOT_FOUND", "no commit at height \(heightText)")
        }
        return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: commit.bcsBytes)
    }

    private func account(_ text: String) -> HTTPResponse {
        guard let address = try? Address(parsing: text) else {
            return .error(.badRequest, code: "INVALID_ARGUMENT", "an address is 0x and 64 hex digits")
        }
        guard let account = try? store.ledger.account(address) else { return .error(.internalServerError, code: "INTERNAL", "state read failed") }
        return .json(["address": address.description, "balance": account.balance.rawValue, "nonce": account.nonce])
    }

    /// The consensus validators as the ledger knows them: key, power, bond, and slashing.
    private func validatorRecords() -> HTTPResponse {
        guard let records = try? store.ledger.validators() else { return .error(.internalServerError, code: "INTERNAL", "state read failed") }
        let current = (try? store.ledger.consensusSets())?.validators(atHeight: store.height() + 1) ?? []
        return .json(["validators": records.map { record -> [String: Any] in
            ["index": current.firstIndex { $0.publicKey == record.publicKey } as Any, "publicKey": Hex.encode(record.publicKey), "power": record.power,
             "bondFrost": record.bond.rawValue, "slashedFrost": record.slashed.rawValue, "jailed": record.jailed, "leaving": record.leaving,
             "p2pAddress": record.p2pAddress, "operator": record.operatorAddress.description]
        }])
    }

    private func epoch() -> HTTPResponse {
        guard let system = try? store.ledger.system() else { return .error(.internalServerError, code: "INTERNAL", "state read failed") }
        let state: String, startMs: UInt64?
        switch system.epochState {
        case .changeSync: (state, startMs) = ("changeSync", nil)
        case .changeDone(let time): (state, startMs) = ("changeDone", time)
        case .nextParamsSelected(let time): (state, startMs) = ("nextParamsSelected", time)
        }
        return .json([
            "epoch": system.epoch.rawValue, "state": state, "storagePrice": system.storagePrice.rawValue, "writePrice": system.writePrice.rawValue,
            "totalCapacity": system.totalCapacity, "shardCount": system.parameters.shardCount,
            "epochDurationMs": system.parameters.epochDurationMs, "maxEpochsAhead": system.parameters.maxEpochsAhead,
            "height": store.height(), "epochStartMs": startMs.map { $0 as Any } ?? NSNull(),
            "fees": [
                "baseFrost": system.parameters.fees.baseFrost, "perByteFrost": system.parameters.fees.perByteFrost,
                "perOperationFrost": system.parameters.fees.perOperationFrost,
            ],
        ])
    }

    private func committee(_ text: String) -> HTTPResponse {
        let committee: Committee?
        if text == "current" { committee = try? store.ledger.system().committee } else { committee = UInt32(text).flatMap { try? store.ledger.committee(Epoch($0)) } }
        guard let committee else { return .error(.notFound, code: "NOT_FOUND", "no committee for epoch \(text)") }
        let stakes = (try? store.ledger.stakeByNode(in: committee.epoch)) ?? [:]
        let members: [[String: Any]] = committee.members.map { member in
            let pool = try? store.ledger.pool(member.nodeID)
            return [
                "nodeId": member.nodeID.description, "shards": member.shards.map(\.rawValue), "weight": member.weight,
                "stake": stakes[member.nodeID] ?? 0,
                "publicKey": pool.map { Hex.encode($0.publicKey.bytes) } ?? "", "networkAddress": pool?.networkAddress ?? "", "name": pool?.name ?? "",
                "networkPublicKey": pool.map { Hex.encode($0.networkPublicKey) } ?? "",
            ]
        }
        return .json(["epoch": committee.epoch.rawValue, "members": members])
    }

    private func blob(_ text: String) -> HTTPResponse {
        guard let blobID = try? BlobID(parsing: text) else { return .error(.badRequest, code: "INVALID_ARGUMENT", "not a blob ID: \(text)") }
        let records = (try? store.ledger.blobs(withBlobID: blobID)) ?? []
        let invalid = (try? store.ledger.isInvalid(blobID)) ?? false
        let event = invalid ? store.invalidation(of: blobID).flatMap { store.eventID(height: $0.height, index: $0.index) } : nil
        return Self.encoded(BlobRegistrations(blobId: blobID, invalid: invalid, invalidationEvent: event, registrations: records.map(registration)))
    }

    /// A ledger blob record as the wire's Walrus `Blob` object, with its owner and certification event.
    func registration(_ r: BlobRecord) -> BlobRegistration {
        let storage = StorageResourceObject(id: r.storage.id, startEpoch: r.storage.startEpoch.rawValue, endEpoch: r.storage.endEpoch.rawValue, storageSize: r.storage.size)
        let object = BlobObject(
            id: r.id, registeredEpoch: r.registeredEpoch.rawValue, blobId: r.blobID, size: r.size, encodingType: EncodingTypeName(byte: r.encodingType) ?? .rs2,
            certifiedEpoch: r.certifiedEpoch?.rawValue, storage: storage, deletable: r.deletable)
        let event = r.certifiedEpoch == nil ? nil : store.certification(of: r.id).flatMap { store.eventID(height: $0.height, index: $0.index) }
        let registered = store.registrationEvent(of: r.id).flatMap { store.eventID(height: $0.height, index: $0.index) }
        let attribute = (try? store.ledger.attribute(r.id)).flatMap { $0 }.map { BlobAttribute($0.pairs.map { ($0.key, $0.value) }) }
        // A shared blob's wrapped object is owned by the shared object's ID read as an address.
        let sharedID = ObjectID(unchecked: r.owner.bytes)
        let shared = (try? store.ledger.sharedBlob(sharedID)).flatMap { $0 }.map { $0.blob == r.id ? sharedID : nil } ?? nil
        return BlobRegistration(
            blobObject: object, owner: r.owner, certificationEvent: event, registrationEvent: registered, attribute: attribute, sharedBlobObject: shared)
    }

    static func encoded<T: Encodable>(_ value: T) -> HTTPResponse {
        HTTPResponse(status: .ok, contentType: "application/json", body: WalrusJSON.encode(value))
    }

    /// The blob registrations an address owns.
    private func ownedBlobs(_ owner: String) -> HTTPResponse {
        guard let address = try? Address(parsing: owner) else { return .error(.badRequest, code: "INVALID_ARGUMENT", "owner=0x… is required") }
        guard let records = try? store.ledger.blobs(ownedBy: address) else { return .error(.internalServerError, code: "INTERNAL", "state read failed") }
        return Self.encoded(OwnedBlobs(registrations: records.map(registration)))
    }

    /// A blob registration or storage resource by object ID; `kind` says which.
    private func object(_ text: String) -> HTTPResponse {
        guard let id = try? ObjectID(parsing: text) else { return .error(.badRequest, code: "INVALID_ARGUMENT", "an object ID is 0x and 64 hex digits") }
        if let r = try? store.ledger.blob(id) {
            struct Tagged: Encodable {
                let kind = "blob"
                let registration: BlobRegistration
                enum Keys: String, CodingKey { case kind }
                func encode(to encoder: any Encoder) throws {
                    try registration.encode(to: encoder)
                    var c = encoder.container(keyedBy: Keys.self)
                    try c.encode(kind, forKey: .kind)
                }
            }
            return Self.encoded(Tagged(registration: registration(r)))
        }
        if let shared = try? store.ledger.sharedBlob(id), let r = try? store.ledger.blob(shared.blob) {
            struct Shared: Encodable {
                let kind = "sharedBlob"
                let sharedBlob: SharedBlobObject
                let registration: BlobRegistration
            }
            let wrapped = registration(r)
            return Self.encoded(Shared(sharedBlob: SharedBlobObject(id: id, blob: wrapped.blobObject, funds: shared.funds.rawValue), registration: wrapped))
        }
        if let s = try? store.ledger.storageResource(id) {
            return .json(["kind": "storage", "id": s.id.description, "owner": s.owner.description, "startEpoch": s.startEpoch.rawValue,
                          "endEpoch": s.endEpoch.rawValue, "size": s.size])
        }
        return .error(.notFound, code: "NOT_FOUND", "no object \(text)")
    }

    private func storage(_ owner: String) -> HTTPResponse {
        guard let address = try? Address(parsing: owner) else { return .error(.badRequest, code: "INVALID_ARGUMENT", "owner=0x… is required") }
        let resources = (try? store.ledger.storageResources(ownedBy: address)) ?? []
        return .json(["storage": resources.map { ["id": $0.id.description, "startEpoch": $0.startEpoch.rawValue, "endEpoch": $0.endEpoch.rawValue, "size": $0.size] }])
    }

    /// A storage node's registration by node ID (0x…) or public key (hex): what its operator set
    /// and the stake that counts for the current and the next committee.
    private func node(_ text: String) -> HTTPResponse {
        let pool: StoragePool?
        if text.hasPrefix("0x"), let id = try? NodeID(parsing: text) {
            pool = try? store.ledger.pool(id)
        } else if let key = try? Schnorr.PublicKey(hex: text) {
            pool = try? store.ledger.pool(publicKey: key)
        } else {
            return .error(.badRequest, code: "INVALID_ARGUMENT", "not a node ID (0x and 64 hex digits) or a public key (64 hex digits): \(text)")
        }
        guard let pool else { return .error(.notFound, code: "NOT_FOUND", "no storage node registered as \(text)") }
        let system = try? store.ledger.system()
        return .json([
            "nodeId": pool.nodeID.description, "name": pool.name, "networkAddress": pool.networkAddress, "publicKey": Hex.encode(pool.publicKey.bytes),
            "operator": pool.operatorAddress.description, "commissionBasisPoints": Int(pool.commissionBasisPoints),
            "storagePriceVoteFrost": pool.storagePriceVote.rawValue, "writePriceVoteFrost": pool.writePriceVote.rawValue, "capacityVote": pool.capacityVote,
            "networkPublicKey": Hex.encode(pool.networkPublicKey),
            "shards": system?.committee.member(pool.nodeID)?.shards.count ?? 0,
            "nextShards": system?.nextCommittee.map { $0.member(pool.nodeID)?.shards.count ?? 0 as Any } ?? NSNull(),
        ])
    }

    private func stakes(_ owner: String) -> HTTPResponse {
        guard let address = try? Address(parsing: owner) else { return .error(.badRequest, code: "INVALID_ARGUMENT", "owner=0x… is required") }
        guard let records = try? store.ledger.stakes(ownedBy: address) else { return .error(.internalServerError, code: "INTERNAL", "state read failed") }
        return .json(["stakes": records.map { r -> [String: Any] in
            ["id": r.id.description, "nodeId": r.nodeID.description, "amount": r.amount.rawValue, "activationEpoch": r.activationEpoch.rawValue,
             "withdrawEpoch": r.withdrawEpoch.map { $0.rawValue as Any } ?? NSNull()]
        }])
    }

    /// Events after a cursor `height:index`; waits up to `timeout_ms` for new ones.
    private func events(_ query: [String: String]) async -> HTTPResponse {
        var cursor: (UInt64, UInt32)?
        if let after = query["after"], !after.isEmpty {
            let parts = after.split(separator: ":")
            guard parts.count == 2, let h = UInt64(parts[0]), let i = UInt32(parts[1]) else {
                return .error(.badRequest, code: "INVALID_ARGUMENT", "after is a cursor height:index")
            }
            cursor = (h, i)
        }
        let limit = min(Int(query["limit"] ?? "") ?? 100, RPC.eventsPageMax)
        let timeout = min(UInt64(query["timeout_ms"] ?? "") ?? 0, RPC.longPollMaxMs)
        let records: [EventRecord] = await store.commitSignal.poll(waitMs: timeout) { () -> [EventRecord]? in
            let page = store.events(after: cursor, limit: limit)
            return page.isEmpty ? nil : page
        } ?? []
        let next = records.last.map { "\($0.height):\($0.index)" } ?? (cursor.map { "\($0.0):\($0.1)" } ?? "")
        let ids = store.eventIDs(for: records)
        return .json([
            "events": zip(records, ids).map { record, id -> [String: Any] in
                var object = (try? LedgerEvent.decode(bcs: record.event.bytes)).map(EventJSON.object) ?? [:]
                object["height"] = record.height
                object["index"] = record.index
                object["cursor"] = "\(record.height):\(record.index)"
                object["transaction"] = record.transaction.map(Hex.encode) ?? NSNull()
                object["eventId"] = id.map { ["txDigest": $0.txDigest, "eventSeq": $0.eventSeq] as Any } ?? NSNull()
                object["bcs"] = Data(record.event.bytes).base64EncodedString()
                return object
            },
            "next": next,
        ])
    }
}

/// Events as JSON: the reference's type name and fields in camelCase.
enum EventJSON {
    static func object(_ event: LedgerEvent) -> [String: Any] {
        var fields: [String: Any]
        switch event {
        case let .blobRegistered(epoch, blobID, size, encodingType, endEpoch, deletable, objectID):
            fields = ["epoch": epoch.rawValue, "blobId": blobID.description, "size": size, "encodingType": encodingType,
                      "endEpoch": endEpoch.rawValue, "deletable": deletable, "objectId": objectID.description]
        case let .blobCertified(epoch, blobID, endEpoch, deletable, objectID, isExtension):
            fields = ["epoch": epoch.rawValue, "blobId": blobID.description, "endEpoch": endEpoch.rawValue, "deletable": deletable,
                      "objectId": objectID.description, "isExtension": isExtension]
        case let .blobDeleted(epoch, blobID, endEpoch, objectID, wasCertified):
            fields = ["epoch": epoch.rawValue, "blobId": blobID.description, "endEpoch": endEpoch.rawValue, "objectId": objectID.description,
                      "wasCertified": wasCertified]
        case let .invalidBlobID(epoch, blobID): fields = ["epoch": epoch.rawValue, "blobId": blobID.description]
        case let .epochChangeStart(epoch), let .epochChangeDone(epoch): fields = ["epoch": epoch.rawValue]
        case let .shardsReceived(epoch, shards): fields = ["epoch": epoch.rawValue, "shards": shards.map(\.rawValue)]
        case let .epochParametersSelected(next): fields = ["nextEpoch": next.rawValue]
        case let .validatorSlashed(epoch, validator, amount, height):
            fields = ["epoch": epoch.rawValue, "validator": Hex.encode(validator), "amountFrost": amount.rawValue, "misbehaviourHeight": height]
        case let .pricesUpdated(epoch, storage, write): fields = ["epoch": epoch.rawValue, "storagePrice": storage.rawValue, "writePrice": write.rawValue]
        case let .validatorSetChanged(epoch, fromHeight, hash, count):
            fields = ["epoch": epoch.rawValue, "fromHeight": fromHeight, "validatorsHash": Hex.encode(hash), "count": count]
        }
        return ["type": event.name, "fields": fields]
    }
}
