public import WalrusCore
import CReedSolomon

/// A blob's metadata and all of its slivers, held in three buffers: the message matrix (primary
/// slivers 0..<n_P, and the columns that are secondary slivers 0..<n_S), the primary slivers below
/// it, and the row code's output (secondary slivers n_S..<n).
public final class EncodedBlob: @unchecked Sendable {
    public let metadata: BlobMetadataWithID
    let matrix: MessageMatrix
    let primaryExtra: RawBuffer?
    let rowRecovery: RawBuffer?

    init(metadata: BlobMetadataWithID, matrix: MessageMatrix, primaryExtra: RawBuffer?, rowRecovery: RawBuffer?) {
        self.metadata = metadata
        self.matrix = matrix
        self.primaryExtra = primaryExtra
        self.rowRecovery = rowRecovery
    }

    public var blobID: BlobID { metadata.blobID }
    public var config: EncodingConfig { matrix.config }
    public var symbolSize: Int { matrix.symbolSize }

    /// Where the symbols of sliver `index` of `axis` lie: `count` symbols from `start`, `stride`
    /// bytes apart. A primary sliver is a row of the message matrix or of the repair rows below it
    /// (contiguous); a secondary sliver a column of the message matrix (one symbol per row) or of
    /// the row code's output (contiguous).
    private func symbolRun(_ axis: SliverAxis, _ index: SliverIndex) -> (start: UnsafePointer<UInt8>, stride: Int, count: Int) {
        let s = symbolSize
        let nP = config.primarySourceSymbols, nS = config.secondarySourceSymbols
        let i = Int(index.rawValue)
        precondition(i < config.n, "sliver index is below the shard count")
        switch axis {
        case .primary:
            let rowBytes = matrix.rowBytes
            return (UnsafePointer(i < nP ? matrix.buffer.bytes + i * rowBytes : primaryExtra!.bytes + (i - nP) * rowBytes), s, nS)
        case .secondary where i < nS:
            return (UnsafePointer(matrix.buffer.bytes + i * s), matrix.rowBytes, nP)
        case .secondary:
            return (UnsafePointer(rowRecovery!.bytes + (i - nS) * nP * s), s, nP)
        }
    }

    /// Copies the symbols of a sliver, one after the other, to `out`.
    private func copySymbols(_ axis: SliverAxis, _ index: SliverIndex, to out: UnsafeMutablePointer<UInt8>) {
        let (start, stride, count) = symbolRun(axis, index)
        let s = symbolSize
        if stride == s {
            out.update(from: start, count: count * s)
        } else {
            walrus_copy_strided(out, s, 0, start, stride, 0, s, count, 1)
        }
    }

    private func sliver(_ axis: SliverAxis, _ index: SliverIndex) -> SliverData {
        let bytes = config.sliverSymbols(axis) * symbolSize
        let symbols = [UInt8](unsafeUninitializedCapacity: bytes) { out, initialized in
            if bytes > 0 { copySymbols(axis, index, to: out.baseAddress!) }
            initialized = bytes
        }
        return SliverData(axis: axis, index: index, symbolSize: UInt16(symbolSize), symbols: symbols)
    }

    /// Primary sliver `index`: row `index` of the expanded matrix, first n_S symbols.
    public func primarySliver(_ index: SliverIndex) -> SliverData { sliver(.primary, index) }

    /// Secondary sliver `index`: column `index` of the expanded matrix, first n_P symbols.
    public func secondarySliver(_ index: SliverIndex) -> SliverData { sliver(.secondary, index) }

    /// The length of a sliver's wire form (`SliverData::bcsBytes`).
    public func sliverBCSCount(_ axis: SliverAxis) -> Int {
        let symbols = config.sliverSymbols(axis) * symbolSize
        return Self.lengthPrefix(symbols).count + symbols + 4
    }

    /// The wire form's trailer: symbol size and index, little-endian.
    private func trailer(_ index: SliverIndex) -> [UInt8] {
        let s = symbolSize
        return [UInt8(truncatingIfNeeded: s), UInt8(truncatingIfNeeded: s >> 8), UInt8(truncatingIfNeeded: index.rawValue), UInt8(truncatingIfNeeded: index.rawValue >> 8)]
    }

    /// Writes the wire form of sliver `index` of `axis` into `target` (exactly
    /// `sliverBCSCount(axis)` bytes), straight from the encoding's buffers: the bytes
    /// `primarySliver(_:)` or `secondarySliver(_:)` then `bcsBytes()` would give, copied once.
    public func writeSliverBCS(_ axis: SliverAxis, _ index: SliverIndex, into target: UnsafeMutableRawBufferPointer) {
        precondition(target.count == sliverBCSCount(axis), "the target holds exactly the sliver's wire form")
        let symbolBytes = config.sliverSymbols(axis) * symbolSize
        let out = target.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let prefix = Self.lengthPrefix(symbolBytes)
        out.update(from: prefix, count: prefix.count)
        if symbolBytes > 0 { copySymbols(axis, index, to: out + prefix.count) }
        (out + prefix.count + symbolBytes).update(from: trailer(index), count: 4)
    }

    /// The wire form of sliver `index` of `axis` as pieces, without copying its symbols: the BCS
    /// length prefix, the symbols where they lie in the encoding's buffers (one region for a row or
    /// a column of the row code's output, one per symbol for a column of the message matrix), and
    /// the trailer (symbol size and index). Together they are the bytes `writeSliverBCS` writes.
    /// The regions stay valid while this blob lives; they must only be read.
    public func sliverBCSParts(_ axis: SliverAxis, _ index: SliverIndex) -> (head: [UInt8], regions: [UnsafeRawBufferPointer], tail: [UInt8]) {
        let (start, stride, count) = symbolRun(axis, index)
        let s = symbolSize
        let regions = stride == s
            ? [UnsafeRawBufferPointer(start: start, count: count * s)]
            : (0..<count).map { UnsafeRawBufferPointer(start: start + $0 * stride, count: s) }
        return (Self.lengthPrefix(count * s), regions, trailer(index))
    }

    static func lengthPrefix(_ count: Int) -> [UInt8] {
        var writer = BCSWriter()
        writer.writeLength(count)
        return writer.bytes
    }

    /// The sliver pair `pair`: primary sliver p and secondary sliver n-1-p.
    public func sliverPair(_ pair: SliverPairIndex) -> SliverPair {
        SliverPair(
            primary: primarySliver(pair.primarySliverIndex),
            secondary: secondarySliver(pair.secondarySliverIndex(shardCount: config.shardCount)))
    }
}
