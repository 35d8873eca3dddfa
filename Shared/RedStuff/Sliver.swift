public import WalrusCore
import CBlake2b
import Synchronization

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
        let decoded = bytes.withUnsafeBytes { raw in Result { () throws(RedStuffError) in try SliverData(bcs: raw, axis: axis, maxBytes: maxBytes) } }
        self = try decoded.get()
    }

    /// Decodes the wire form in place (a received HTTP body, say): the symbols are copied once.
    public init(bcs raw: UnsafeRawBufferPointer, axis: SliverAxis, maxBytes: Int = SliverData.symbolBytesMax) throws(RedStuffError) {
        let (symbols, symbolSize, index) = try Self.parseWire(raw, maxBytes: maxBytes)
        self.init(axis: axis, index: index, symbolSize: symbolSize, symbols: Array(raw[symbols]))
    }

    /// Checks a sliver's wire form against the blob's metadata where it lies, without decoding it
    /// into a `SliverData` (a storage node verifies each uploaded body this way before storing the
    /// body itself); returns the sliver's index. The same checks as `verify(against:config:)`.
    public static func verifyWire(
        _ raw: UnsafeRawBufferPointer, axis: SliverAxis, against metadata: BlobMetadata, config: EncodingConfig
    ) throws(RedStuffError) -> SliverIndex {
        let (range, symbolSize, index) = try parseWire(raw, maxBytes: symbolBytesMax)
        let symbols = UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + range.lowerBound, count: range.count)
        try verify(axis: axis, index: index, symbolSize: symbolSize, symbols: symbols, against: metadata, config: config)
        return index
    }

    /// The symbols' byte range, the symbol size and the index of a wire form.
    public static func parseWire(_ raw: UnsafeRawBufferPointer, maxBytes: Int) throws(RedStuffError) -> (Range<Int>, UInt16, SliverIndex) {
        let length: Int, start: Int
        do {
            var header = BCSReader(Array(raw.prefix(5)))
            length = Int(try header.readULEB128())
            start = min(raw.count, 5) - header.remaining
        } catch { throw RedStuffError(error) }
        guard length <= maxBytes else {
            throw RedStuffError(.malformed, "length \(length) at offset 0 exceeds the limit of \(maxBytes)")
        }
        guard raw.count >= start + length + 4 else {
            throw RedStuffError(.malformed, "truncated: a sliver of \(length) symbol bytes needs \(start + length + 4) bytes, the body has \(raw.count)")
        }
        guard raw.count == start + length + 4 else {
            throw RedStuffError(.malformed, "\(raw.count - start - length - 4) trailing byte(s) after the sliver")
        }
        let tail = start + length
        let u16 = { (at: Int) in UInt16(raw[at]) | UInt16(raw[at + 1]) << 8 }
        return (start..<tail, u16(tail), SliverIndex(u16(tail + 2)))
    }

    /// The `n` symbols of this sliver's full row or column of the expanded matrix: its own symbols
    /// extended with the orthogonal code's repair symbols.
    public func expanded(config: EncodingConfig) -> [UInt8] {
        let s = Int(symbolSize)
        let k = symbols.count / s
        let repair = config.n - k
        let code = StripeCode(originals: k, recovery: repair, symbolSize: s, instances: 1)
        return symbols.withUnsafeBufferPointer { source in
            code.code(source.baseAddress!, shardStride: s, instanceStride: 0)
            // Written in full: the sliver's own symbols, then the repair symbols.
            return [UInt8](unsafeUninitializedCapacity: config.n * s) { out, initialized in
                out.baseAddress!.initialize(from: source.baseAddress!, count: k * s)
                code.unpackRecovery(out.baseAddress! + k * s, shardStride: s, instanceStride: 0)
                initialized = config.n * s
            }
        }
    }

    /// The Merkle root over the expanded symbols: what the metadata records for this sliver. The
    /// expansion is not materialized: column tile by column tile, the code runs in a workspace
    /// reused across calls of the same shape, and the tile of every symbol (the sliver's own, read
    /// where they are, and the repair symbols, read from the workspace) goes into a streaming hash.
    public func merkleRoot(config: EncodingConfig) -> MerkleNode {
        symbols.withUnsafeBufferPointer { Self.merkleRoot(symbols: $0, symbolSize: Int(symbolSize), config: config) }
    }

    /// The Merkle root over the expansion of the sliver whose symbols are `symbols` (whole symbols
    /// of `symbolSize` bytes, fewer than n of them), wherever they are held.
    static func merkleRoot(symbols: UnsafeBufferPointer<UInt8>, symbolSize s: Int, config: EncodingConfig) -> MerkleNode {
        let k = symbols.count / s
        let repair = config.n - k
        var leaves = [UInt8](repeating: 0, count: 32 * config.n)
        let workspace = ExpansionWorkspace.take(originals: k, recovery: repair, symbolSize: s)
        leaves.withUnsafeMutableBufferPointer { out in
            walrus_blake2b_stream_reset(workspace.stream, config.n, 0)
            workspace.code.hashExpansion(source: symbols.baseAddress!, sourceShardStride: s, into: workspace.stream)
            walrus_blake2b_stream_finish(workspace.stream, out.baseAddress!, 32)
        }
        ExpansionWorkspace.give(workspace)
        return Merkle.root(leafHashes: leaves)
    }

    /// Checks the sliver against the blob's metadata (PROTOCOL.md §2.2): index below n, length and
    /// symbol size as derived from the blob length, and the Merkle root of its expansion.
    public func verify(against metadata: BlobMetadata, config: EncodingConfig) throws(RedStuffError) {
        let checked = symbols.withUnsafeBufferPointer { symbols in
            Result { () throws(RedStuffError) in
                try Self.verify(axis: axis, index: index, symbolSize: symbolSize, symbols: symbols, against: metadata, config: config)
            }
        }
        try checked.get()
    }

    static func verify(
        axis: SliverAxis, index: SliverIndex, symbolSize: UInt16, symbols: UnsafeBufferPointer<UInt8>, against metadata: BlobMetadata, config: EncodingConfig
    ) throws(RedStuffError) {
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
        guard merkleRoot(symbols: symbols, symbolSize: Int(symbolSize), config: config) == expected else {
            throw RedStuffError(.invalidSliver, "\(axis) sliver \(index.rawValue) does not match the metadata's Merkle root")
        }
    }
}

/// The code and the hash states for expanding one sliver shape. Verifying a blob's slivers expands
/// many slivers of one shape in a row; reusing the workspace saves allocating and faulting in its
/// memory per sliver. A few are kept, up to a memory budget.
final class ExpansionWorkspace: @unchecked Sendable {
    let originals, recovery, symbolSize: Int
    /// The code, run one column tile of every symbol at a time.
    let code: TiledCode
    /// The leaf hashes of the n symbols of the expansion, fed tile by tile.
    let stream: OpaquePointer

    private init(originals: Int, recovery: Int, symbolSize: Int) {
        self.originals = originals
        self.recovery = recovery
        self.symbolSize = symbolSize
        code = TiledCode(originals: originals, recovery: recovery, symbolSize: symbolSize, instances: 1, tileTarget: Self.tileTarget)
        guard let stream = walrus_blake2b_stream_new(originals + recovery) else { fatalError("out of memory for \(originals + recovery) hash states") }
        self.stream = stream
    }

    deinit { walrus_blake2b_stream_free(stream) }

    /// Bytes of a column tile (even: symbols are 16-bit elements): the encoder's stripe width.
    static let tileTarget = 8192

    /// Bytes held: the code's workspaces and, per message, the hash stream's state, block buffer and
    /// block pointer (under 256 bytes).
    var footprint: Int { code.workBytes + (originals + recovery) * 256 }

    private static let idle = Mutex<[ExpansionWorkspace]>([])
    /// Bytes of idle workspaces kept.
    static let budget = 64 << 20

    static func take(originals: Int, recovery: Int, symbolSize: Int) -> ExpansionWorkspace {
        let found = idle.withLock { list -> ExpansionWorkspace? in
            guard let i = list.firstIndex(where: { $0.originals == originals && $0.recovery == recovery && $0.symbolSize == symbolSize }) else { return nil }
            return list.remove(at: i)
        }
        return found ?? ExpansionWorkspace(originals: originals, recovery: recovery, symbolSize: symbolSize)
    }

    static func give(_ workspace: ExpansionWorkspace) {
        guard workspace.footprint <= budget else { return }
        idle.withLock { list in
            list.append(workspace)
            // The most recently used stay; older ones go once over the budget.
            while list.reduce(0, { $0 + $1.footprint }) > budget { list.removeFirst() }
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
