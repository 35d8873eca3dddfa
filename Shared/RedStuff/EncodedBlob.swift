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
        let s = symbolSize
        let nP = config.primarySourceSymbols, nS = config.secondarySourceSymbols
        let columnBytes = nP * s
        let i = Int(index.rawValue)
        precondition(i < config.n, "sliver index is below the shard count")
        let symbols: [UInt8]
        if i < nS {
            symbols = [UInt8](unsafeUninitializedCapacity: columnBytes) { out, initialized in
                walrus_copy_strided(out.baseAddress!, s, 0, matrix.buffer.bytes + i * s, matrix.rowBytes, 0, s, nP, 1)
                initialized = columnBytes
            }
        } else {
            symbols = rowRecovery!.copy(offset: (i - nS) * columnBytes, count: columnBytes)
        }
        return SliverData(axis: .secondary, index: index, symbolSize: UInt16(s), symbols: symbols)
    }

    /// The length of a sliver's wire form (`SliverData::bcsBytes`).
    public func sliverBCSCount(_ axis: SliverAxis) -> Int {
        let symbols = (axis == .primary ? config.secondarySourceSymbols : config.primarySourceSymbols) * symbolSize
        return Self.lengthPrefix(symbols).count + symbols + 4
    }

    /// Writes the wire form of sliver `index` of `axis` into `target` (exactly
    /// `sliverBCSCount(axis)` bytes), straight from the encoding's buffers: the bytes
    /// `primarySliver(_:)` or `secondarySliver(_:)` then `bcsBytes()` would give, copied once.
    public func writeSliverBCS(_ axis: SliverAxis, _ index: SliverIndex, into target: UnsafeMutableRawBufferPointer) {
        let s = symbolSize
        let nP = config.primarySourceSymbols, nS = config.secondarySourceSymbols
        let i = Int(index.rawValue)
        precondition(i < config.n, "sliver index is below the shard count")
        let symbolBytes = (axis == .primary ? nS : nP) * s
        precondition(target.count == sliverBCSCount(axis), "the target holds exactly the sliver's wire form")
        let out = target.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let prefix = Self.lengthPrefix(symbolBytes)
        (out).update(from: prefix, count: prefix.count)
        var offset = prefix.count
        switch axis {
        case .primary:
            let source = i < nP ? matrix.buffer.bytes + i * symbolBytes : primaryExtra!.bytes + (i - nP) * symbolBytes
            (out + offset).update(from: source, count: symbolBytes)
        case .secondary:
            if i < nS {
                walrus_copy_strided(out + offset, s, 0, matrix.buffer.bytes + i * s, matrix.rowBytes, 0, s, nP, 1)
            } else {
                (out + offset).update(from: rowRecovery!.bytes + (i - nS) * symbolBytes, count: symbolBytes)
            }
        }
        offset += symbolBytes
        for value in [UInt16(s), index.rawValue] {
            out[offset] = UInt8(truncatingIfNeeded: value)
            out[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
            offset += 2
        }
    }

    /// The wire form of sliver `index` of `axis` as pieces, without copying its symbols: the BCS
    /// length prefix, the symbols where they lie in the encoding's buffers (one region for a row or
    /// a column of the row code's output, one per symbol for a column of the message matrix), and
    /// the trailer (symbol size and index). Together they are the bytes `writeSliverBCS` writes.
    /// The regions stay valid while this blob lives; they must only be read.
    public func sliverBCSParts(_ axis: SliverAxis, _ index: SliverIndex) -> (head: [UInt8], regions: [UnsafeRawBufferPointer], tail: [UInt8]) {
        let s = symbolSize
        let nP = config.primarySourceSymbols, nS = config.secondarySourceSymbols
        let i = Int(index.rawValue)
        precondition(i < config.n, "sliver index is below the shard count")
        let symbolBytes = (axis == .primary ? nS : nP) * s
        var regions: [UnsafeRawBufferPointer]
        switch axis {
        case .primary:
            let source = i < nP ? matrix.buffer.bytes + i * symbolBytes : primaryExtra!.bytes + (i - nP) * symbolBytes
            regions = [UnsafeRawBufferPointer(start: source, count: symbolBytes)]
        case .secondary where i < nS:
            regions = (0..<nP).map { r in UnsafeRawBufferPointer(start: matrix.buffer.bytes + r * matrix.rowBytes + i * s, count: s) }
        case .secondary:
            regions = [UnsafeRawBufferPointer(start: rowRecovery!.bytes + (i - nS) * symbolBytes, count: symbolBytes)]
        }
        let tail = [UInt8(truncatingIfNeeded: s), UInt8(truncatingIfNeeded: s >> 8), UInt8(truncatingIfNeeded: index.rawValue), UInt8(truncatingIfNeeded: index.rawValue >> 8)]
        return (Self.lengthPrefix(symbolBytes), regions, tail)
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
