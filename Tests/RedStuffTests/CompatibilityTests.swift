import CReedSolomon
import Testing
import WalrusCore
import WalrusCrypto
@testable import RedStuff

/// Byte compatibility with the reference: every vector of rs-gf16.json and redstuff-blob-ids.json.
@Suite struct CompatibilityTests {
    @Test(arguments: try RSVector.all())
    func reedSolomonVector(_ vector: RSVector) {
        for level in [Int32(0), 1, 2, 3] {
            let used = walrus_rs_limit_kernel(level)
            defer { walrus_rs_force_portable(0) }
            let code = ReedSolomonCode(originalCount: vector.originalCount, recoveryCount: vector.recoveryCount)
            let shards = stride(from: 0, to: vector.data.count, by: vector.shardBytes).map {
                Array(vector.data[$0..<$0 + vector.shardBytes])
            }
            let recovery = code.encode(shards)
            #expect(recovery.map { Hex.encode(Blake2b256.hash($0)) } == vector.recoveryHashes, "kernel level \(used)")
        }
        #expect((walrus_rs_is_high_rate(vector.originalCount, vector.recoveryCount) == 1) == (vector.rate == "high"))
    }

    /// Every kernel restores lost originals (the decoder's multiplications and both butterflies)
    /// for low- and high-rate codes, with erasures among originals and repair symbols, including
    /// shapes whose FFT sizes have an odd number of layers (two-layer kernels pair them up).
    @Test(arguments: [(34, 66), (67, 33), (5, 3), (3, 5), (300, 700), (700, 300), (1, 1)])
    func decodingAgreesAcrossKernels(_ shape: (Int, Int)) {
        let (k, m) = shape
        var generator = SeededGenerator(seed: UInt64(k * 1000 + m))
        let originals = (0..<k).map { _ in (0..<192).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        let code = ReedSolomonCode(originalCount: k, recoveryCount: m)
        for level in [Int32(0), 1, 2, 3] {
            let used = walrus_rs_limit_kernel(level)
            defer { walrus_rs_force_portable(0) }
            let recovery = code.encode(originals)
            // Lose the first min(k, m) originals, then fill in from the repair symbols.
            let lost = min(k, m)
            var symbols: [[UInt8]?] = originals.enumerated().map { $0.offset < lost ? nil : $0.element } + recovery.map { Optional($0) }
            for i in 0..<m where i >= lost { symbols[k + i] = nil }
            #expect(code.decode(symbols) == originals, "kernel level \(used), \(k) + \(m)")
        }
    }

    /// Reading the originals where they lie (at a stride, in the transform's first pass) gives the
    /// recovery shards of copying them into the workspace first, on every kernel, for low- and
    /// high-rate shapes with partial chunks, spill-over chunks, FFT sizes of one and two shards and
    /// odd layer counts; the originals are left as they were.
    @Test(arguments: [(1, 1), (2, 1), (1, 2), (3, 5), (5, 3), (4, 4), (34, 66), (67, 33), (130, 2), (2, 130), (8, 100), (300, 700), (700, 300)])
    func encodingFromTheOriginalsMatchesCopyingThem(_ shape: (Int, Int)) {
        let (k, m) = shape
        let shardBytes = 128, stride = 192
        var generator = SeededGenerator(seed: UInt64(k * 7919 + m))
        let source = (0..<k * stride).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let workCount = walrus_rs_encode_work_count(k, m)
        for level in [Int32(0), 1, 2, 3] {
            let used = walrus_rs_limit_kernel(level)
            defer { walrus_rs_force_portable(0) }
            var copied = [UInt8](repeating: 0, count: workCount * shardBytes)
            for i in 0..<k {
                copied.replaceSubrange(i * shardBytes..<(i + 1) * shardBytes, with: source[i * stride..<i * stride + shardBytes])
            }
            #expect(walrus_rs_encode_in_place(k, m, shardBytes, &copied) == 0)
            var read = [UInt8](repeating: 0xA5, count: workCount * shardBytes)
            let unchanged = source
            #expect(walrus_rs_encode_from(k, m, shardBytes, source, stride, &read) == 0)
            #expect(source == unchanged)
            #expect(read[..<(m * shardBytes)] == copied[..<(m * shardBytes)], "kernel level \(used), \(k) + \(m)")
        }
    }

    @Test func allRSVectorsArePresent() throws {
        #expect(try RSVector.all().count == 60)
        #expect(try BlobIDVector.all().count == 24)
    }

    @Test(arguments: try BlobIDVector.all())
    func blobIDVector(_ vector: BlobIDVector) throws {
        let config = try EncodingConfig(shardCount: vector.n)
        #expect(try config.symbolSize(forLength: UInt64(vector.blob.count)) == vector.symbolSize)
        let metadata = try BlobEncoder(config: config).computeMetadata(vector.blob)
        #expect(metadata.blobID.description == vector.blobID)
        #expect(Hex.encode(metadata.metadata.rootHash.bytes) == vector.rootHash)
        for (p, pair) in vector.pairs.enumerated() {
            #expect(Hex.encode(metadata.metadata.hashes[p].primaryHash.bytes) == pair.primary, "pair \(p) primary")
            #expect(Hex.encode(metadata.metadata.hashes[p].secondaryHash.bytes) == pair.secondary, "pair \(p) secondary")
        }
    }

    /// PROTOCOL.md §1.12: the full expanded matrix for n = 7 and "hello walrus".
    @Test func expandedMatrixForSeven() throws {
        let expected = [
            "6865 6c6c 6f20 7761 6c72 3064 405e",
            "7573 0000 0000 0000 0000 79d4 0ca7",
            "0000 0000 0000 0000 0000 0000 0000",
            "ff18 5044 9550 4b42 aa83 4c84 9749",
            "942a fca7 8e49 51ab 2554 54c6 c6fd",
            "5208 a81f 45d6 861b 4fb2 342a 4242",
            "242c 6890 31ef eb93 ac17 65d8 5f0f",
        ]
        let config = try EncodingConfig(shardCount: 7)
        let encoded = try BlobEncoder(config: config).encode(Array("hello walrus".utf8))
        for r in 0..<7 {
            let row = encoded.primarySliver(SliverIndex(UInt16(r))).expanded(config: config)
            let text = stride(from: 0, to: row.count, by: 2).map { Hex.encode(row[$0..<$0 + 2]) }.joined(separator: " ")
            #expect(text == expected[r], "row \(r)")
        }
        // Columns agree with rows: secondary sliver c is column c of the same matrix.
        for c in 0..<7 {
            let column = encoded.secondarySliver(SliverIndex(UInt16(c))).expanded(config: config)
            for r in 0..<7 {
                let cell = expected[r].split(separator: " ")[c]
                #expect(Hex.encode(column[2 * r..<2 * r + 2]) == cell, "cell \(r),\(c)")
            }
        }
        #expect(encoded.blobID.description == "WqDL1tTEcA0D5Vi3i3zx2FPqlAJJe6PVXMnxjnRMDoo")
    }
}
