import ChainTypes
import WalrusCore

extension Executor {
    /// The epoch logic at the start of every block, driven by block time (PROTOCOL.md §4.2): at
    /// the midpoint, select the next committee; at the end, start the epoch change.
    mutating func beginBlock() throws(LedgerError) -> [LedgerEvent] {
        events = []
        let half = parameters.epochDurationMs / 2
        if case .changeDone(let started) = system.epochState, context.timeMs >= started + half {
            try selectNextCommittee()
            system.epochState = .nextParamsSelected(timeMs: started)
            events.append(.epochParametersSelected(nextEpoch: Epoch(epoch.rawValue + 1)))
        }
        if case .nextParamsSelected(let started) = system.epochState, context.timeMs >= started + parameters.epochDurationMs {
            try startEpochChange()
        }
        view.commitTransaction()
        return events
    }

    /// Stake that counts for the committee of `target`, per node.
    func stakes(for target: Epoch) throws(LedgerError) -> [NodeID: UInt64] {
        var byNode: [NodeID: UInt64] = [:]
        for entry in try view.scan(prefix: Keys.stakePrefix) {
            let record = try decodeRecord(StakeRecord.self, entry.value)
            if record.counts(in: target) { byNode[record.nodeID, default: 0] += record.amount.rawValue }
        }
        return byNode
    }

    /// The active set in priority order: most stake first, node ID breaking ties.
    static func activeSet(_ stakes: [NodeID: UInt64], limit: Int) -> [(node: NodeID, stake: UInt64)] {
        let ordered = stakes.filter { $0.value > 0 }.map { (node: $0.key, stake: $0.value) }
            .sorted { $0.stake != $1.stake ? $0.stake > $1.stake : $0.node < $1.node }
        return Array(ordered.prefix(limit))
    }

    mutating func selectNextCommittee() throws(LedgerError) {
        let next = Epoch(epoch.rawValue + 1)
        let active = Executor.activeSet(try stakes(for: next), limit: parameters.activeSetMax)
        let counts = Apportionment.dHondt(stakes: active, shards: Int(parameters.shardCount))
        let committee = counts.isEmpty
            ? Committee(epoch: next, members: system.committee.members)
            : Apportionment.transition(from: system.committee, counts: counts, epoch: next)
        system.nextCommittee = committee
        // Capacity: each member's vote scaled to the whole system (vote · n / weight), quorum above.
        var votes: [(value: UInt64, weight: UInt64)] = []
        for member in committee.members {
            guard let pool = try view.get(StoragePool.self, Keys.pool(member.nodeID)) else { continue }
            let scaled = pool.capacityVote.multipliedReportingOverflow(by: UInt64(parameters.shardCount))
            votes.append((value: scaled.overflow ? UInt64.max : scaled.partialValue / max(member.weight, 1), weight: member.weight))
        }
        system.nextCapacity = Apportionment.quorumAbove(votes, totalWeight: committee.shardCount)
    }

    /// Ends the current epoch: burns 3 % of its rewards and pays the rest to its committee, then
    /// moves to the next epoch, committee, capacity and prices (PROTOCOL.md §4.2, §4.6, §4.7).
    mutating func startEpochChange() throws(LedgerError) {
        try distributeRewards()
        let next = Epoch(epoch.rawValue + 1)
        system.accounting.removeValue(forKey: epoch)
        system.epoch = next
        system.committee = system.nextCommittee ?? Committee(epoch: next, members: system.committee.members)
        system.nextCommittee = nil
        view.put(Keys.committee(next), system.committee)
        let used = system.accounting[next]?.usedCapacity ?? 0
        system.totalCapacity = max(system.nextCapacity ?? system.totalCapacity, used)
        system.nextCapacity = nil
        try updatePrices()
        try selectValidatorSet(for: next)
        system.epochState = .changeSync(weight: 0, reported: [])
        events.append(.epochChangeStart(epoch: next))
    }

    private mutating func updatePrices() throws(LedgerError) {
        var storageVotes: [(value: UInt64, weight: UInt64)] = []
        var writeVotes: [(value: UInt64, weight: UInt64)] = []
        for member in system.committee.members {
            guard let pool = try view.get(StoragePool.self, Keys.pool(member.nodeID)) else { continue }
            storageVotes.append((pool.storagePriceVote.rawValue, member.weight))
            writeVotes.append((pool.writePriceVote.rawValue, member.weight))
        }
        let total = system.committee.shardCount
        if let price = Apportionment.quorumBelow(storageVotes, totalWeight: total) { system.storagePrice = FROST(price) }
        if let price = Apportionment.quorumBelow(writeVotes, totalWeight: total) { system.writePrice = FROST(price) }
        events.append(.pricesUpdated(epoch: system.epoch, storagePrice: system.storagePrice, writePrice: system.writePrice))
    }

    /// Pays the ending epoch's rewards: 3 % burned, the rest to each member by shard weight; a
    /// member's share pays its commission to the operator and the remainder to its stakers by
    /// amount. Rounding dust carries over.
    private mutating func distributeRewards() throws(LedgerError) {
        let pot = (system.accounting[epoch]?.rewards.rawValue ?? 0) + system.rewardDust.rawValue
        let burn = pot * 3 / 100
        system.burned = FROST(system.burned.rawValue + burn)
        let distributable = pot - burn
        let totalWeight = system.committee.shardCount
        var paid: UInt64 = 0
        guard totalWeight > 0 else {
            system.rewardDust = FROST(distributable)
            return
        }
        var stakeRecords: [StakeRecord] = []
        for entry in try view.scan(prefix: Keys.stakePrefix) { stakeRecords.append(try decodeRecord(StakeRecord.self, entry.value)) }
        for member in system.committee.members {
            let share = totalWeight.dividingFullWidth(distributable.multipliedFullWidth(by: member.weight)).quotient
            guard share > 0, let pool = try view.get(StoragePool.self, Keys.pool(member.nodeID)) else { continue }
            let commission = share * UInt64(pool.commissionBasisPoints) / 10_000
            let stakers = stakeRecords.filter { $0.nodeID == member.nodeID && $0.counts(in: epoch) }
            let staked = stakers.reduce(UInt64(0)) { $0 + $1.amount.rawValue }
            var toStakers: UInt64 = 0
            if staked > 0 {
                for var record in stakers {
                    let part = staked.dividingFullWidth((share - commission).multipliedFullWidth(by: record.amount.rawValue)).quotient
                    record.amount = FROST(record.amount.rawValue + part)
                    view.put(Keys.stake(record.id), record)
                    toStakers += part
                }
            }
            try credit(pool.operatorAddress, FROST(share - toStakers))
            paid += share
        }
        system.rewardDust = FROST(distributable - paid)
    }
}
