import Testing
import WalrusCore
@testable import RedStuff

@Suite struct RecoveryTests {
    @Test(arguments: [UInt16(4), 10, 31, 100])
    func slivesRebuildFromRecoverySymbols(n: UInt16) throws {
        let config = try EncodingConfig(shardCount: n)
        var rng = SeededGenerator(seed: UInt64(n))
        let encoded = try BlobEncoder(config: config).encode(rng.bytes(5_000))
        let recovery = SliverRecovery(config: config, metadata: encoded.metadata.metadata)
        let indices = (0..<config.n).map { SliverIndex(UInt16($0)) }
        for target in indices.shuffled(using: &rng).prefix(3) {
            // A primary sliver from n_S secondary slivers' symbols; a secondary one from n_P primaries.
            let helpersForPrimary = indices.shuffled(using: &rng).prefix(config.secondarySourceSymbols)
            let primarySymbols = helpersForPrimary.map {
                RecoverySymbolSource(sliver: encoded.secondarySliver($0), config: config).symbol(for: target)
            }
            guard case .recovered(let primary) = try recovery.recover(.primary, target: target, from: primarySymbols) else {
                Issue.record("primary sliver \(target) did not recover")
                continue
            }
            #expect(primary == encoded.primarySliver(target))

            let helpersForSecondary = indices.shuffled(using: &rng).prefix(config.primarySourceSymbols)
            let secondarySymbols = helpersForSecondary.map {
                RecoverySymbolSource(sliver: encoded.primarySliver($0), config: config).symbol(for: target)
            }
            guard case .recovered(let secondary) = try recovery.recover(.secondary, target: target, from: secondarySymbols) else {
                Issue.record("secondary sliver \(target) did not recover")
                continue
            }
            #expect(secondary == encoded.secondarySliver(target))
        }
    }

    @Test func tamperedSymbolsAreRejectedAndSkipped() throws {
        let config = try EncodingConfig(shardCount: 7)
        let encoded = try BlobEncoder(config: config).encode(Array("recover me, please".utf8))
        let metadata = encoded.metadata.metadata
        let target = SliverIndex(5)
        var symbols = (0..<7).map { RecoverySymbolSource(sliver: encoded.primarySliver(SliverIndex(UInt16($0))), config: config).symbol(for: target) }

        let good = symbols[0]
        var data = good.data
        data[0] ^= 1
        let badData = RecoverySymbol(targetAxis: .secondary, targetIndex: target, sourceIndex: good.sourceIndex, data: data, proof: good.proof)
        #expect { try badData.verify(against: metadata, config: config) } throws: { ($0 as! RedStuffError).code == .invalidSymbol }
        let badProof = RecoverySymbol(
            targetAxis: .secondary, targetIndex: target, sourceIndex: good.sourceIndex, data: good.data,
            proof: MerkleProof(path: good.proof.path.reversed()))
        #expect(throws: RedStuffError.self) { try badProof.verify(against: metadata, config: config) }
        let wrongSource = RecoverySymbol(targetAxis: .secondary, targetIndex: target, sourceIndex: SliverIndex(1), data: good.data, proof: good.proof)
        #expect(throws: RedStuffError.self) { try wrongSource.verify(against: metadata, config: config) }
        let shortData = RecoverySymbol(targetAxis: .secondary, targetIndex: target, sourceIndex: good.sourceIndex, data: [1], proof: good.proof)
        #expect(throws: RedStuffError.self) { try shortData.verify(against: metadata, config: config) }

        // Bad symbols are skipped; with enough good ones the sliver still recovers.
        symbols[0] = badData
        symbols[1] = badProof
        let recovery = SliverRecovery(config: config, metadata: metadata)
        guard case .recovered(let sliver) = try recovery.recover(.secondary, target: target, from: symbols) else {
            Issue.record("did not recover")
            return
        }
        #expect(sliver == encoded.secondarySliver(target))
        // With only n_P - 1 good ones it cannot.
        #expect { try recovery.recover(.secondary, target: target, from: Array(symbols.prefix(4))) }
            throws: { ($0 as! RedStuffError).code == .notEnoughData }
    }

    @Test func aConsistentBlobAdmitsNoInconsistencyProof() throws {
        let config = try EncodingConfig(shardCount: 10)
        let encoded = try BlobEncoder(config: config).encode(Array("honest writer".utf8))
        let target = SliverIndex(8)
        let symbols = (0..<config.primarySourceSymbols).map {
            RecoverySymbolSource(sliver: encoded.primarySliver(SliverIndex(UInt16($0))), config: config).symbol(for: target)
        }
        let proof = InconsistencyProof(axis: .secondary, targetIndex: target, symbols: symbols)
        #expect { try proof.verify(against: encoded.metadata.metadata, config: config) } throws: { ($0 as! RedStuffError).code == .invalidProof }
    }
}

/// A writer that alters one non-systematic primary sliver and computes the metadata over the
/// altered matrix: recovery yields an inconsistency proof that verifies, and strict decoding
/// reports the blob invalid.
@Suite struct InconsistentWriterTests {
    @Test(arguments: [UInt16(7), 31])
    func maliciousEncodingIsProvable(n: UInt16) throws {
        let config = try EncodingConfig(shardCount: n)
        var rng = SeededGenerator(seed: 77)
        let blob = rng.bytes(2_000)
        let honest = try BlobEncoder(config: config).encode(blob)
        let nP = config.primarySourceSymbols
        let alteredRow = config.n - 1  // A repair row: not systematic.

        // The expanded matrix with the altered row.
        var rows = (0..<config.n).map { honest.primarySliver(SliverIndex(UInt16($0))) }
        var symbols = rows[alteredRow].symbols
        symbols[0] ^= 0xff
        rows[alteredRow] = SliverData(axis: .primary, index: SliverIndex(UInt16(alteredRow)), symbolSize: rows[0].symbolSize, symbols: symbols)
        let expanded = rows.map { $0.expanded(config: config) }
        let s = Int(rows[0].symbolSize)
        func leaf(_ r: Int, _ c: Int) -> [UInt8] { Merkle.leafHash(Array(expanded[r][c * s..<(c + 1) * s])) }
        let hashes = (0..<config.n).map { p in
            SliverPairMetadata(
                primaryHash: Merkle.root(leafHashes: (0..<config.n).flatMap { leaf(p, $0) }),
                secondaryHash: Merkle.root(leafHashes: (0..<config.n).flatMap { leaf($0, config.n - 1 - p) }))
        }
        let metadata = BlobMetadata(unencodedLength: honest.metadata.metadata.unencodedLength, hashes: hashes)
        let forged = BlobMetadataWithID(blobID: metadata.blobID, metadata: metadata)
        #expect(forged.blobID != honest.blobID)

        // A node rebuilding secondary sliver 0 from primary slivers' symbols finds the inconsistency.
        let target = SliverIndex(0)
        let helpers = [alteredRow] + (0..<nP - 1).map { $0 }
        let recoverySymbols = helpers.map { RecoverySymbolSource(sliver: rows[$0], config: config).symbol(for: target) }
        let outcome = try SliverRecovery(config: config, metadata: metadata).recover(.secondary, target: target, from: recoverySymbols)
        guard case .inconsistent(let proof) = outcome else {
            Issue.record("the altered blob recovered without complaint")
            return
        }
        try proof.verify(against: metadata, config: config)
        let wire = try InconsistencyProof(bcs: proof.bcsBytes, axis: .secondary)
        #expect(wire == proof)
        try wire.verify(against: metadata, config: config)
        // Fewer symbols than exactly needed is not a proof.
        let short = InconsistencyProof(axis: .secondary, targetIndex: target, symbols: Array(proof.symbols.dropLast()))
        #expect(throws: RedStuffError.self) { try short.verify(against: metadata, config: config) }

        // Readers: the systematic slivers verify, so a default read succeeds, but strict fails.
        let decoder = try BlobDecoder(config: config, metadata: forged)
        let systematic = Array(rows.prefix(nP))
        #expect { try decoder.decode(systematic, check: .strict) } throws: { ($0 as! RedStuffError).code == .inconsistentBlob }
        #expect(try decoder.decode(systematic, check: .default) == blob)
    }
}
