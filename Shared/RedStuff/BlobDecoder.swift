public import WalrusCore
import Foundation

/// What a reader checks after decoding (PROTOCOL.md §8.2). Slivers are always verified one by one
/// against the metadata first, whichever check is chosen.
public enum ConsistencyCheck: String, Sendable, CaseIterable {
    /// No check after decoding; only for trusted writers.
    case skip
    /// Recompute the Merkle roots of the n_P systematic primary slivers from the decoded blob: the
    /// reader gets exactly what the writer authenticated, or an error.
    case `default`
    /// Re-encode the whole blob and require the same blob ID: proves the writer encoded
    /// consistently, so every reader gets the same data.
    case strict
}

/// A sliver checked against a blob's metadata (`SliverData.verify`): only `BlobDecoder.verify` makes
/// one, so a decoder given verified slivers can skip checking them again. Lets a reader verify each
/// sliver as it arrives, overlapping the work with the transfers of the others.
public struct VerifiedSliver: Sendable {
    public let sliver: SliverData
    /// The blob ID whose metadata the sliver was checked against.
    public let blobID: BlobID

    init(_ sliver: SliverData, blobID: BlobID) {
        self.sliver = sliver
        self.blobID = blobID
    }
}

/// Decodes a blob from slivers that verify against its metadata.
public struct BlobDecoder: Sendable {
    public let config: EncodingConfig
    public let metadata: BlobMetadataWithID
    public var workers: Int

    /// A decoder for the blob of `metadata`, which must verify against its blob ID for `config`.
    public init(config: EncodingConfig, metadata: BlobMetadataWithID, workers: Int? = nil) throws(RedStuffError) {
        try metadata.metadata.verify(against: metadata.blobID, shardCount: config.shardCount)
        self.config = config
        self.metadata = metadata
        self.workers = max(1, workers ?? ProcessInfo.processInfo.activeProcessorCount)
    }

    private var symbolSize: Int { (try? config.symbolSize(forLength: metadata.metadata.unencodedLength)) ?? 2 }

    /// The blob from slivers of one axis: any n_P authentic primary slivers or n_S authentic
    /// secondary slivers. Slivers that do not verify, duplicates and extras are ignored; too few
    /// valid ones throw `notEnoughData`; a failed consistency check throws `inconsistentBlob`.
    public func decode(_ slivers: [SliverData], check: ConsistencyCheck = .default) throws(RedStuffError) -> [UInt8] {
        guard let axis = slivers.first?.axis else {
            throw RedStuffError(.notEnoughData, "no slivers to decode from")
        }
        precondition(slivers.allSatisfy { $0.axis == axis }, "decode from slivers of one axis")
        let required = axis == .primary ? config.primarySourceSymbols : config.secondarySourceSymbols
        return try decodeValid(verifiedDistinct(slivers, limit: required), total: slivers.count, check: check)
    }

    /// Decodes from distinct slivers of one axis that all verify.
    private func decodeValid(_ valid: [SliverData], total: Int, check: ConsistencyCheck) throws(RedStuffError) -> [UInt8] {
        guard let axis = valid.first?.axis else {
            throw RedStuffError(.notEnoughData, "no valid slivers to decode from (\(total) given)")
        }
        precondition(valid.allSatisfy { $0.axis == axis }, "decode from slivers of one axis")
        let required = axis == .primary ? config.primarySourceSymbols : config.secondarySourceSymbols
        guard valid.count >= required else {
            throw RedStuffError(
                .notEnoughData, "decoding needs \(required) valid \(axis) slivers, got \(valid.count) of \(total)")
        }
        if axis == .primary, check != .strict, let blob = concatenatedSystematic(valid) { return blob }
        let matrix = try rebuildMessage(from: valid, axis: axis)
        let received = axis == .primary ? Set(valid.map { Int($0.index.rawValue) }) : []
        try checkConsistency(matrix, check: check, verifiedRows: received)
        return matrix.blob
    }

    /// Checks one sliver against this decoder's metadata.
    public func verify(_ sliver: SliverData) throws(RedStuffError) -> VerifiedSliver {
        try sliver.verify(against: metadata.metadata, config: config)
        return VerifiedSliver(sliver, blobID: metadata.blobID)
    }

    /// The blob from slivers already verified against this blob's metadata (by `verify(_:)`), as
    /// `decode(_:check:)` would give it from the same slivers.
    public func decode(verified: [VerifiedSliver], check: ConsistencyCheck = .default) throws(RedStuffError) -> [UInt8] {
        precondition(verified.allSatisfy { $0.blobID == metadata.blobID }, "slivers verified for this blob")
        var seen = Set<UInt16>()
        // Lowest indices first: the systematic primary slivers, when present, are the ones used.
        let distinct = verified.map(\.sliver).filter { seen.insert($0.index.rawValue).inserted }.sorted { $0.index.rawValue < $1.index.rawValue }
        let required = distinct.first?.axis == .secondary ? config.secondarySourceSymbols : config.primarySourceSymbols
        return try decodeValid(Array(distinct.prefix(required)), total: verified.count, check: check)
    }

    /// The first `limit` slivers (by distinct index) that verify against the metadata.
    private func verifiedDistinct(_ slivers: [SliverData], limit: Int) -> [SliverData] {
        var seen = Set<UInt16>()
        let candidates = slivers.filter { seen.insert($0.index.rawValue).inserted }
        let results = Results(count: candidates.count)
        let metadata = self.metadata.metadata
        let config = self.config
        parallelForEach(candidates.count, workers: workers) { i, _ in
            results.set(i, (try? candidates[i].verify(against: metadata, config: config)) != nil)
        }
        return Array(candidates.indices.filter { results.get($0) }.prefix(limit).map { candidates[$0] })
    }

    /// The blob straight from verified primary slivers 0..<n_P, which are the message matrix's
    /// rows: nothing to decode, and the default check has nothing left to recompute (every row
    /// was verified against the metadata). Nil when any systematic sliver is missing.
    private func concatenatedSystematic(_ slivers: [SliverData]) -> [UInt8]? {
        let nP = config.primarySourceSymbols
        var rows = [SliverData?](repeating: nil, count: nP)
        for sliver in slivers where Int(sliver.index.rawValue) < nP { rows[Int(sliver.index.rawValue)] = sliver }
        guard rows.allSatisfy({ $0 != nil }) else { return nil }
        let length = Int(metadata.metadata.unencodedLength)
        return [UInt8](unsafeUninitializedCapacity: length) { out, initialized in
            var offset = 0
            for row in rows {
                guard offset < length, let symbols = row?.symbols else { break }
                let count = min(symbols.count, length - offset)
                symbols.withUnsafeBufferPointer { out.baseAddress!.advanced(by: offset).initialize(from: $0.baseAddress!, count: count) }
                offset += count
            }
            initialized = length
        }
    }

    private func rebuildMessage(from slivers: [SliverData], axis: SliverAxis) throws(RedStuffError) -> MessageMatrix {
        let length = metadata.metadata.unencodedLength
        let matrix = try MessageMatrix(config: config, length: length) { (_: UnsafeMutableRawBufferPointer) throws(RedStuffError) in }
        let s = symbolSize
        let nP = config.primarySourceSymbols, nS = config.secondarySourceSymbols
        let ok: Bool = withSliverPointers(slivers) { sources in
            if axis == .primary {
                // Each message column is a primary codeword: row i of the slivers is its symbol i.
                return StripeDecoder(originals: nP, recovery: config.n - nP, symbolSize: s).decode(
                    sources: sources, instances: nS, instanceStride: s, output: matrix.buffer.bytes,
                    outputShardStride: matrix.rowBytes, outputInstanceStride: s, workers: workers)
            }
            // Each message row is a secondary codeword: column j of the slivers is its symbol j.
            return StripeDecoder(originals: nS, recovery: config.n - nS, symbolSize: s).decode(
                sources: sources, instances: nP, instanceStride: s, output: matrix.buffer.bytes,
                outputShardStride: s, outputInstanceStride: matrix.rowBytes, workers: workers)
        }
        guard ok else { throw RedStuffError(.notEnoughData, "the slivers do not determine the blob") }
        return matrix
    }

    private func checkConsistency(_ matrix: MessageMatrix, check: ConsistencyCheck, verifiedRows: Set<Int>) throws(RedStuffError) {
        switch check {
        case .skip:
            return
        case .strict:
            let recomputed = BlobEncoder(config: config, workers: workers).computeMetadata(matrix)
            guard recomputed.blobID == metadata.blobID else {
                throw RedStuffError(.inconsistentBlob, "re-encoding the decoded blob gives blob ID \(recomputed.blobID), not \(metadata.blobID): the blob was encoded inconsistently")
            }
        case .default:
            let rows = (0..<config.primarySourceSymbols).filter { !verifiedRows.contains($0) }
            let results = Results(count: rows.count)
            let s = matrix.symbolSize
            let hashes = metadata.metadata.hashes
            let config = self.config
            parallelForEach(rows.count, workers: workers) { i, _ in
                let r = rows[i]
                let row = matrix.buffer.copy(offset: r * matrix.rowBytes, count: matrix.rowBytes)
                let sliver = SliverData(axis: .primary, index: SliverIndex(UInt16(r)), symbolSize: UInt16(s), symbols: row)
                results.set(i, sliver.merkleRoot(config: config) == hashes[r].primaryHash)
            }
            if let bad = rows.indices.first(where: { !results.get($0) }) {
                throw RedStuffError(.inconsistentBlob, "decoded primary sliver \(rows[bad]) does not match the metadata: the blob was encoded inconsistently")
            }
        }
    }
}

/// Per-task booleans written from worker threads.
final class Results: @unchecked Sendable {
    private let buffer: RawBuffer
    init(count: Int) { buffer = RawBuffer(zeroedCount: count) }
    func set(_ i: Int, _ value: Bool) { buffer.bytes[i] = value ? 1 : 0 }
    func get(_ i: Int) -> Bool { buffer.bytes[i] != 0 }
}

/// Calls `body` with each sliver's symbols as a pointer keyed by the sliver's codeword index.
func withSliverPointers<R>(_ slivers: [SliverData], _ body: ([Int: UnsafePointer<UInt8>]) -> R) -> R {
    // Copy into one buffer so that every pointer stays valid for the whole call.
    let total = slivers.reduce(0) { $0 + $1.symbols.count }
    let buffer = RawBuffer(zeroedCount: total)
    var sources: [Int: UnsafePointer<UInt8>] = [:]
    var offset = 0
    for sliver in slivers {
        sliver.symbols.withUnsafeBytes { (buffer.pointer + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        sources[Int(sliver.index.rawValue)] = UnsafePointer(buffer.bytes + offset)
        offset += sliver.symbols.count
    }
    return withExtendedLifetime(buffer) { body(sources) }
}
