import WalrusCore
import CBlake2b
import CReedSolomon
import Foundation

/// Encodes blobs with Red Stuff: the row (secondary) code over the message rows, the column
/// (primary) code over every column, a leaf hash for each of the n² symbols of the expanded matrix,
/// and the Merkle roots that make the metadata and the blob ID (PROTOCOL.md §1.7, §2).
///
/// The work is split into stripes of rows or columns, run on all cores; each stripe packs its
/// symbols into the Reed-Solomon kernel's layout, codes them, and hashes what it produced while it
/// is in cache.
public struct BlobEncoder: Sendable {
    public let config: EncodingConfig
    /// Worker threads; defaults to the number of cores.
    public var workers: Int
    /// Target bytes per Reed-Solomon shard in one stripe: stripes this size keep a code's working
    /// set (about 2n shards) within the caches. Symbols larger than this are coded one column
    /// tile of this size at a time.
    public var stripeShardBytesTarget = 8192

    /// An encoder using `workers` threads (by default one per core).
    public init(config: EncodingConfig, workers: Int? = nil) {
        self.config = config
        self.workers = max(1, workers ?? ProcessInfo.processInfo.activeProcessorCount)
    }

    /// The metadata and blob ID of a blob, without keeping its slivers.
    public func computeMetadata(_ matrix: MessageMatrix) -> BlobMetadataWithID {
        expand(matrix, keepSlivers: false).metadata
    }

    public func computeMetadata(_ blob: [UInt8]) throws(RedStuffError) -> BlobMetadataWithID {
        computeMetadata(try MessageMatrix(config: config, blob: blob))
    }

    /// Encodes a blob into its metadata and all `n` sliver pairs.
    public func encode(_ matrix: MessageMatrix) -> EncodedBlob { expand(matrix, keepSlivers: true) }

    public func encode(_ blob: [UInt8]) throws(RedStuffError) -> EncodedBlob {
        encode(try MessageMatrix(config: config, blob: blob))
    }

    private func expand(_ matrix: MessageMatrix, keepSlivers: Bool) -> EncodedBlob {
        precondition(matrix.config == config, "the matrix was laid out for this configuration")
        let layout = ExpansionLayout(config: config, symbolSize: matrix.symbolSize)
        // Secondary slivers n_S..<n: the row code's output. (Secondary slivers below n_S are columns
        // of the message matrix, gathered from it when asked for.) Every buffer here is written in
        // full before it is read.
        let rowRecovery = RawBuffer(uninitializedCount: layout.f * layout.columnBytes)
        // Primary slivers n_P..<n: the rows of the expanded matrix below the message.
        let primaryExtra = keepSlivers ? RawBuffer(uninitializedCount: (layout.n - layout.nP) * layout.rowBytes) : nil
        let leaves = RawBuffer(uninitializedCount: layout.n * layout.n * 32)
        let message = matrix.buffer.bytes

        encodeRows(layout, message: message, rowRecovery: rowRecovery.bytes, leaves: leaves.bytes)
        encodeColumns(layout, message: message, rowRecovery: rowRecovery.bytes, primaryExtra: primaryExtra?.bytes, leaves: leaves.bytes)
        let hashes = sliverPairHashes(layout, leaves: leaves.bytes)
        let metadata = BlobMetadata(unencodedLength: matrix.unencodedLength, hashes: hashes)
        let withID = BlobMetadataWithID(blobID: metadata.blobID, metadata: metadata)
        return EncodedBlob(metadata: withID, matrix: matrix, primaryExtra: primaryExtra, rowRecovery: keepSlivers ? rowRecovery : nil)
    }

    /// Instances (rows or columns) per stripe, balanced so that every worker gets several stripes.
    private func instancesPerStripe(_ layout: ExpansionLayout, total: Int) -> Int {
        let slot = max(64, walrus_rs_stripe_shard_bytes(layout.s, 64) / 64)
        let byTarget = max(1, stripeShardBytesTarget / slot)
        let byBalance = max(1, (total + 4 * workers - 1) / (4 * workers))
        return min(byTarget, byBalance, total)
    }

    /// Phase 1: the secondary code over each message row; leaf hashes of rows 0..<n_P.
    private func encodeRows(
        _ layout: ExpansionLayout, message: UnsafeMutablePointer<UInt8>, rowRecovery: UnsafeMutablePointer<UInt8>,
        leaves: UnsafeMutablePointer<UInt8>
    ) {
        let (n, nP, nS, f, s) = (layout.n, layout.nP, layout.nS, layout.f, layout.s)
        let perStripe = instancesPerStripe(layout, total: nP)
        let stripes = (nP + perStripe - 1) / perStripe
        let codes = (0..<workers).map { _ in
            TiledCode(originals: nS, recovery: f, symbolSize: s, instances: perStripe, tileTarget: stripeShardBytesTarget)
        }
        parallelForEach(stripes, workers: workers) { stripe, worker in
            let r0 = stripe * perStripe
            let count = min(perStripe, nP - r0)
            codes[worker].run(
                count: count, source: message + r0 * layout.rowBytes, sourceShardStride: s, sourceInstanceStride: layout.rowBytes,
                target: rowRecovery + r0 * s, targetShardStride: layout.columnBytes, targetInstanceStride: s)
            for r in r0..<r0 + count {
                walrus_blake2b256_prefixed_batch2(leaves + (r * n) * 32, 32, 0, s, message + r * layout.rowBytes, s, nS, rowRecovery + r * s, layout.columnBytes, f)
            }
        }
    }

    /// Phase 2: the primary code over every column; leaf hashes of rows n_P..<n; the kept slivers.
    private func encodeColumns(
        _ layout: ExpansionLayout, message: UnsafeMutablePointer<UInt8>, rowRecovery: UnsafeMutablePointer<UInt8>,
        primaryExtra: UnsafeMutablePointer<UInt8>?, leaves: UnsafeMutablePointer<UInt8>
    ) {
        let (n, nP, nS, s) = (layout.n, layout.nP, layout.nS, layout.s)
        let repair = n - nP
        let perStripe = instancesPerStripe(layout, total: n)
        // Stripes never straddle column n_S, where the source of the column symbols changes.
        let systematicStripes = (nS + perStripe - 1) / perStripe
        let stripes = systematicStripes + (n - nS + perStripe - 1) / perStripe
        let codes = (0..<workers).map { _ in
            TiledCode(originals: nP, recovery: repair, symbolSize: s, instances: perStripe, tileTarget: stripeShardBytesTarget)
        }
        let scratches = (0..<workers).map { _ in RawBuffer(uninitializedCount: repair * perStripe * s) }
        parallelForEach(stripes, workers: workers) { stripe, worker in
            let isSystematic = stripe < systematicStripes
            let c0 = isSystematic ? stripe * perStripe : nS + (stripe - systematicStripes) * perStripe
            let count = min(perStripe, (isSystematic ? nS : n) - c0)
            // Repair rows of these columns: into the primary slivers when kept, else a scratch buffer.
            let target: UnsafeMutablePointer<UInt8>
            let shardStride: Int
            if isSystematic, let primaryExtra {
                target = primaryExtra + c0 * s
                shardStride = layout.rowBytes
            } else {
                target = scratches[worker].bytes
                shardStride = count * s
            }
            if isSystematic {
                codes[worker].run(
                    count: count, source: message + c0 * s, sourceShardStride: layout.rowBytes, sourceInstanceStride: s,
                    target: target, targetShardStride: shardStride, targetInstanceStride: s)
            } else {
                codes[worker].run(
                    count: count, source: rowRecovery + (c0 - nS) * layout.columnBytes, sourceShardStride: s,
                    sourceInstanceStride: layout.columnBytes, target: target, targetShardStride: shardStride, targetInstanceStride: s)
            }
            for b in 0..<count {
                walrus_blake2b256_prefixed_batch(leaves + (nP * n + c0 + b) * 32, n * 32, 0, target + b * s, shardStride, s, repair)
            }
        }
    }

    /// Phase 3: the Merkle root over each row (primary hash of pair p = row p) and each column
    /// (secondary hash of pair p = column n-1-p).
    private func sliverPairHashes(_ layout: ExpansionLayout, leaves: UnsafeMutablePointer<UInt8>) -> [SliverPairMetadata] {
        let n = layout.n
        let roots = RawBuffer(zeroedCount: 2 * n * 32)
        let perStripe = max(1, n / (8 * workers))
        let stripes = (n + perStripe - 1) / perStripe
        parallelForEach(stripes, workers: workers) { stripe, _ in
            let column = RawBuffer(zeroedCount: n * 32)
            let scratch = RawBuffer(zeroedCount: (n + 1) * 32)
            for p in stripe * perStripe..<min(n, (stripe + 1) * perStripe) {
                walrus_merkle_root(roots.bytes + (2 * p) * 32, leaves + p * n * 32, n, scratch.bytes)
                walrus_copy_strided(column.bytes, 32, 0, leaves + (n - 1 - p) * 32, n * 32, 0, 32, n, 1)
                walrus_merkle_root(roots.bytes + (2 * p + 1) * 32, column.bytes, n, scratch.bytes)
            }
        }
        return (0..<n).map { p in
            SliverPairMetadata(
                primaryHash: .digest(roots.copy(offset: 2 * p * 32, count: 32)),
                secondaryHash: .digest(roots.copy(offset: (2 * p + 1) * 32, count: 32)))
        }
    }
}

/// Sizes of one expansion.
struct ExpansionLayout {
    let n, nP, nS, f, s: Int
    init(config: EncodingConfig, symbolSize: Int) {
        n = config.n
        nP = config.primarySourceSymbols
        nS = config.secondarySourceSymbols
        f = n - nS
        s = symbolSize
    }
    /// Bytes of a message row / primary sliver.
    var rowBytes: Int { nS * s }
    /// Bytes of a secondary sliver.
    var columnBytes: Int { nP * s }
}

/// The workspace of one Reed-Solomon code run over stripes of independent instances packed side by
/// side. A worker reuses one for all its stripes: symbols are packed straight into the work shards,
/// coded in place, and read back from them, so nothing is allocated or copied per stripe. Lanes
/// that a smaller stripe leaves unused hold stale values, which never mix into used lanes (the code
/// works on each element position on its own).
final class StripeCode {
    let originals, recovery, symbolSize: Int
    private(set) var instances: Int
    private(set) var shardBytes: Int
    private let capacity: Int
    private let work: RawBuffer

    /// Bytes of the workspace.
    var workBytes: Int { work.count }

    init(originals: Int, recovery: Int, symbolSize: Int, instances: Int) {
        capacity = instances
        self.originals = originals
        self.recovery = recovery
        self.symbolSize = symbolSize
        self.instances = instances
        shardBytes = walrus_rs_stripe_shard_bytes(symbolSize, instances)
        // Every work shard is written before it is read: `pack` fills the originals and the encoder
        // zeroes the padding shards itself; bytes past a stripe's used lanes never reach the output.
        work = RawBuffer(uninitializedCount: walrus_rs_encode_work_count(originals, recovery) * shardBytes)
    }

    /// Prepares the workspace for a stripe of `count` instances, at most the count it was made for.
    func begin(instances count: Int) {
        precondition(count >= 1 && count <= capacity, "the stripe fits the workspace")
        shardBytes = walrus_rs_stripe_shard_bytes(symbolSize, count)
        instances = count
    }

    func pack(_ source: UnsafePointer<UInt8>, shardStride: Int, instanceStride: Int) {
        walrus_rs_pack_stripe(work.bytes, shardBytes, symbolSize, source, shardStride, instanceStride, originals, instances)
    }

    func encode() {
        let rc = walrus_rs_encode_in_place(originals, recovery, shardBytes, work.bytes)
        precondition(rc == 0, "the code's shard counts are supported")
    }

    /// Codes the stripe whose original i of instance b lies at `source + i * shardStride + b *
    /// instanceStride`. A single instance of whole 64-byte blocks is already in the kernel's
    /// layout, so the transform reads it where it lies instead of packing it first.
    func code(_ source: UnsafePointer<UInt8>, shardStride: Int, instanceStride: Int) {
        guard instances == 1 && symbolSize % 64 == 0 else {
            pack(source, shardStride: shardStride, instanceStride: instanceStride)
            encode()
            return
        }
        let rc = walrus_rs_encode_from(originals, recovery, shardBytes, source, shardStride, work.bytes)
        precondition(rc == 0, "the code's shard counts are supported")
    }

    func unpackRecovery(_ target: UnsafeMutablePointer<UInt8>, shardStride: Int, instanceStride: Int) {
        walrus_rs_unpack_stripe(target, shardStride, instanceStride, work.bytes, shardBytes, symbolSize, recovery, instances)
    }

    /// Feeds one instance's originals (`originalStride` apart from `originals`) and its recovery
    /// symbols, read where the code left them, to `stream` as its first `originals` and next
    /// `recovery` messages. Whole 64-byte blocks lie in the workspace as they are; the bytes of a
    /// last partial block are unpacked from its two halves first.
    func absorb(into stream: OpaquePointer, originals source: UnsafePointer<UInt8>, originalStride: Int) {
        precondition(instances == 1, "one instance per stream")
        let whole = symbolSize / 64 * 64
        if whole > 0 {
            walrus_blake2b_stream_absorb(stream, whole, source, originalStride, originals, work.bytes, shardBytes)
        }
        let rest = symbolSize - whole
        guard rest > 0 else { return }
        let partial = partialBlocks
        for i in 0..<recovery { walrus_rs_unpack_symbol(partial.bytes + 64 * i, work.bytes + i * shardBytes + whole, 0, rest) }
        walrus_blake2b_stream_absorb(stream, rest, source + whole, originalStride, originals, partial.bytes, 64)
    }

    /// The recovery symbols' last partial blocks, unpacked.
    private lazy var partialBlocks = RawBuffer(uninitializedCount: 64 * recovery)
}

/// A Reed-Solomon code over instances of one symbol size, run so that its work shards stay in
/// cache: a stripe of several small instances at once, or a single instance whose symbols are
/// larger than the tile target column tile by column tile (the code works on each byte position
/// on its own, so the tiles give the same symbols).
final class TiledCode {
    let symbolSize: Int
    /// Bytes of a column tile: the symbol size when instances are coded whole.
    let tileBytes: Int
    private let code: StripeCode
    private let tailCode: StripeCode?

    /// Bytes of the workspaces.
    var workBytes: Int { code.workBytes + (tailCode?.workBytes ?? 0) }

    init(originals: Int, recovery: Int, symbolSize: Int, instances: Int, tileTarget: Int) {
        self.symbolSize = symbolSize
        if instances == 1 && symbolSize > max(tileTarget, 2) {
            tileBytes = max(tileTarget, 2) & ~1  // Symbols are 16-bit elements.
            let tail = symbolSize % tileBytes
            code = StripeCode(originals: originals, recovery: recovery, symbolSize: tileBytes, instances: 1)
            tailCode = tail == 0 ? nil : StripeCode(originals: originals, recovery: recovery, symbolSize: tail, instances: 1)
        } else {
            tileBytes = symbolSize
            code = StripeCode(originals: originals, recovery: recovery, symbolSize: symbolSize, instances: instances)
            tailCode = nil
        }
    }

    /// Codes `count` instances: original i of instance b at `source + i * sourceShardStride + b *
    /// sourceInstanceStride`, recovery symbol i of instance b written to `target + i *
    /// targetShardStride + b * targetInstanceStride`.
    func run(
        count: Int, source: UnsafePointer<UInt8>, sourceShardStride: Int, sourceInstanceStride: Int,
        target: UnsafeMutablePointer<UInt8>, targetShardStride: Int, targetInstanceStride: Int
    ) {
        guard tileBytes < symbolSize else {
            code.begin(instances: count)
            code.code(source, shardStride: sourceShardStride, instanceStride: sourceInstanceStride)
            code.unpackRecovery(target, shardStride: targetShardStride, instanceStride: targetInstanceStride)
            return
        }
        precondition(count == 1, "a tiled code runs one instance at a time")
        forEachTile { tile, offset in
            tile.code(source + offset, shardStride: sourceShardStride, instanceStride: 0)
            tile.unpackRecovery(target + offset, shardStride: targetShardStride, instanceStride: 0)
        }
    }

    /// Codes one instance and hashes its expansion as it comes: `stream`, reset for originals +
    /// recovery messages, takes every tile of the originals (read where they lie) and of the
    /// recovery symbols (read from the workspace, while in cache), so the recovery symbols are
    /// never written out.
    func hashExpansion(source: UnsafePointer<UInt8>, sourceShardStride: Int, into stream: OpaquePointer) {
        forEachTile { tile, offset in
            tile.code(source + offset, shardStride: sourceShardStride, instanceStride: 0)
            tile.absorb(into: stream, originals: source + offset, originalStride: sourceShardStride)
        }
    }

    /// The codes over successive column tiles (one code when instances are coded whole), with each
    /// tile's offset in the symbol.
    private func forEachTile(_ body: (StripeCode, Int) -> Void) {
        var offset = 0
        while offset < symbolSize {
            let tile = symbolSize - offset >= tileBytes ? code : tailCode!
            body(tile, offset)
            offset += tile.symbolSize
        }
    }
}
