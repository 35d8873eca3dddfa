import ChainTypes
import KVStore
import WalrusCore
import WalrusCrypto

/// Typed reads and writes of ledger records over a KVStore, with two layers of pending writes: the
/// current transaction's (dropped if it fails) and the block's (written in one batch at the end).
final class StateView {
    let store: any KVStore
    private var blockWrites: [[UInt8]: [UInt8]?] = [:]
    private var transactionWrites: [[UInt8]: [UInt8]?] = [:]

    init(store: any KVStore) { self.store = store }

    func raw(_ key: [UInt8]) throws(KVError) -> [UInt8]? {
        if let pending = transactionWrites[key] { return pending }
        if let pending = blockWrites[key] { return pending }
        return try store.get(Ledger.stateFamily, key)
    }

    func get<T: BCSDecodable>(_ type: T.Type, _ key: [UInt8]) throws(LedgerError) -> T? {
        let bytes: [UInt8]?
        do { bytes = try raw(key) } catch { throw LedgerError(.notFound, "state read failed: \(error.message)") }
        guard let bytes else { return nil }
        do { return try T.decode(bcs: bytes) } catch { preconditionFailure("stored \(T.self) does not decode: \(error)") }
    }

    func put<T: BCSEncodable>(_ key: [UInt8], _ value: T) { transactionWrites[key] = .some(value.bcsBytes) }
    func putRaw(_ key: [UInt8], _ value: [UInt8]) { transactionWrites[key] = .some(value) }

    /// The block's pending writes (nil: a delete), once no transaction is open.
    var pendingWrites: [[UInt8]: [UInt8]?] {
        precondition(transactionWrites.isEmpty, "no transaction is open")
        return blockWrites
    }

    /// Folds the block's pending writes into `hash`, the state hash before them: the committed
    /// value of each written key out, the new one in (the hash's own key excluded).
    func updating(_ hash: LtHash) throws(LedgerError) -> LtHash {
        var hash = hash
        for (key, value) in pendingWrites where key != Keys.stateHash {
            let old: [UInt8]?
            do { old = try store.get(Ledger.stateFamily, key) } catch { throw LedgerError(.notFound, "state read failed: \(error.message)") }
            guard old != value else { continue }
            if let old { hash.remove(StateView.element(key, old)) }
            if let value { hash.add(StateView.element(key, value)) }
        }
        return hash
    }

    /// What the state hash holds for one entry: the key and the value, each length-prefixed.
    static func element(_ key: [UInt8], _ value: [UInt8]) -> [UInt8] {
        var writer = BCSWriter(capacity: key.count + value.count + 8)
        writer.writeBytes(key)
        writer.writeBytes(value)
        return writer.bytes
    }
    func delete(_ key: [UInt8]) { transactionWrites[key] = .some(nil) }

    /// Keys (with values) under `prefix`, pending writes included, in key order.
    func scan(prefix: [UInt8]) throws(LedgerError) -> [(key: [UInt8], value: [UInt8])] {
        var merged: [[UInt8]: [UInt8]] = [:]
        do {
            for entry in try store.entries(Ledger.stateFamily, in: .prefix(prefix)) { merged[entry.key] = entry.value }
        } catch { throw LedgerError(.notFound, "state scan failed: \(error.message)") }
        for layer in [blockWrites, transactionWrites] {
            for (key, value) in layer where key.starts(with: prefix) { merged[key] = value }
        }
        return merged.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { ($0, merged[$0]!) }
    }

    func commitTransaction() {
        for (key, value) in transactionWrites { blockWrites[key] = value }
        transactionWrites = [:]
    }

    func abortTransaction() { transactionWrites = [:] }

    /// The block's writes as one batch.
    func batch() -> WriteBatch {
        precondition(transactionWrites.isEmpty, "no transaction is open")
        var batch = WriteBatch()
        for key in blockWrites.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            if let value = blockWrites[key]! { batch.put(Ledger.stateFamily, key: key, value: value) } else { batch.delete(Ledger.stateFamily, key: key) }
        }
        return batch
    }
}

/// Keys of the state column family.
enum Keys {
    static let system = Array("system".utf8)
    static let validators = Array("validators".utf8)
    static func account(_ a: Address) -> [UInt8] { Array("acct:".utf8) + a.bytes }
    static func storage(_ id: ObjectID) -> [UInt8] { Array("stor:".utf8) + id.bytes }
    static func blob(_ id: ObjectID) -> [UInt8] { Array("blob:".utf8) + id.bytes }
    static func blobIndex(_ blobID: BlobID) -> [UInt8] { Array("bidx:".utf8) + blobID.bytes }
    static func blobIndex(_ blobID: BlobID, _ id: ObjectID) -> [UInt8] { blobIndex(blobID) + id.bytes }
    static func invalid(_ blobID: BlobID) -> [UInt8] { Array("invl:".utf8) + blobID.bytes }
    static func attribute(_ id: ObjectID) -> [UInt8] { Array("attr:".utf8) + id.bytes }
    static func shared(_ id: ObjectID) -> [UInt8] { Array("shrd:".utf8) + id.bytes }
    static func pool(_ node: NodeID) -> [UInt8] { Array("pool:".utf8) + node.bytes }
    static let poolPrefix = Array("pool:".utf8)
    /// The node registered with a storage-node key.
    static func poolKey(_ key: Schnorr.PublicKey) -> [UInt8] { Array("poolkey:".utf8) + key.bytes }
    static func stake(_ id: ObjectID) -> [UInt8] { Array("stak:".utf8) + id.bytes }
    static let stakePrefix = Array("stak:".utf8)
    static func validatorStake(_ id: ObjectID) -> [UInt8] { Array("vstk:".utf8) + id.bytes }
    static let validatorStakePrefix = Array("vstk:".utf8)
    static let consensusSets = Array("vset".utf8)
    /// The state hash (an `LtHash` of every other entry), kept up to date by each block.
    static let stateHash = Array("lthash".utf8)
    static func owned(_ owner: Address, _ kind: UInt8) -> [UInt8] { Array("ownd:".utf8) + owner.bytes + [kind] }
    static func owned(_ owner: Address, _ kind: UInt8, _ id: ObjectID) -> [UInt8] { owned(owner, kind) + id.bytes }
    static func committee(_ epoch: Epoch) -> [UInt8] {
        Array("comm:".utf8) + withUnsafeBytes(of: epoch.rawValue.bigEndian) { Array($0) }
    }
    /// Owned-object kinds in the owner index.
    static let ownedStorage: UInt8 = 1
    static let ownedBlob: UInt8 = 2
    static let ownedStake: UInt8 = 3
    static let ownedValidatorStake: UInt8 = 4
}

/// An empty marker value for index keys.
struct Marker: BCSCodable {
    func encode(to writer: inout BCSWriter) {}
    init() {}
    init(from reader: inout BCSReader) throws(CoreError) {}
}

/// Decodes a stored record; stored records always decode (they were written by this code).
func decodeRecord<T: BCSDecodable>(_ type: T.Type, _ bytes: [UInt8]) throws(LedgerError) -> T {
    do { return try T.decode(bcs: bytes) } catch { throw LedgerError(.notFound, "stored \(T.self) does not decode: \(error.message)") }
}

/// The value of an index entry that names a storage node.
struct NodeIDRecord: BCSCodable {
    let nodeID: NodeID
    init(nodeID: NodeID) { self.nodeID = nodeID }
    func encode(to writer: inout BCSWriter) { writer.write(nodeID) }
    init(from reader: inout BCSReader) throws(CoreError) { nodeID = try reader.read(NodeID.self) }
}
