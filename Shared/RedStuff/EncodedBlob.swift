public import WalrusCore

/// A blob's metadata and all of its slivers, held in three buffers: the message matrix (primary
/// slivers 0..<n_P), the primary slivers below it, and the secondary slivers.
public final class EncodedBlob: @unchecked Sendable {
    public let metadata: BlobMetadataWithID
    let matrix: MessageMatrix
    let primaryExtra: RawBuffer?
    let secondary: RawBuffer?

    init(metadata: BlobMetadataWithID, matrix: MessageMatrix, primaryExtra: RawBuffer?, secondary: RawBuffer?) {
        self.metadata = metadata
        self.matrix = matrix
        self.primaryExtra = primaryExtra
        self.secondary = secondary
    }

    public var blobID: BlobID { metadata.blobID }
    public var config: EncodingConfig { matrix.config }
    public var symbolSize: Int { matrix.symbolSize }

    /// Primary sliver `index`: row `index` of the expanded matrix, first n_S symbols.
    public func primarySliver(_ index: SliverIndex) -> SliverData {
        let rowBytes = matrix.rowBytes
        let nP = config.primarySourceSymbols
        let i = Int(index.rawValue)
        precondition(i < config.n, "sliver index is below the shard count")
        let bytes = i < nP ? matrix.buffer.copy(offset: i * rowBytes, count: rowBytes)
            : primaryExtra!.copy(offset: (i - nP) * rowBytes, count: rowBytes)
        return SliverData(axis: .primary, index: index, symbolSize: UInt16(symbolSize), symbols: bytes)
    }

    /// Secondary sliver `index`: column `index` of the expanded matrix, first n_P symbols.
    public func secondarySliver(_ index: SliverIndex) -> SliverData {
        let columnBytes = config.primarySourceSymbols * symbolSize
        let i = Int(index.rawValue)
        precondition(i < config.n, "sliver index is below the shard count")
        return SliverData(
            axis: .secondary, index: index, symbolSize: UInt16(symbolSize),
            symbols: secondary!.copy(offset: i * columnBytes, count: columnBytes))
    }

    /// The sliver pair `pair`: primary sliver p and secondary sliver n-1-p.
    public func sliverPair(_ pair: SliverPairIndex) -> SliverPair {
        SliverPair(
            primary: primarySliver(pair.primarySliverIndex),
            secondary: secondarySliver(pair.secondarySliverIndex(shardCount: config.shardCount)))
    }
}
