public import WalrusCore

/// The parameters of RS2 Red Stuff for `n` shards (PROTOCOL.md §1.1-§1.2, §5.3).
public struct EncodingConfig: Hashable, Sendable {
    /// The number of shards `n`.
    public let shardCount: UInt16

    /// A configuration for `n` shards, `4 ≤ n ≤ 32767`.
    public init(shardCount n: UInt16) throws(RedStuffError) {
        guard n >= Limits.shardCountMin, n <= Limits.shardCountMax else {
            throw RedStuffError(.unsupportedShardCount, "the shard count must be between \(Limits.shardCountMin) and \(Limits.shardCountMax), got \(n)")
        }
        shardCount = n
    }

    public var n: Int { Int(shardCount) }
    /// The most shards that may be faulty: `f = (n-1)/3`.
    public var maxFaulty: Int { (n - 1) / 3 }
    /// Source symbols of the primary code, `n_P = n - 2f`: the length of a secondary sliver.
    public var primarySourceSymbols: Int { n - 2 * maxFaulty }
    /// Source symbols of the secondary code, `n_S = n - f`: the length of a primary sliver.
    public var secondarySourceSymbols: Int { n - maxFaulty }
    /// Symbols in the message matrix.
    public var sourceSymbolsPerBlob: Int { primarySourceSymbols * secondarySourceSymbols }

    /// Source symbols of the code along `axis` (the length of a sliver of the other axis).
    public func sourceSymbols(_ axis: SliverAxis) -> Int {
        axis == .primary ? primarySourceSymbols : secondarySourceSymbols
    }

    /// Symbols in one sliver of `axis`: `n_S` for primary slivers, `n_P` for secondary ones.
    public func sliverSymbols(_ axis: SliverAxis) -> Int {
        axis == .primary ? secondarySourceSymbols : primarySourceSymbols
    }

    /// Symbols needed to recover a sliver of `axis` (the orthogonal code's source symbols).
    public func symbolsForRecovery(_ axis: SliverAxis) -> Int { sourceSymbols(axis.orthogonal) }

    /// The largest blob: `n_P · n_S · 65,534` bytes.
    public var maxBlobSize: UInt64 { UInt64(sourceSymbolsPerBlob) * Limits.symbolBytesMax }

    /// The symbol size for a blob of `length` bytes: `ceil(max(length,1) / (n_P·n_S))` rounded up
    /// to even. Throws `blobTooLarge` beyond `maxBlobSize`.
    public func symbolSize(forLength length: UInt64) throws(RedStuffError) -> Int {
        guard length <= maxBlobSize else {
            throw RedStuffError(.blobTooLarge, "a blob of \(length) bytes exceeds the maximum of \(maxBlobSize) bytes for \(n) shards")
        }
        let perBlob = UInt64(sourceSymbolsPerBlob)
        var size = (max(length, 1) + perBlob - 1) / perBlob
        size += size & 1
        return Int(size)
    }

    /// Bytes of one sliver of `axis` for a blob of `length` bytes.
    public func sliverLength(_ axis: SliverAxis, forLength length: UInt64) throws(RedStuffError) -> Int {
        try sliverSymbols(axis) * symbolSize(forLength: length)
    }

    /// The encoded size the storage price is charged on: `n · ((n_P + n_S)·s + 64·n + 32)`.
    public func encodedBlobLength(forLength length: UInt64) throws(RedStuffError) -> UInt64 {
        let s = UInt64(try symbolSize(forLength: length))
        let perShard = UInt64(primarySourceSymbols + secondarySourceSymbols) * s + 64 * UInt64(n) + 32
        return UInt64(n) * perShard
    }
}
