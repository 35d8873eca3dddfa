import Testing
import WalrusCore
@testable import RedStuff

@Suite struct ConfigTests {
    @Test func parametersMatchTheProtocolTables() throws {
        let c = try EncodingConfig(shardCount: 1000)
        #expect((c.maxFaulty, c.primarySourceSymbols, c.secondarySourceSymbols) == (333, 334, 667))
        #expect(c.maxBlobSize == 14_599_533_452)
        #expect(try c.symbolSize(forLength: 0) == 2)
        #expect(try c.symbolSize(forLength: 1_048_576) == 6)
        #expect(try c.encodedBlobLength(forLength: 1) == 66_034_000)
        #expect(try c.encodedBlobLength(forLength: 1_048_576) == 70_038_000)
        #expect(try c.encodedBlobLength(forLength: 1 << 30) == 4_888_852_000)
        #expect(try c.encodedBlobLength(forLength: c.maxBlobSize) == 65_663_566_000)
        #expect { try c.symbolSize(forLength: c.maxBlobSize + 1) } throws: { ($0 as! RedStuffError).code == .blobTooLarge }
        #expect(try EncodingConfig(shardCount: 7).maxBlobSize == 983_010)
        #expect(try EncodingConfig(shardCount: 100).maxBlobSize == 149_286_452)
        #expect(throws: RedStuffError.self) { try EncodingConfig(shardCount: 3) }
    }
}

@Suite struct VerificationTests {
    let config: EncodingConfig
    let encoded: EncodedBlob

    init() throws {
        config = try EncodingConfig(shardCount: 10)
        var rng = SeededGenerator(seed: 11)
        encoded = try BlobEncoder(config: config).encode(rng.bytes(3_000))
    }

    var metadata: BlobMetadata { encoded.metadata.metadata }

    @Test func everySliverVerifies() throws {
        for i in 0..<config.n {
            try encoded.primarySliver(SliverIndex(UInt16(i))).verify(against: metadata, config: config)
            try encoded.secondarySliver(SliverIndex(UInt16(i))).verify(against: metadata, config: config)
        }
    }

    @Test func tamperedSliversAreRejectedWithTheReason() {
        let good = encoded.primarySliver(SliverIndex(3))
        var flipped = good.symbols
        flipped[flipped.count - 1] ^= 0x80
        let cases: [(SliverData, String)] = [
            (SliverData(axis: .primary, index: good.index, symbolSize: good.symbolSize, symbols: flipped), "Merkle root"),
            (SliverData(axis: .primary, index: SliverIndex(4), symbolSize: good.symbolSize, symbols: good.symbols), "Merkle root"),
            (SliverData(axis: .primary, index: SliverIndex(10), symbolSize: good.symbolSize, symbols: good.symbols), "not below"),
            (SliverData(axis: .primary, index: good.index, symbolSize: good.symbolSize, symbols: Array(good.symbols.dropLast(2))), "bytes, expected"),
            (SliverData(axis: .primary, index: good.index, symbolSize: good.symbolSize + 2, symbols: good.symbols), "symbol size"),
            (SliverData(axis: .secondary, index: good.index, symbolSize: good.symbolSize, symbols: good.symbols), "bytes, expected"),
        ]
        for (sliver, reason) in cases {
            #expect {
                try sliver.verify(against: metadata, config: config)
            } throws: { error in
                let error = error as! RedStuffError
                return error.code == .invalidSliver && error.message.contains(reason)
            }
        }
    }

    @Test func tamperedMetadataIsRejected() throws {
        var hashes = metadata.hashes
        hashes[2] = SliverPairMetadata(primaryHash: hashes[3].primaryHash, secondaryHash: hashes[2].secondaryHash)
        let forged = BlobMetadata(unencodedLength: metadata.unencodedLength, hashes: hashes)
        #expect { try forged.verify(against: encoded.blobID, shardCount: 10) } throws: { ($0 as! RedStuffError).code == .invalidMetadata }
        let longer = BlobMetadata(unencodedLength: metadata.unencodedLength + 1, hashes: metadata.hashes)
        #expect(throws: RedStuffError.self) { try longer.verify(against: encoded.blobID, shardCount: 10) }
        #expect { try metadata.verify(against: encoded.blobID, shardCount: 13) } throws: { ($0 as! RedStuffError).code == .invalidMetadata }
        #expect(throws: RedStuffError.self) { try BlobDecoder(config: config, metadata: BlobMetadataWithID(blobID: encoded.blobID, metadata: forged)) }
    }

    @Test func wireFormatsRoundTrip() throws {
        let sliver = encoded.secondarySliver(SliverIndex(7))
        #expect(try SliverData(bcs: sliver.bcsBytes(), axis: .secondary) == sliver)
        let withID = encoded.metadata
        #expect(try BlobMetadataWithID.decode(bcs: withID.bcsBytes) == withID)
        #expect(withID.metadata.bcsBytes.count == 1 + 1 + 8 + 1 + 66 * 10)
        var raptorQ = withID.metadata.bcsBytes
        raptorQ[1] = 0
        #expect(throws: CoreError.self) { try BlobMetadata.decode(bcs: raptorQ) }
        let symbol = RecoverySymbolSource(sliver: sliver, config: config).symbol(for: SliverIndex(2))
        #expect(try RecoverySymbol.decode(bcs: symbol.bcsBytes) == symbol)
    }

    @Test func metadataSizeAtAThousandShards() throws {
        let config = try EncodingConfig(shardCount: 1000)
        let withID = try BlobEncoder(config: config).computeMetadata([1, 2, 3])
        #expect(withID.metadata.bcsBytes.count == 66_012)
        #expect(withID.bcsBytes.count == 66_044)
    }

    @Test func randomBytesNeverCrashTheDecoders() {
        var rng = SeededGenerator(seed: 99)
        let valid = encoded.primarySliver(SliverIndex(1)).bcsBytes()
        for round in 0..<3_000 {
            var bytes = rng.bytes(Int(rng.next() % 200))
            if round % 3 == 0 {
                bytes = valid
                bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            _ = try? SliverData(bcs: bytes, axis: .primary)
            _ = try? InconsistencyProof(bcs: bytes, axis: .secondary)
            _ = try? BlobMetadata.decode(bcs: bytes)
            _ = try? BlobMetadataWithID.decode(bcs: bytes)
            _ = try? RecoverySymbol.decode(bcs: bytes)
            _ = try? MerkleProof.decode(bcs: bytes)
        }
    }
}
