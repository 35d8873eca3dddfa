public import WalrusCore
import CBlake2b

/// One sliver: a row (primary) or column (secondary) of the expanded matrix, as the symbols of the
/// message or repair part that nodes store. Wire form (`SliverData<A>`): symbols as `Vec<u8>` ‖
/// symbol size u16 ‖ index u16; the axis is known from context (URL or enum variant).
public struct SliverData: Hashable, Sendable {
    public let axis: SliverAxis
    public let index: SliverIndex
    public let symbolSize: UInt16
    /// The sliver's symbols, concatenated.
    public let symbols: [UInt8]

    public init(axis: SliverAxis, index: SliverIndex, symbolSize: UInt16, symbols: [UInt8]) {
        self.axis = axis
        self.index = index
        self.symbolSize = symbolSize
        self.symbols = symbols
    }

    /// The number of whole symbols.
    public var symbolCount: Int { symbolSize == 0 ? 0 : symbols.count / Int(symbolSize) }

    /// Symbol `i` of the sliver.
    public func symbol(_ i: Int) -> ArraySlice<UInt8> {
        let s = Int(symbolSize)
        return symbols[i * s..<(i + 1) * s]
    }

    /// The largest sliver accepted when decoding: a primary sliver of the largest symbols at the
    /// largest shard count.
    public static let symbolBytesMax = Int(Limits.shardCountMax) * Int(Limits.symbolBytesMax)

    public func bcsBytes() -> [UInt8] {
        var writer = BCSWriter(capacity: symbols.count + 10)
        writer.writeBytes(symbols)
        writer.write(symbolSize)
        writer.write(index)
        return writer.bytes
    }

    /// Decodes the wire form for `axis`, with at most `maxBytes` of symbols.
    public init(bcs bytes: [UInt8], axis: SliverAxis, maxBytes: Int = SliverData.symbolBytesMax) throws(RedStuffError) {
        do {
            var reader = BCSReader(bytes)
            let symbols = try reader.readBytes(max: maxBytes)
            let symbolSize = try reader.readU16()
            let index = try reader.read(SliverIndex.self)
            try reader.finish()
            self.init(axis: axis, index: index, symbolSize: symbolSize, symbols: symbols)
        } catch { throw RedStuffError(error) }
    }

    /// The `n` symbols of this sliver's full row or column of the expanded matrix: its own symbols
    /// extended with the orthogonal code's repair symbols.
    public func expanded(config: EncodingConfig) -> [UInt8] {
        let s = Int(symbolSize)
        let k = symbols.count / s
        let repair = config.n - k
        var out = symbols
        out += [UInt8](repeating: 0, count: repair * s)
        let code = StripeCode(originals: k, recovery: repair, symbolSize: s, instances: 1)
        symbols.withUnsafeBufferPointer { code.pack($0.baseAddress!, shardStride: s, instanceStride: 0) }
        code.encode()
        out.withUnsafeMutableBufferPointer { code.unpackRecovery($0.baseAddress! + k * s, shardStride: s, instanceStride: 0) }
        return out
    }

    /// The Merkle root over the expanded symbols: what the metadata records for this sliver.
    public func merkleRoot(config: EncodingConfig) -> MerkleNode {
        Merkle.root(leafHashes: leafHashes(of: expanded(config: config), symbolSize: Int(symbolSize)))
    }

    /// Checks the sliver against the blob's metadata (PROTOCOL.md §2.2): index below n, length and
    /// symbol size as derived from the blob length, and the Merkle root of its expansion.
    public func verify(against metadata: BlobMetadata, config: EncodingConfig) throws(RedStuffError) {
        guard Int(index.rawValue) < config.n else {
            throw RedStuffError(.invalidSliver, "\(axis) sliver index \(index.rawValue) is not below the shard count \(config.n)")
        }
        let expectedSymbolSize = try config.symbolSize(forLength: metadata.unencodedLength)
        guard Int(symbolSize) == expectedSymbolSize else {
            throw RedStuffError(.invalidSliver, "\(axis) sliver \(index.rawValue) has symbol size \(symbolSize), expected \(expectedSymbolSize)")
        }
        let expectedLength = config.sliverSymbols(axis) * expectedSymbolSize
        guard symbols.count == expectedLength else {
            throw RedStuffError(.invalidSliver, "\(axis) sliver \(index.rawValue) has \(symbols.count) bytes, expected \(expectedLength)")
        }
        let pair = Int(index.pairIndex(axis: axis, shardCount: config.shardCount).rawValue)
        let expected = metadata.hashes[pair].hash(axis)
        guard merkleRoot(config: config) == expected else {
            throw RedStuffError(.invalidSliver, "\(axis) sliver \(index.rawValue) does not match the metadata's Merkle root")
        }
    }
}

/// Leaf hashes of consecutive symbols.
func leafHashes(of symbols: [UInt8], symbolSize s: Int) -> [UInt8] {
    let count = symbols.count / s
    var out = [UInt8](repeating: 0, count: 32 * count)
    out.withUnsafeMutableBufferPointer { o in
        symbols.withUnsafeBufferPointer { walrus_blake2b256_prefixed_batch(o.baseAddress!, 32, 0, $0.baseAddress!, s, s, count) }
    }
    return out
}

/// A sliver pair: primary sliver p and secondary sliver n-1-p, stored together on one shard.
public struct SliverPair: Hashable, Sendable {
    public let primary: SliverData
    public let secondary: SliverData

    public init(primary: SliverData, secondary: SliverData) {
        precondition(primary.axis == .primary && secondary.axis == .secondary, "a pair is one primary and one secondary sliver")
        self.primary = primary
        self.secondary = secondary
    }

    /// The pair index, from the primary sliver's index.
    public var index: SliverPairIndex { SliverPairIndex(primary.index.rawValue) }
}
