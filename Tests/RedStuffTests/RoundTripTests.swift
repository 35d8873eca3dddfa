import Testing
import WalrusCore
@testable import RedStuff

/// Encode, then decode from random subsets of slivers, for many shard counts and blob lengths.
@Suite struct RoundTripTests {
    static let cases: [(n: UInt16, lengths: [Int])] = [
        (4, [0, 1, 2, 5, 6, 7, 12, 13, 1001]),
        (7, [0, 1, 2, 29, 30, 31, 33, 4096]),
        (10, [1, 55, 56, 57, 100_000]),
        (31, [3, 461, 462, 463, 50_001]),
        (100, [0, 4555, 4556, 4557, 2_500_001]),
        (1000, [1, 445_556, 445_557, 1_048_576]),
    ]

    @Test(arguments: RoundTripTests.cases.indices)
    func roundTrips(caseIndex: Int) throws {
        let (n, lengths) = RoundTripTests.cases[caseIndex]
        let config = try EncodingConfig(shardCount: n)
        var rng = SeededGenerator(seed: UInt64(n) * 7919)
        for length in lengths {
            let blob = rng.bytes(length)
            let encoded = try BlobEncoder(config: config).encode(blob)
            #expect(encoded.blobID == encoded.metadata.metadata.blobID)
            let decoder = try BlobDecoder(config: config, metadata: encoded.metadata)
            let all = (0..<config.n).map { SliverIndex(UInt16($0)) }

            // Exactly n_P primary slivers, chosen at random.
            let primaries = all.shuffled(using: &rng).prefix(config.primarySourceSymbols).map(encoded.primarySliver)
            #expect(try decoder.decode(primaries, check: .strict) == blob, "n=\(n) len=\(length) primary")

            // Exactly n_S secondary slivers.
            let secondaries = all.shuffled(using: &rng).prefix(config.secondarySourceSymbols).map(encoded.secondarySliver)
            #expect(try decoder.decode(secondaries, check: .default) == blob, "n=\(n) len=\(length) secondary")

            // More than needed, with duplicates and a tampered one mixed in.
            var mixed = all.shuffled(using: &rng).prefix(config.primarySourceSymbols + 2).map(encoded.primarySliver)
            mixed.append(mixed[0])
            let bad = mixed[1]
            var symbols = bad.symbols
            symbols[0] ^= 0x01
            mixed.insert(SliverData(axis: .primary, index: bad.index, symbolSize: bad.symbolSize, symbols: symbols), at: 0)
            #expect(try decoder.decode(mixed, check: .skip) == blob, "n=\(n) len=\(length) mixed")
        }
    }

    @Test func tooFewSliversIsNotEnoughData() throws {
        let config = try EncodingConfig(shardCount: 10)
        let encoded = try BlobEncoder(config: config).encode(Array("not enough".utf8))
        let decoder = try BlobDecoder(config: config, metadata: encoded.metadata)
        let few = (0..<config.primarySourceSymbols - 1).map { encoded.primarySliver(SliverIndex(UInt16($0))) }
        #expect { try decoder.decode(few) } throws: { ($0 as! RedStuffError).code == .notEnoughData }
    }

    @Test func encodingUsesTheSameBytesWithOneOrManyWorkers() throws {
        let config = try EncodingConfig(shardCount: 31)
        var rng = SeededGenerator(seed: 5)
        let blob = rng.bytes(77_777)
        let one = try BlobEncoder(config: config, workers: 1).computeMetadata(blob)
        let many = try BlobEncoder(config: config, workers: 3).computeMetadata(blob)
        #expect(one == many)
    }

    /// Symbols larger than the stripe target are coded in column tiles (the last one narrower and
    /// not a whole number of 64-byte blocks); the slivers and metadata equal those of whole symbols.
    @Test func tiledCodingGivesTheSameSlivers() throws {
        let config = try EncodingConfig(shardCount: 10)
        var rng = SeededGenerator(seed: 6)
        let blob = rng.bytes(200_000)  // 7,144-byte symbols: six tiles of 1,024 bytes and one of 1,000.
        #expect(try config.symbolSize(forLength: UInt64(blob.count)) == 7144)
        var tiled = BlobEncoder(config: config)
        tiled.stripeShardBytesTarget = 1024
        var whole = BlobEncoder(config: config)
        whole.stripeShardBytesTarget = 1 << 20
        let a = try tiled.encode(blob), b = try whole.encode(blob)
        #expect(a.metadata == b.metadata)
        for i in 0..<config.n {
            let index = SliverIndex(UInt16(i))
            #expect(a.primarySliver(index) == b.primarySliver(index), "primary \(i)")
            #expect(a.secondarySliver(index) == b.secondarySliver(index), "secondary \(i)")
            try a.primarySliver(index).verify(against: b.metadata.metadata, config: config)
            try a.secondarySliver(index).verify(against: b.metadata.metadata, config: config)
        }
    }
}
