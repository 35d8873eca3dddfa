public import WalrusCore

/// Committee selection (PROTOCOL.md §4.3): D'Hondt apportionment of shards by stake with a per-node
/// cap, and the transition from one committee to the next that moves as few shards as possible.
public enum Apportionment {
    /// The most shards one node may hold: n/10 with 20 or more nodes, otherwise ceil(2n / nodes)
    /// (never below what makes the shards fit).
    public static func cap(shards n: Int, nodes: Int) -> Int {
        precondition(nodes > 0, "there are nodes")
        let base = nodes >= 20 ? n / 10 : (2 * n + nodes - 1) / nodes
        return max(base, (n + nodes - 1) / nodes)
    }

    /// Shards per node for `stakes` listed in active-set order (priority order for ties). Nodes
    /// with zero shards are left out.
    public static func dHondt(stakes: [(node: NodeID, stake: UInt64)], shards n: Int) -> [(node: NodeID, shards: Int)] {
        let candidates = stakes.filter { $0.stake > 0 }
        guard !candidates.isEmpty else { return [] }
        let cap = cap(shards: n, nodes: candidates.count)
        let total = candidates.reduce(UInt64(0)) { $0 + $1.stake }
        // A lower bound every node is owed, then one shard at a time to the highest quotient.
        let divisor = total / UInt64(n + 1) + 1
        var counts = candidates.map { min(Int($0.stake / divisor), cap) }
        var assigned = counts.reduce(0, +)
        while assigned < n {
            var best: Int?
            for i in candidates.indices where counts[i] < cap {
                guard let b = best else {
                    best = i
                    continue
                }
                // stake_i / (counts_i + 1) > stake_b / (counts_b + 1), in exact arithmetic.
                let left = candidates[i].stake.multipliedFullWidth(by: UInt64(counts[b] + 1))
                let right = candidates[b].stake.multipliedFullWidth(by: UInt64(counts[i] + 1))
                if left.high > right.high || (left.high == right.high && left.low > right.low) { best = i }
            }
            guard let chosen = best else { break }
            counts[chosen] += 1
            assigned += 1
        }
        return zip(candidates, counts).filter { $0.1 > 0 }.map { ($0.0.node, $0.1) }
    }

    /// The next committee given the current one and the new shard counts: nodes whose count is
    /// unchanged keep their shards, shrinking nodes give up shards from the end of their list, nodes
    /// that left give up all, and growing or new nodes (by node ID) take freed shards in order. The
    /// first committee hands out shards sequentially, nodes sorted by ID.
    public static func transition(from current: Committee?, counts: [(node: NodeID, shards: Int)], epoch: Epoch) -> Committee {
        let target = Dictionary(uniqueKeysWithValues: counts.map { ($0.node, $0.shards) })
        guard let current, !current.members.isEmpty else {
            var next = 0
            let members = counts.sorted { $0.node < $1.node }.map { entry -> Committee.Member in
                defer { next += entry.shards }
                return Committee.Member(nodeID: entry.node, shards: (next..<next + entry.shards).map { ShardIndex(UInt16($0)) })
            }
            return Committee(epoch: epoch, members: members)
        }
        var kept: [NodeID: [ShardIndex]] = [:]
        var freed: [ShardIndex] = []
        for member in current.members {
            let keep = min(target[member.nodeID] ?? 0, member.shards.count)
            kept[member.nodeID] = Array(member.shards.prefix(keep))
            freed += member.shards.dropFirst(keep)
        }
        var next = freed.startIndex
        var members: [Committee.Member] = []
        for (node, count) in counts.sorted(by: { $0.node < $1.node }) {
            var shards = kept[node] ?? []
            let missing = count - shards.count
            if missing > 0 {
                shards += freed[next..<next + missing]
                next += missing
            }
            members.append(Committee.Member(nodeID: node, shards: shards))
        }
        precondition(next == freed.endIndex, "every freed shard is reassigned")
        return Committee(epoch: epoch, members: members)
    }

    /// The lowest value that members holding a quorum of the weight voted at most (PROTOCOL.md §4.6:
    /// the price rule, the 66.67th weighted percentile).
    public static func quorumBelow(_ votes: [(value: UInt64, weight: UInt64)], totalWeight: UInt64) -> UInt64? {
        var accumulated: UInt64 = 0
        for vote in votes.sorted(by: { $0.value < $1.value }) {
            accumulated += vote.weight
            if BFT.isQuorum(weight: min(accumulated, totalWeight), totalWeight: totalWeight) { return vote.value }
        }
        return nil
    }

    /// The highest value that members holding a quorum of the weight voted at least (the capacity
    /// rule).
    public static func quorumAbove(_ votes: [(value: UInt64, weight: UInt64)], totalWeight: UInt64) -> UInt64? {
        var accumulated: UInt64 = 0
        for vote in votes.sorted(by: { $0.value > $1.value }) {
            accumulated += vote.weight
            if BFT.isQuorum(weight: min(accumulated, totalWeight), totalWeight: totalWeight) { return vote.value }
        }
        return nil
    }
}
