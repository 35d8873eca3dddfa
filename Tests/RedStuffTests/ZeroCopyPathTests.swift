import Foundation
import Testing
import WalrusCore
@testable import RedStuff

/// The paths that skip intermediate copies give exactly the bytes and the answers of the plain ones:
/// slivers written straight from the encoding, slivers parsed in place, the systematic read path
/// and the merkle root of an expansion that is never materialized.
@Suite struct ZeroCopyPathTests {
    static let shardCounts: [UInt16] = [4, 10, 100]

    /// A blob of `size` random bytes encoded for `n` shards with its decoder, and the generator
    /// that drew it, for the test's further draws.
    struct Coded {
        let config: EncodingConfig
        var rng: SeededGenerator
        let blob: [UInt8]
        let encoded: EncodedBlob
        let decoder: BlobDecoder

        init(shards n: UInt16, seed: UInt64, size: Int) throws {
            config = try EncodingConfig(shardCount: n)
            rng = SeededGenerator(seed: seed)
            blob = rng.bytes(size)
            encoded = try BlobEncoder(config: config).encode(blob)
            decoder = try BlobDecoder(config: config, metadata: encoded.metadata)
        }
    }

    @Test(arguments: ZeroCopyPathTests.shardCounts)
    func writtenWireFormEqualsTheSliversBytes(n: UInt16) throws {
        let config = try EncodingConfig(shardCount: n)
        var rng = SeededGenerator(seed: UInt64(n))
        for length in [0, 1, 7_777] {
            let encoded = try BlobEncoder(config: config).encode(rng.bytes(length))
            for i in 0..<config.n {
                let index = SliverIndex(UInt16(i))
                for (axis, sliver) in [(SliverAxis.primary, encoded.primarySliver(index)), (.secondary, encoded.secondarySliver(index))] {
                    var written = [UInt8](repeating: 0xAA, count: encoded.sliverBCSCount(axis))
                    written.withUnsafeMutableBytes { encoded.writeSliverBCS(axis, index, into: $0) }
                    #expect(written == sliver.bcsBytes(), "n=\(n) length=\(length) \(axis) \(i)")
                }
            }
        }
    }

    @Test(arguments: ZeroCopyPathTests.shardCounts)
    func wireFormInPartsEqualsTheSliversBytes(n: UInt16) throws {
        let config = try EncodingConfig(shardCount: n)
        var rng = SeededGenerator(seed: UInt64(n) + 1)
        for length in [0, 1, 7_777, 300_001] {
            let encoded = try BlobEncoder(config: config).encode(rng.bytes(length))
            for i in 0..<config.n {
                let index = SliverIndex(UInt16(i))
                for (axis, sliver) in [(SliverAxis.primary, encoded.primarySliver(index)), (.secondary, encoded.secondarySliver(index))] {
                    let (head, regions, tail) = encoded.sliverBCSParts(axis, index)
                    let joined = head + regions.flatMap { Array($0) } + tail
                    #expect(joined == sliver.bcsBytes(), "n=\(n) length=\(length) \(axis) \(i)")
                }
            }
        }
    }

    /// A matrix over memory the caller holds (as the CLI's file mapping gives it) holds the same
    /// bytes as one the blob is copied into and gives the same blob ID; it keeps its owner, and
    /// memory that is too short or not zero past the blob is refused.
    @Test func aMatrixOverCallerMemoryEqualsACopiedOne() throws {
        final class Owner {
            let memory: UnsafeMutableRawBufferPointer
            init(count: Int) {
                memory = .allocate(byteCount: count, alignment: 64)
                memory.initializeMemory(as: UInt8.self, repeating: 0)
            }
            deinit { memory.deallocate() }
        }
        let config = try EncodingConfig(shardCount: 10)
        var rng = SeededGenerator(seed: 404)
        for length in [0, 1, 4096, 4097, 1_000_003] {
            let blob = rng.bytes(length)
            let total = try MessageMatrix.byteCount(config: config, length: UInt64(length))
            weak var held: Owner?
            var over: MessageMatrix? = try {
                let owner = Owner(count: total)
                blob.withUnsafeBytes { if !$0.isEmpty { owner.memory.copyMemory(from: $0) } }
                held = owner
                return try MessageMatrix(config: config, length: UInt64(length), memory: UnsafeRawBufferPointer(owner.memory), owner: owner)
            }()
            let copied = try MessageMatrix(config: config, blob: blob)
            #expect(over!.buffer.copy(offset: 0, count: total) == copied.buffer.copy(offset: 0, count: total), "length \(length)")
            #expect(BlobEncoder(config: config).computeMetadata(over!) == BlobEncoder(config: config).computeMetadata(copied))
            do {
                let owner = try #require(held, "the matrix keeps its owner")
                #expect(throws: RedStuffError.self) {
                    try MessageMatrix(config: config, length: UInt64(length), memory: UnsafeRawBufferPointer(rebasing: owner.memory[..<(total - 1)]), owner: owner)
                }
                if length + 1 < total {
                    owner.memory[total - 1] = 1
                    #expect(throws: RedStuffError.self) { try MessageMatrix(config: config, length: UInt64(length), memory: UnsafeRawBufferPointer(owner.memory), owner: owner) }
                }
            }
            over = nil
            #expect(held == nil, "the owner goes with the matrix")
        }
    }

    @Test func inPlaceParseRejectsWhatTheWireFormForbids() throws {
        let config = try EncodingConfig(shardCount: 10)
        let encoded = try BlobEncoder(config: config).encode(Array(repeating: 7, count: 5_000))
        let good = encoded.primarySliver(SliverIndex(2)).bcsBytes()
        #expect(try SliverData(bcs: good, axis: .primary) == encoded.primarySliver(SliverIndex(2)))
        let cases: [([UInt8], String)] = [
            (Array(good.dropLast()), "truncated"),
            (good + [0], "trailing"),
            ([], "truncated"),
            ([0x80], "truncated"),
            ([0x80, 0x00, 0, 0, 0, 0], "non-canonical"),
        ]
        for (bytes, reason) in cases {
            #expect {
                try SliverData(bcs: bytes, axis: .primary)
            } throws: { error in
                let error = error as! RedStuffError
                return error.code == .malformed && error.message.contains(reason)
            }
        }
        #expect { try SliverData(bcs: good, axis: .primary, maxBytes: 10) } throws: { ($0 as! RedStuffError).message.contains("exceeds the limit") }
    }

    @Test func wireVerificationAgreesWithDecodedVerification() throws {
        let config = try EncodingConfig(shardCount: 10)
        var rng = SeededGenerator(seed: 21)
        let encoded = try BlobEncoder(config: config).encode(rng.bytes(12_345))
        let metadata = encoded.metadata.metadata
        for i in 0..<config.n {
            for (axis, sliver) in [(SliverAxis.primary, encoded.primarySliver(SliverIndex(UInt16(i)))), (.secondary, encoded.secondarySliver(SliverIndex(UInt16(i))))] {
                var wire = sliver.bcsBytes()
                #expect(try wire.withUnsafeBytes { (raw) throws(RedStuffError) in try SliverData.verifyWire(raw, axis: axis, against: metadata, config: config) } == sliver.index)
                wire[wire.count / 2] ^= 0x01
                for bytes in [wire, Array(wire.dropLast()), wire + [9]] {
                    let viaWire = bytes.withUnsafeBytes { raw in Result { () throws(RedStuffError) in try SliverData.verifyWire(raw, axis: axis, against: metadata, config: config) } }
                    let viaDecoded = Result { () throws(RedStuffError) in try SliverData(bcs: bytes, axis: axis).verify(against: metadata, config: config) }
                    guard case .failure(let a) = viaWire, case .failure(let b) = viaDecoded else {
                        Issue.record("a damaged \(axis) sliver \(i) passed")
                        continue
                    }
                    #expect(a.code == b.code && a.message == b.message)
                }
            }
        }
    }

    @Test func merkleRootMatchesTheMaterializedExpansion() throws {
        // Symbols below one column tile, of exactly two tiles, and of several tiles and a narrower one.
        for (n, length): (UInt16, Int) in [(4, 20_001), (10, 20_001), (100, 20_001), (10, 28 * 16_384), (10, 280_000), (4, 200_000)] {
            let config = try EncodingConfig(shardCount: n)
            var rng = SeededGenerator(seed: 40 + UInt64(n))
            let encoded = try BlobEncoder(config: config).encode(rng.bytes(length))
            for i in [0, config.n / 2, config.n - 1] {
                for sliver in [encoded.primarySliver(SliverIndex(UInt16(i))), encoded.secondarySliver(SliverIndex(UInt16(i)))] {
                    let s = Int(sliver.symbolSize)
                    let materialized = Merkle.root(leafHashes: leafHashes(of: sliver.expanded(config: config), symbolSize: s))
                    // Twice: the second call reuses the first one's workspace.
                    #expect(sliver.merkleRoot(config: config) == materialized)
                    #expect(sliver.merkleRoot(config: config) == materialized)
                }
            }
        }
    }

    @Test func sliversVerifiedOneByOneDecodeLikeUncheckedOnes() throws {
        var coded = try Coded(shards: 31, seed: 12, size: 54_321)
        let (config, blob, encoded, decoder) = (coded.config, coded.blob, coded.encoded, coded.decoder)
        let all = (0..<config.n).map { SliverIndex(UInt16($0)) }
        // Systematic plus extras in any order, repair only, secondary only, with duplicates.
        let sets: [[SliverData]] = [
            all.shuffled(using: &coded.rng).prefix(config.primarySourceSymbols + 5).map(encoded.primarySliver) + (0..<config.primarySourceSymbols).map { encoded.primarySliver(all[$0]) },
            all.suffix(config.primarySourceSymbols).map(encoded.primarySliver),
            all.shuffled(using: &coded.rng).prefix(config.secondarySourceSymbols).map(encoded.secondarySliver),
        ]
        for (i, slivers) in sets.enumerated() {
            let verified = try slivers.map { (sliver) throws(RedStuffError) in try decoder.verify(sliver) }
            for check in ConsistencyCheck.allCases { #expect(try decoder.decode(verified: verified, check: check) == blob, "set \(i), \(check)") }
        }
        let tooFew = try all.prefix(config.primarySourceSymbols - 1).map { (index) throws(RedStuffError) in try decoder.verify(encoded.primarySliver(index)) }
        #expect { try decoder.decode(verified: tooFew) } throws: { ($0 as! RedStuffError).code == .notEnoughData }
        var symbols = encoded.primarySliver(all[0]).symbols
        symbols[0] ^= 1
        #expect(throws: RedStuffError.self) { try decoder.verify(SliverData(axis: .primary, index: all[0], symbolSize: encoded.primarySliver(all[0]).symbolSize, symbols: symbols)) }
    }

    @Test func systematicSliversGiveTheBlobAndAnyBadOneFallsBackToDecoding() throws {
        let coded = try Coded(shards: 10, seed: 8, size: 33_333)
        let (config, blob, encoded, decoder) = (coded.config, coded.blob, coded.encoded, coded.decoder)
        let systematic = (0..<config.primarySourceSymbols).map { encoded.primarySliver(SliverIndex(UInt16($0))) }
        for check in ConsistencyCheck.allCases { #expect(try decoder.decode(systematic, check: check) == blob, "\(check)") }
        // Systematic sliver 1 tampered, one repair sliver added: the tampered one is dropped and
        // the blob decoded from the rest.
        var tampered = systematic
        var symbols = tampered[1].symbols
        symbols[5] ^= 0x10
        tampered[1] = SliverData(axis: .primary, index: tampered[1].index, symbolSize: tampered[1].symbolSize, symbols: symbols)
        let repair = encoded.primarySliver(SliverIndex(UInt16(config.n - 1)))
        #expect(try decoder.decode(tampered + [repair], check: .default) == blob)
        #expect { try decoder.decode(tampered) } throws: { ($0 as! RedStuffError).code == .notEnoughData }
    }

    /// Feeds `bytes` to the sink in chunks of random sizes; false if the sink refused.
    static func feed(_ sink: SliverWireSink, _ bytes: [UInt8], rng: inout SeededGenerator) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let take = min(bytes.count - offset, 1 + Int(rng.next() % 700))
            let ok = bytes[offset..<offset + take].withUnsafeBytes { sink.receive($0) }
            guard ok else { return false }
            offset += take
        }
        return true
    }

    @Test(arguments: [UInt16(4), 10, 100])
    func systematicSliversStreamedIntoTheMatrixGiveTheBlob(n: UInt16) throws {
        let config = try EncodingConfig(shardCount: n)
        var rng = SeededGenerator(seed: 70 + UInt64(n))
        for length in [0, 1, 50_003] {
            let blob = rng.bytes(length)
            let encoded = try BlobEncoder(config: config).encode(blob)
            let assembly = try SystematicAssembly(decoder: BlobDecoder(config: config, metadata: encoded.metadata))
            for row in (0..<assembly.rows).shuffled(using: &rng) {
                let sink = assembly.sink(row: row)
                #expect(Self.feed(sink, encoded.primarySliver(SliverIndex(UInt16(row))).bcsBytes(), rng: &rng))
                try assembly.accept(sink)
            }
            #expect(assembly.isComplete && assembly.missingRows.isEmpty)
            #expect(assembly.withBlob { Array($0) } == blob, "n=\(n) length=\(length)")
        }
    }

    @Test func streamedSliversThatAreWrongStayMissing() throws {
        var coded = try Coded(shards: 10, seed: 90, size: 9_999)
        let (blob, encoded, decoder) = (coded.blob, coded.encoded, coded.decoder)
        let assembly = try SystematicAssembly(decoder: decoder)
        let wire = { (row: Int) in encoded.primarySliver(SliverIndex(UInt16(row))).bcsBytes() }
        // Row 0: one flipped symbol byte. Row 1: the body of sliver 2. Row 2: truncated. Row 3 (the
        // last systematic row at n = 10): one byte too many, refused while streaming.
        var flipped = wire(0)
        flipped[10] ^= 0x40
        let cases: [(Int, [UInt8], Bool, String)] = [
            (0, flipped, true, "Merkle root"),
            (1, wire(2), true, "not 1"),
            (2, Array(wire(2).dropLast(3)), true, "truncated"),
            (3, wire(3) + [0], false, "past the end"),
        ]
        #expect(assembly.rows == 4)
        for (row, bytes, accepted, reason) in cases {
            let sink = assembly.sink(row: row)
            #expect(Self.feed(sink, bytes, rng: &coded.rng) == accepted, "row \(row)")
            #expect { try assembly.accept(sink) } throws: { ($0 as! RedStuffError).message.contains(reason) }
        }
        // A length prefix other than the row's is refused at once.
        let other = assembly.sink(row: 0)
        #expect(![UInt8]([5]).withUnsafeBytes { other.receive($0) })
        #expect(assembly.missingRows == [0, 1, 2, 3] && !assembly.isComplete)
        // Rows fixed later verify; the rest decodes with repair slivers.
        let good = assembly.sink(row: 1)
        #expect(Self.feed(good, wire(1), rng: &coded.rng))
        try assembly.accept(good)
        #expect(assembly.missingRows == [0, 2, 3])
        let repairs = try (7..<10).map { (i) throws(RedStuffError) in try decoder.verify(encoded.primarySliver(SliverIndex(UInt16(i)))) }
        #expect(try decoder.decode(verified: assembly.verifiedSlivers() + repairs) == blob)
    }
}
