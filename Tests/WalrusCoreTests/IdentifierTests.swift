import Testing
import WalrusCore
import Foundation

@Suite struct IdentifierTests {
    @Test func blobIDRoundTripsThroughText() throws {
        let text = "M4hsZGQ1oCktdzegB6HnI6Mi28S2nqOPHxK-W7_4BUk"
        let id = try BlobID(parsing: text)
        #expect(id.description == text)
        #expect(Hex.encode(id.bytes) == "33886c646435a0292d7737a007a1e723a322dbc4b69ea38f1f12be5bbff80549")
    }

    @Test func blobIDParseErrorsSayWhatIsWrong() {
        let cases: [(String, String)] = [
            ("abc", "43 base64url characters, got 3"),
            ("M4hsZGQ1oCktdzegB6HnI6Mi28S2nqOPHxK-W7_4BUk=", "remove the trailing '=' padding"),
            ("0x33886c646435a0292d7737a007a1e723a322dbc4b69ea38f1f12be5bbff80549", "looks like a hex object ID"),
            ("M4hsZGQ1oCktdzegB6HnI6Mi28S2nqOPHxK+W7/4BUk", "character '+'"),
            ("M4hsZGQ1oCktdzegB6HnI6Mi28S2nqOPHxK-W7_4BUl", "non-zero trailing bits"),
        ]
        for (text, expected) in cases {
            #expect {
                _ = try BlobID(parsing: text)
            } throws: { error in
                let error = error as! CoreError
                return error.code == .invalidIdentifier && error.message.contains(expected)
            }
        }
    }

    @Test func hexIdentifiersParseWithAndWithoutPrefix() throws {
        let hex = String(repeating: "ab", count: 32)
        let a = try ObjectID(parsing: "0x" + hex)
        let b = try ObjectID(parsing: hex)
        #expect(a == b)
        #expect(a.description == "0x" + hex)
        #expect(throws: CoreError.self) { try Address(parsing: "0x1234") }
        #expect(throws: CoreError.self) { try NodeID(parsing: "0x" + String(repeating: "zz", count: 32)) }
        #expect(throws: CoreError.self) { try Hex.decode("abc") }
    }

    @Test func rotationOffsetsMatchTheVectors() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/redstuff-blob-ids.json")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let vectors = root["vectors"] as! [[String: Any]]
        #expect(vectors.count > 10)
        for vector in vectors {
            let id = try BlobID(parsing: vector["blob_id"] as! String)
            #expect(Hex.encode(id.bytes) == vector["blob_id_hex"] as! String)
            let n = UInt16(vector["n"] as! Int)
            #expect(id.rotationOffset(shardCount: n) == UInt16(vector["rotation_offset"] as! Int))
        }
    }

    @Test func pairAndShardMappingsAreInverse() {
        for n: UInt16 in [4, 7, 10, 1000] {
            for offset in [0, 1, n / 2, n - 1] {
                for p in 0..<n {
                    let pair = SliverPairIndex(p)
                    let shard = pair.shardIndex(rotationOffset: offset, shardCount: n)
                    #expect(shard.pairIndex(rotationOffset: offset, shardCount: n) == pair)
                    let secondary = pair.secondarySliverIndex(shardCount: n)
                    #expect(secondary.pairIndex(axis: .secondary, shardCount: n) == pair)
                    #expect(pair.primarySliverIndex.pairIndex(axis: .primary, shardCount: n) == pair)
                }
            }
        }
    }
}

@Suite struct AmountAndThresholdTests {
    @Test func frostArithmeticIsChecked() throws {
        let one = try FROST.wal(1)
        #expect(one.rawValue == 1_000_000_000)
        #expect(try one.adding(FROST(500_000_000)).walString == "1.5")
        #expect(FROST(1).walString == "0.000000001")
        #expect(throws: CoreError.self) { try FROST(UInt64.max).adding(FROST(1)) }
        #expect(throws: CoreError.self) { try FROST(1).subtracting(FROST(2)) }
        #expect(throws: CoreError.self) { try FROST(UInt64.max / 2 + 1).multiplied(by: 2) }
        #expect(throws: CoreError.self) { try FROST.wal(UInt64.max) }
        #expect(try Epoch(UInt32.max - 1).adding(1) == Epoch(UInt32.max))
        #expect(throws: CoreError.self) { try Epoch(UInt32.max).adding(1) }
    }

    @Test(arguments: [
        (UInt64(4), UInt64(1), UInt64(3), UInt64(2)),
        (7, 2, 5, 3),
        (10, 3, 7, 4),
        (100, 33, 67, 34),
        (1000, 333, 667, 334),
    ])
    func thresholdsByWeight(n: UInt64, f: UInt64, quorum: UInt64, validity: UInt64) {
        #expect(BFT.maxFaulty(totalWeight: n) == f)
        #expect(BFT.quorumWeight(totalWeight: n) == quorum)
        #expect(BFT.validityWeight(totalWeight: n) == validity)
        #expect(BFT.isQuorum(weight: quorum, totalWeight: n))
        #expect(!BFT.isQuorum(weight: quorum - 1, totalWeight: n))
        #expect(BFT.isValidity(weight: validity, totalWeight: n))
        #expect(!BFT.isValidity(weight: validity - 1, totalWeight: n))
    }

    @Test func seededGeneratorReplays() {
        var a = SeededGenerator(seed: 42)
        var b = SeededGenerator(seed: 42)
        var c = SeededGenerator(seed: 43)
        let x = (0..<8).map { _ in a.next() }
        #expect(x == (0..<8).map { _ in b.next() })
        #expect(x != (0..<8).map { _ in c.next() })
        #expect(a.bytes(13).count == 13)
    }
}

@Suite struct AmountParsingTests {
    @Test func amountsParseInWALOrFROST() throws {
        #expect(try FROST(parsing: "1.5WAL") == FROST(1_500_000_000))
        #expect(try FROST(parsing: " 2 wal ") == FROST(2_000_000_000))
        #expect(try FROST(parsing: ".000000001WAL") == FROST(1))
        #expect(try FROST(parsing: "42") == FROST(42))
        #expect(try FROST(parsing: "18446744073WAL") == FROST(18_446_744_073_000_000_000))
        for bad in ["", "WAL", "1.5", "-1", "1.0000000001WAL", "18446744074WAL", "1..2WAL", "1.٣WAL", "0x10", "18446744073709551616"] {
            #expect(throws: CoreError.self, "'\(bad)'") { try FROST(parsing: bad) }
        }
    }
}
