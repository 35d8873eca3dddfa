import ChainTypes
import WalrusCore

extension Executor {
    /// Reserves `size` encoded bytes for `[current, current + epochs)`, paid by the sender into each
    /// epoch's rewards (PROTOCOL.md §3.2).
    mutating func reserve(size: UInt64, epochs: UInt32, owner: Address) throws(LedgerError) -> StorageResource {
        guard size > 0 else { throw LedgerError(.invalidArgument, "a reservation has a positive size") }
        guard epochs > 0, epochs <= parameters.maxEpochsAhead else {
            throw LedgerError(.tooManyEpochs, "storage can be bought for 1 to \(parameters.maxEpochsAhead) epochs, not \(epochs)")
        }
        let end = Epoch(epoch.rawValue + epochs)
        try payForEpochs(size: size, from: epoch, to: end)
        let resource = StorageResource(id: newObjectID(), owner: owner, startEpoch: epoch, endEpoch: end, size: size)
        view.put(Keys.storage(resource.id), resource)
        setOwned(owner, Keys.ownedStorage, resource.id)
        return resource
    }

    /// Uses capacity and pays `storage_price × units(size)` into each epoch of `[from, to)`.
    mutating func payForEpochs(size: UInt64, from: Epoch, to: Epoch, fromShared shared: ObjectID? = nil) throws(LedgerError) {
        let perEpoch = try Executor.multiply(system.storagePrice, Limits.storageUnits(size))
        let total = try Executor.multiply(perEpoch, UInt64(to.rawValue - from.rawValue))
        for e in from.rawValue..<to.rawValue {
            let used = system.accounting[Epoch(e), default: AccountingEntry()].usedCapacity
            guard size <= system.totalCapacity, used <= system.totalCapacity - size else {
                throw LedgerError(.capacityExceeded, "epoch \(e) has \(used < system.totalCapacity ? system.totalCapacity - used : 0) bytes of capacity left, \(size) asked")
            }
        }
        if let shared {
            // A shared blob pays from its own funds.
            guard var record = try view.get(SharedBlobRecord.self, Keys.shared(shared)) else { throw LedgerError(.notFound, "no shared blob \(shared)") }
            guard record.funds >= total else {
                throw LedgerError(.insufficientFunds, "shared blob \(shared) holds \(record.funds), the extension costs \(total); fund it first")
            }
            record.funds = FROST(record.funds.rawValue - total.rawValue)
            view.put(Keys.shared(shared), record)
        } else {
            try debit(sender, total)
        }
        for e in from.rawValue..<to.rawValue {
            var entry = system.accounting[Epoch(e), default: AccountingEntry()]
            entry.usedCapacity += size
            entry.rewards = FROST(entry.rewards.rawValue + perEpoch.rawValue)
            system.accounting[Epoch(e)] = entry
        }
    }

    /// An owned, standalone storage resource of the sender.
    func ownedStorage(_ id: ObjectID) throws(LedgerError) -> StorageResource {
        guard let resource = try view.get(StorageResource.self, Keys.storage(id)) else {
            throw LedgerError(.notFound, "no storage resource \(id)")
        }
        guard resource.owner == sender else { throw LedgerError(.notOwner, "storage resource \(id) belongs to \(resource.owner)") }
        return resource
    }

    mutating func splitBySize(_ id: ObjectID, size: UInt64) throws(LedgerError) {
        var resource = try ownedStorage(id)
        guard size > 0, size < resource.size else {
            throw LedgerError(.invalidArgument, "split size \(size) must be between 0 and \(resource.size) exclusive")
        }
        resource.size -= size
        let split = StorageResource(id: newObjectID(), owner: sender, startEpoch: resource.startEpoch, endEpoch: resource.endEpoch, size: size)
        view.put(Keys.storage(id), resource)
        view.put(Keys.storage(split.id), split)
        setOwned(sender, Keys.ownedStorage, split.id)
    }

    mutating func splitByEpoch(_ id: ObjectID, at split: Epoch) throws(LedgerError) {
        var resource = try ownedStorage(id)
        guard split > resource.startEpoch, split < resource.endEpoch else {
            throw LedgerError(.invalidArgument, "split epoch \(split.rawValue) must lie inside [\(resource.startEpoch.rawValue), \(resource.endEpoch.rawValue))")
        }
        let later = StorageResource(id: newObjectID(), owner: sender, startEpoch: split, endEpoch: resource.endEpoch, size: resource.size)
        resource.endEpoch = split
        view.put(Keys.storage(id), resource)
        view.put(Keys.storage(later.id), later)
        setOwned(sender, Keys.ownedStorage, later.id)
    }

    /// Fuses two resources of the same period (sizes add) or adjacent periods of one size.
    mutating func fuse(_ first: ObjectID, _ second: ObjectID) throws(LedgerError) {
        guard first != second else { throw LedgerError(.invalidArgument, "a resource cannot be fused with itself") }
        var a = try ownedStorage(first)
        let b = try ownedStorage(second)
        if a.startEpoch == b.startEpoch && a.endEpoch == b.endEpoch {
            a.size += b.size
        } else if a.size == b.size && a.endEpoch == b.startEpoch {
            a.endEpoch = b.endEpoch
        } else if a.size == b.size && b.endEpoch == a.startEpoch {
            a.startEpoch = b.startEpoch
        } else {
            throw LedgerError(.invalidArgument, "resources fuse only for the same period or adjacent periods of one size")
        }
        view.put(Keys.storage(first), a)
        view.delete(Keys.storage(second))
        clearOwned(sender, Keys.ownedStorage, second)
    }

    mutating func transferStorage(_ id: ObjectID, to: Address) throws(LedgerError) {
        var resource = try ownedStorage(id)
        clearOwned(sender, Keys.ownedStorage, id)
        resource.owner = to
        view.put(Keys.storage(id), resource)
        setOwned(to, Keys.ownedStorage, id)
    }
}
