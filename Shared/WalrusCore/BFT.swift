/// Byzantine fault-tolerance thresholds, always by weight (shards for storage, voting power for
/// validators), for a total weight `n` of which at most `f = (n-1)/3` may be faulty.
public enum BFT {
    /// The largest faulty weight tolerated: `(n-1)/3`.
    public static func maxFaulty(totalWeight n: UInt64) -> UInt64 {
        precondition(n > 0, "total weight is positive")
        return (n - 1) / 3
    }

    /// A quorum: `3w ≥ 2n+1`, so that any two quorums share an honest member.
    public static func isQuorum(weight w: UInt64, totalWeight n: UInt64) -> Bool {
        precondition(w <= n, "weight \(w) is at most the total \(n)")
        return 3 * w >= 2 * n + 1
    }

    /// Validity ("one correct node"): `3w ≥ n+1`, so that at least one member is honest.
    public static func isValidity(weight w: UInt64, totalWeight n: UInt64) -> Bool {
        precondition(w <= n, "weight \(w) is at most the total \(n)")
        return 3 * w >= n + 1
    }

    /// The smallest weight that is a quorum.
    public static func quorumWeight(totalWeight n: UInt64) -> UInt64 { (2 * n + 1 + 2) / 3 }

    /// The smallest weight that satisfies validity.
    public static func validityWeight(totalWeight n: UInt64) -> UInt64 { (n + 1 + 2) / 3 }
}
