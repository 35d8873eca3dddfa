import ChainTypes
import Foundation
import Ledger
import Testing
import WalrusCore
import WalrusCrypto

/// Every operation, fed values at the edges of their types and random ones, from funded, poor and
/// unknown senders, across epoch changes: the ledger answers each with a result (success, or a
/// failure or rejection with a code) and never traps. A failing seed prints itself; rerun one with
/// `LEDGER_SEED=…`.
@Suite struct ExtremeValueTests {
    static let sizes: [UInt64] = [0, 1, 1 << 20, 1 << 32, 1 << 62, UInt64.max / 2, UInt64.max - 1, UInt64.max]
    static let epochCounts: [UInt32] = [0, 1, 2, 5, 6, 1000, UInt32.max / 2, UInt32.max - 1, UInt32.max]
    static let amounts: [UInt64] = [0, 1, 10, 1_000_000_000, 1 << 62, UInt64.max - 1, UInt64.max]

    struct Run {
        var rng: SeededGenerator
        let h: Harness
        var objects: [ObjectID] = []

        mutating func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &rng)] }
        mutating func size() -> UInt64 { Bool.random(using: &rng) ? pick(ExtremeValueTests.sizes) : UInt64.random(in: 0...UInt64.max, using: &rng) }
        mutating func epochs() -> UInt32 { Bool.random(using: &rng) ? pick(ExtremeValueTests.epochCounts) : UInt32.random(in: 0...UInt32.max, using: &rng) }
        mutating func amount() -> FROST { FROST(Bool.random(using: &rng) ? pick(ExtremeValueTests.amounts) : UInt64.random(in: 0...UInt64.max, using: &rng)) }
        mutating func object() -> ObjectID {
            if !objects.isEmpty && Int.random(in: 0..<4, using: &rng) > 0 { return pick(objects) }
            return ObjectID(unchecked: (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        mutating func epoch() -> Epoch { Epoch(epochs()) }

        mutating func operation() throws -> LedgerOperation {
            let nodes = try h.system().committee.members.map(\.nodeID)
            let blob = try Harness.blob("blob \(UInt64.random(in: 0...20, using: &rng))")
            switch Int.random(in: 0..<22, using: &rng) {
            case 0: return .transfer(to: pick([h.alice, h.bob]).publicKey.address, amount: amount())
            case 1: return .reserveSpace(size: size(), epochs: epochs())
            case 2: return .splitStorageBySize(storage: object(), size: size())
            case 3: return .splitStorageByEpoch(storage: object(), epoch: epoch())
            case 4: return .fuseStorage(first: object(), second: object())
            case 5: return .transferStorage(storage: object(), to: h.bob.publicKey.address)
            case 6:
                let source: StorageSource = Bool.random(using: &rng) ? .reserve(epochs: epochs()) : .existing(object())
                return .registerBlob(
                    storage: source, blobID: blob.blobID, rootHash: blob.rootHash, size: Bool.random(using: &rng) ? blob.size : size(),
                    encodingType: pick([0, 1, 255]), deletable: Bool.random(using: &rng))
            case 7:
                let certificate = CommitteeCertificate(
                    signersBitmap: [UInt8.random(in: 0...255, using: &rng)], serializedMessage: (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) },
                    signatures: [])
                return .certifyBlob(blob: object(), certificate: certificate)
            case 8: return .extendBlob(blob: object(), epochs: epochs())
            case 9: return .deleteBlob(blob: object())
            case 10:
                return .registerNode(
                    name: pick(["", "n", String(repeating: "x", count: 64)]), networkAddress: pick(["127.0.0.1:1", "x", "[::1]:65535"]),
                    publicKey: Schnorr.PrivateKey.generate().publicKey, commissionBasisPoints: pick([0, 10_000, 10_001, UInt16.max]),
                    storagePrice: amount(), writePrice: amount(), capacity: size(), proof: Schnorr.PrivateKey.generate().sign([1]))
            case 11: return .stake(node: pick(nodes), amount: amount())
            case 12: return .requestWithdrawal(stake: object())
            case 13: return .withdraw(stake: object())
            case 14:
                return .updateNode(node: pick(nodes), update: NodeUpdate(
                    networkAddress: pick([nil, "x", "127.0.0.1:1"]), commissionBasisPoints: pick([nil, 0, 10_001, UInt16.max]),
                    storagePrice: pick([nil, amount()]), writePrice: pick([nil, amount()]), capacity: pick([nil, size()])))
            case 15: return .transferBlob(blob: object(), to: pick([h.alice, h.bob]).publicKey.address)
            case 16:
                let key = pick(["", "content-type", String(repeating: "k", count: 256)])
                return .setBlobAttribute(blob: object(), pairs: [AttributePair(key: key, value: pick(["", "v", String(repeating: "v", count: 4096)]))])
            case 17: return .removeBlobAttributeFields(blob: object(), keys: [pick(["", "content-type", "k"])])
            case 18: return .shareBlob(blob: object(), funds: amount())
            case 19: return .fundSharedBlob(shared: object(), amount: amount())
            case 20: return .extendSharedBlob(shared: object(), epochs: epochs())
            default: return .epochSyncDone(node: pick(nodes), epoch: epoch())
            }
        }

        /// One block of up to four transactions from random senders; remembers new objects.
        mutating func block() throws {
            var transactions: [SignedTransaction] = []
            var nonces: [Address: UInt64] = [:]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let key = pick([h.alice, h.alice, h.bob, h.operatorKeys[0], Schnorr.PrivateKey.generate()])
                let address = key.publicKey.address
                let nonce = try nonces[address] ?? h.ledger.account(address).nonce
                nonces[address] = nonce + 1
                let operations = try (0..<Int.random(in: 1...3, using: &rng)).map { _ in try operation() }
                transactions.append(try h.tx(key, operations, nonce: nonce))
            }
            let execution = try h.block(transactions, afterMs: pick([10, 100, 2_000, 6_000]))
            #expect(execution.results.count == transactions.count)
            for event in execution.events {
                switch event {
                case .blobRegistered(_, _, _, _, _, _, let id), .blobCertified(_, _, _, _, let id, _): objects.append(id)
                default: break
                }
            }
            for owner in [h.alice, h.bob] {
                objects += try h.ledger.storageResources(ownedBy: owner.publicKey.address).map(\.id)
                objects += try h.ledger.stakes(ownedBy: owner.publicKey.address).map(\.id)
            }
            if objects.count > 200 { objects.removeFirst(objects.count - 200) }
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func noOperationTrapsOnExtremeValues(seed: Int) throws {
        let chosen = UInt64(ProcessInfoSeed.value ?? UInt64(seed))
        var run = Run(rng: SeededGenerator(seed: chosen), h: try Harness())
        for _ in 0..<120 {
            try run.block()
        }
    }
}

/// `LEDGER_SEED` from the environment, to replay one seed.
enum ProcessInfoSeed {
    static var value: UInt64? { getenvValue("LEDGER_SEED").flatMap(UInt64.init) }

    private static func getenvValue(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }
}
