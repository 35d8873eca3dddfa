public import WalrusCore

/// One symbol of the expanded matrix that helps rebuild a sliver of `targetAxis`: it comes from the
/// orthogonal sliver `sourceIndex`, sits at position `targetIndex` of that sliver's expansion, and
/// carries a Merkle proof against the source sliver's hash in the metadata (PROTOCOL.md §1.9, §2.5).
public struct RecoverySymbol: Hashable, Sendable, BCSCodable {
    /// The axis of the sliver being rebuilt.
    public let targetAxis: SliverAxis
    /// The index of the sliver being rebuilt.
    public let targetIndex: SliverIndex
    /// The index of the orthogonal sliver the symbol came from: the symbol's position in the
    /// target's line.
    public let sourceIndex: SliverIndex
    public let data: [UInt8]
    public let proof: MerkleProof

    public init(targetAxis: SliverAxis, targetIndex: SliverIndex, sourceIndex: SliverIndex, data: [UInt8], proof: MerkleProof) {
        self.targetAxis = targetAxis
        self.targetIndex = targetIndex
        self.sourceIndex = sourceIndex
        self.data = data
        self.proof = proof
    }

    /// Checks the symbol against the metadata: indices below n, the derived symbol size, and the
    /// proof at leaf `targetIndex` of the source sliver's expansion.
    public func verify(against metadata: BlobMetadata, config: EncodingConfig) throws(RedStuffError) {
        guard Int(targetIndex.rawValue) < config.n, Int(sourceIndex.rawValue) < config.n else {
            throw RedStuffError(.invalidSymbol, "symbol indices \(sourceIndex.rawValue)->\(targetIndex.rawValue) are not below \(config.n)")
        }
        let s = try config.symbolSize(forLength: metadata.unencodedLength)
        guard data.count == s else {
            throw RedStuffError(.invalidSymbol, "symbol from sliver \(sourceIndex.rawValue) has \(data.count) bytes, expected \(s)")
        }
        let sourceAxis = targetAxis.orthogonal
        let pair = Int(sourceIndex.pairIndex(axis: sourceAxis, shardCount: config.shardCount).rawValue)
        let root = metadata.hashes[pair].hash(sourceAxis)
        guard proof.verifies(leafHash: Merkle.leafHash(data), index: Int(targetIndex.rawValue), leafCount: config.n, root: root) else {
            throw RedStuffError(.invalidSymbol, "the proof of the symbol from \(sourceAxis) sliver \(sourceIndex.rawValue) does not verify")
        }
    }

    /// `RecoverySymbol<A>` on the wire: DecodingSymbol {index u16, data Vec<u8>} ‖ MerkleProof.
    public func encodeRecoverySymbol(to writer: inout BCSWriter) {
        writer.write(sourceIndex.rawValue)
        writer.writeBytes(data)
        writer.write(proof)
    }

    static func decodeRecoverySymbol(
        from reader: inout BCSReader, targetAxis: SliverAxis, targetIndex: SliverIndex
    ) throws(CoreError) -> RecoverySymbol {
        let source = try reader.readU16()
        let data = try reader.readBytes(max: Int(Limits.symbolBytesMax))
        let proof = try reader.read(MerkleProof.self)
        return RecoverySymbol(targetAxis: targetAxis, targetIndex: targetIndex, sourceIndex: SliverIndex(source), data: data, proof: proof)
    }

    /// `GeneralRecoverySymbol` on the wire (what `/recoverySymbols` returns): the symbol as
    /// `ByAxis` (variant 0 rebuilds a primary sliver) ‖ target index u16 ‖ proof.
    public func encode(to writer: inout BCSWriter) {
        writer.writeVariant(targetAxis == .primary ? 0 : 1)
        writer.write(sourceIndex.rawValue)
        writer.writeBytes(data)
        writer.write(targetIndex.rawValue)
        writer.write(proof)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        let axis: SliverAxis = try reader.readVariant(count: 2) == 0 ? .primary : .secondary
        let source = try reader.readU16()
        let data = try reader.readBytes(max: Int(Limits.symbolBytesMax))
        let target = try reader.readU16()
        let proof = try reader.read(MerkleProof.self)
        self.init(targetAxis: axis, targetIndex: SliverIndex(target), sourceIndex: SliverIndex(source), data: data, proof: proof)
    }
}

/// A held sliver, expanded once, that serves recovery symbols for any target of the other axis:
/// its expansion is coded and its Merkle tree built once (n leaf hashes and n - 1 inner ones, in
/// batches), so each symbol then costs a copy and a proof of log2(n) digests.
public struct RecoverySymbolSource: Sendable {
    public let sliver: SliverData
    private let expandedSymbols: [UInt8]
    private let tree: MerkleTree

    public init(sliver: SliverData, config: EncodingConfig) {
        self.sliver = sliver
        expandedSymbols = sliver.expanded(config: config)
        tree = MerkleTree(leafHashes: RedStuff.leafHashes(of: expandedSymbols, symbolSize: Int(sliver.symbolSize)))
    }

    /// The number of symbols in the expansion (n).
    public var symbolCount: Int { tree.leafCount }

    /// The symbol that helps rebuild sliver `target` (below n) of the orthogonal axis.
    public func symbol(for target: SliverIndex) -> RecoverySymbol {
        let s = Int(sliver.symbolSize)
        let t = Int(target.rawValue)
        precondition(t < tree.leafCount, "target index is below the shard count")
        return RecoverySymbol(
            targetAxis: sliver.axis.orthogonal, targetIndex: target, sourceIndex: sliver.index,
            data: Array(expandedSymbols[t * s..<(t + 1) * s]), proof: tree.proof(index: t))
    }
}

/// What rebuilding a sliver from recovery symbols found.
public enum RecoveryOutcome: Sendable {
    /// The rebuilt sliver matches the metadata.
    case recovered(SliverData)
    /// It does not: the blob was encoded inconsistently, and this proves it.
    case inconsistent(InconsistencyProof)
}

/// Rebuilds slivers from recovery symbols (PROTOCOL.md §1.9).
public struct SliverRecovery: Sendable {
    public let config: EncodingConfig
    public let metadata: BlobMetadata

    public init(config: EncodingConfig, metadata: BlobMetadata) {
        self.config = config
        self.metadata = metadata
    }

    /// Rebuilds sliver `target` of `axis` from symbols that verify, ignoring the others, duplicates
    /// and extras. Needs n_S symbols for a primary sliver and n_P for a secondary one.
    public func recover(_ axis: SliverAxis, target: SliverIndex, from symbols: [RecoverySymbol]) throws(RedStuffError) -> RecoveryOutcome {
        let needed = config.symbolsForRecovery(axis)
        var seen = Set<UInt16>()
        var used: [RecoverySymbol] = []
        for symbol in symbols where symbol.targetAxis == axis && symbol.targetIndex == target && used.count < needed {
            guard !seen.contains(symbol.sourceIndex.rawValue), (try? symbol.verify(against: metadata, config: config)) != nil else { continue }
            seen.insert(symbol.sourceIndex.rawValue)
            used.append(symbol)
        }
        guard used.count == needed else {
            throw RedStuffError(.notEnoughData, "rebuilding \(axis) sliver \(target.rawValue) needs \(needed) valid symbols, got \(used.count)")
        }
        let sliver = try decodeSliver(axis, target: target, symbols: used)
        let pair = Int(target.pairIndex(axis: axis, shardCount: config.shardCount).rawValue)
        if sliver.merkleRoot(config: config) == metadata.hashes[pair].hash(axis) { return .recovered(sliver) }
        return .inconsistent(InconsistencyProof(axis: axis, targetIndex: target, symbols: used))
    }

    /// Decodes the target's line from exactly the needed symbols (already verified).
    func decodeSliver(_ axis: SliverAxis, target: SliverIndex, symbols: [RecoverySymbol]) throws(RedStuffError) -> SliverData {
        // A row of the expanded matrix is a codeword of the secondary code (k = n_S) and a column
        // one of the primary code (k = n_P); a symbol's source index is its position in the line.
        let k = config.sliverSymbols(axis)
        let code = ReedSolomonCode(originalCount: k, recoveryCount: config.n - k)
        var line = [[UInt8]?](repeating: nil, count: config.n)
        for symbol in symbols { line[Int(symbol.sourceIndex.rawValue)] = symbol.data }
        guard let decoded = code.decode(line) else {
            throw RedStuffError(.notEnoughData, "the symbols do not determine \(axis) sliver \(target.rawValue)")
        }
        let s = try config.symbolSize(forLength: metadata.unencodedLength)
        return SliverData(axis: axis, index: target, symbolSize: UInt16(s), symbols: decoded.flatMap { $0 })
    }
}

/// Proof that a blob was encoded inconsistently: exactly the symbols needed to rebuild one sliver,
/// each with a valid proof, which decode to a sliver whose Merkle root is not the metadata's
/// (PROTOCOL.md §3.10). Wire form: target index u16 ‖ Vec<RecoverySymbol<A>>.
public struct InconsistencyProof: Hashable, Sendable {
    public let axis: SliverAxis
    public let targetIndex: SliverIndex
    public let symbols: [RecoverySymbol]

    public init(axis: SliverAxis, targetIndex: SliverIndex, symbols: [RecoverySymbol]) {
        self.axis = axis
        self.targetIndex = targetIndex
        self.symbols = symbols
    }

    /// Checks the proof: the exact symbol count, every symbol valid and distinct, and a decoded
    /// sliver that does not match the metadata. Throws `invalidProof` otherwise.
    public func verify(against metadata: BlobMetadata, config: EncodingConfig) throws(RedStuffError) {
        let needed = config.symbolsForRecovery(axis)
        guard symbols.count == needed else {
            throw RedStuffError(.invalidProof, "an inconsistency proof for a \(axis) sliver has \(needed) symbols, not \(symbols.count)")
        }
        guard Set(symbols.map(\.sourceIndex)).count == needed else {
            throw RedStuffError(.invalidProof, "the proof's symbols come from repeated slivers")
        }
        for symbol in symbols {
            guard symbol.targetAxis == axis, symbol.targetIndex == targetIndex else {
                throw RedStuffError(.invalidProof, "a symbol of the proof is for another target")
            }
            do { try symbol.verify(against: metadata, config: config) } catch {
                throw RedStuffError(.invalidProof, "a symbol of the proof does not verify: \(error.message)")
            }
        }
        let recovery = SliverRecovery(config: config, metadata: metadata)
        let sliver = try recovery.decodeSliver(axis, target: targetIndex, symbols: symbols)
        let pair = Int(targetIndex.pairIndex(axis: axis, shardCount: config.shardCount).rawValue)
        guard sliver.merkleRoot(config: config) != metadata.hashes[pair].hash(axis) else {
            throw RedStuffError(.invalidProof, "the symbols rebuild a sliver that matches the metadata: nothing is inconsistent")
        }
    }

    /// The largest symbol count accepted when decoding.
    public static let symbolCountMax = Int(Limits.shardCountMax)

    public var bcsBytes: [UInt8] {
        var writer = BCSWriter()
        writer.write(targetIndex.rawValue)
        writer.writeLength(symbols.count)
        for symbol in symbols { symbol.encodeRecoverySymbol(to: &writer) }
        return writer.bytes
    }

    /// Decodes the wire form of a proof for a sliver of `axis` (the axis is in the URL).
    public init(bcs bytes: [UInt8], axis: SliverAxis) throws(RedStuffError) {
        do {
            var reader = BCSReader(bytes)
            let target = SliverIndex(try reader.readU16())
            let count = try reader.readLength(max: InconsistencyProof.symbolCountMax, minElementBytes: 4)
            var symbols: [RecoverySymbol] = []
            for _ in 0..<count {
                symbols.append(try RecoverySymbol.decodeRecoverySymbol(from: &reader, targetAxis: axis, targetIndex: target))
            }
            try reader.finish()
            self.init(axis: axis, targetIndex: target, symbols: symbols)
        } catch { throw RedStuffError(error) }
    }
}
