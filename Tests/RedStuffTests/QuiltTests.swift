import Foundation
import Testing
import WalrusCore
import WalrusCrypto
@testable import RedStuff

/// One quilt of quilt-v1.json, made by Tests/Fixtures/quilt/make_vectors.py from Walrus's rules.
struct QuiltVector: Sendable, CustomStringConvertible {
    let name: String
    let shards: UInt16
    let files: [QuiltFile]
    let symbolSize, quiltLength: Int
    let quiltSHA256, indexSHA256: String
    let patches: [(identifier: String, start: Int, end: Int, internalID: String)]
    let quiltHex: String?, indexHex: String?
    var description: String { name }

    static func all() throws -> [QuiltVector] {
        let root = try Fixtures.json("quilt/quilt-v1.json")
        return try (root["quilts"] as! [[String: Any]]).map { entry in
            let files = try (entry["files"] as! [[String: Any]]).map { file in
                let tags = (file["tags"] as! [String: String]).map { QuiltTag(key: $0.key, value: $0.value) }
                let data: [UInt8]
                if let hex = file["dataHex"] as? String { data = try Hex.decode(hex) } else {
                    data = Fixtures.data(seed: file["seed"] as! String, length: file["length"] as! Int)
                }
                return try QuiltFile(identifier: file["identifier"] as! String, tags: tags, data: data)
            }
            return QuiltVector(
                name: entry["name"] as! String, shards: UInt16(entry["nShards"] as! Int), files: files,
                symbolSize: entry["symbolSize"] as! Int, quiltLength: entry["quiltLength"] as! Int,
                quiltSHA256: entry["quiltSha256"] as! String, indexSHA256: entry["indexSha256"] as! String,
                patches: (entry["patches"] as! [[String: Any]]).map {
                    ($0["identifier"] as! String, $0["startColumn"] as! Int, $0["endColumn"] as! Int, $0["internalIdHex"] as! String)
                },
                quiltHex: entry["quiltHex"] as? String, indexHex: entry["indexHex"] as? String)
        }
    }
}

@Suite struct QuiltTests {
    /// Walrus's own cases for the symbol size search (test_quilt_find_min_length), as the vector
    /// file carries them.
    @Test func symbolSizeMatchesWalrusCases() throws {
        let cases = try Fixtures.json("quilt/quilt-v1.json")["symbolSizeCases"] as! [[String: Any]]
        #expect(cases.count == 8)
        for c in cases {
            let size = try QuiltV1.symbolSize(sizes: c["sizes"] as! [Int], columns: c["columns"] as! Int, rows: c["rows"] as! Int, indexColumnsMax: c["indexColumns"] as! Int)
            #expect(size == c["symbolSize"] as! Int, "\(c)")
        }
        // Walrus: 4 items for 3 columns is too many; no item at all is empty input.
        #expect(throws: QuiltError.self) { try QuiltV1.symbolSize(sizes: [2, 1, 2, 1], columns: 3, rows: 3, indexColumnsMax: 1) }
        #expect(throws: QuiltError.self) { try QuiltV1.symbolSize(sizes: [], columns: 3, rows: 1, indexColumnsMax: 1) }
    }

    /// The layout is byte for byte the script's: symbol size, the whole quilt, the index, and each
    /// patch's columns and internal ID, whatever order the files come in.
    @Test(arguments: try QuiltVector.all())
    func layoutMatchesTheVectors(_ vector: QuiltVector) throws {
        let config = try EncodingConfig(shardCount: vector.shards)
        let quilt = try QuiltV1.encode(vector.files.reversed(), config: config)
        #expect(quilt.symbolSize == vector.symbolSize)
        #expect(quilt.bytes.count == vector.quiltLength)
        #expect(Hex.encode(SHA256.hash(quilt.bytes)) == vector.quiltSHA256)
        #expect(Hex.encode(SHA256.hash(quilt.index.bcsBytes)) == vector.indexSHA256)
        if let hex = vector.quiltHex { #expect(Hex.encode(quilt.bytes) == hex) }
        if let hex = vector.indexHex { #expect(Hex.encode(quilt.index.bcsBytes) == hex) }
        #expect(quilt.index.patches.count == vector.patches.count)
        for (patch, expected) in zip(quilt.index.patches, vector.patches) {
            #expect(patch.identifier == expected.identifier)
            #expect(patch.columns == expected.start..<expected.end)
            #expect(Hex.encode(patch.internalID.bytes) == expected.internalID)
        }
        // Read back from the whole quilt: the index, and every file by its columns.
        let columns = try QuiltColumns(quilt: quilt.bytes, config: config)
        let index = try QuiltV1.index(columns)
        #expect(index == quilt.index)
        let byIdentifier = Dictionary(uniqueKeysWithValues: vector.files.map { (Array($0.identifier.utf8), $0) })
        for patch in index.patches {
            let file = try QuiltV1.patch(columns, start: patch.columns.lowerBound, end: patch.columns.upperBound)
            #expect(file == byIdentifier[Array(patch.identifier.utf8)])
        }
    }

    /// Column `c` of the quilt is secondary sliver `c` of the encoded blob, so a patch is read from
    /// the slivers of its columns (and the index from column 0) and nothing else.
    @Test func aPatchReadsFromItsColumnsSlivers() throws {
        let vector = try #require(try QuiltVector.all().first { $0.name == "sixty-patches-100-shards" })
        let config = try EncodingConfig(shardCount: vector.shards)
        let quilt = try QuiltV1.encode(vector.files, config: config)
        let encoded = try BlobEncoder(config: config).encode(quilt.bytes)
        func sliver(_ column: Int) -> [UInt8] {
            encoded.secondarySliver(SliverIndex(UInt16(column))).symbols
        }
        let indexOnly = try QuiltColumns(columns: [0: sliver(0)], columnBytes: sliver(0).count, columnCount: config.secondarySourceSymbols)
        let index = try QuiltV1.index(indexOnly)
        #expect(index == quilt.index)
        let patch = index.patches[17]
        // Without its columns the read names them.
        let missing = #expect(throws: QuiltError.self) {
            try QuiltV1.patch(indexOnly, start: patch.columns.lowerBound, end: patch.columns.upperBound)
        }
        #expect(missing?.code == .missingColumns)
        let named = Set(missing?.columns ?? [-1])
        #expect(named.isSubset(of: Set(patch.columns)))
        var given: [Int: [UInt8]] = [:]
        for c in patch.columns { given[c] = sliver(c) }
        let columns = try QuiltColumns(columns: given, columnBytes: sliver(0).count, columnCount: config.secondarySourceSymbols)
        let file = try QuiltV1.patch(columns, start: patch.columns.lowerBound, end: patch.columns.upperBound)
        #expect(file.identifier == patch.identifier)
        #expect(file == vector.files.first { $0.identifier == patch.identifier })
    }

    /// Walrus's documentation shows patch IDs of a stored quilt; they parse to the columns the
    /// layout gives (version 1, start, end) and print back unchanged.
    @Test func patchIDsOfWalrusDocumentation() throws {
        let examples: [(String, UInt16, UInt16)] = [
            ("6XUOE-Q5-nAXHRifN6n9nomVDtHZQbGuAkW3PjlBuKoBAQDQAA", 1, 208),
            ("6XUOE-Q5-nAXHRifN6n9nomVDtHZQbGuAkW3PjlBuKoB0AB7Ag", 208, 635),
            ("uIiEbhP2qgZYygEGxJX1GeB-rQATo2yufC2DCp7B4iABAQANAA", 1, 13),
        ]
        for (text, start, end) in examples {
            let id = try QuiltPatchID(parsing: text)
            #expect(id.internalID == QuiltPatchInternalID(startColumn: start, endColumn: end))
            #expect(id.description == text)
        }
        #expect(try QuiltPatchID(parsing: "6XUOE-Q5-nAXHRifN6n9nomVDtHZQbGuAkW3PjlBuKoBAQDQAA").quiltID.description == "6XUOE-Q5-nAXHRifN6n9nomVDtHZQbGuAkW3PjlBuKo")
        for bad in ["", "6XUOE-Q5-nAXHRifN6n9nomVDtHZQbGuAkW3PjlBuKo", "6XUOE-Q5-nAXHRifN6n9nomVDtHZQbGuAkW3PjlBuKoCAQDQAA", "6XUOE-Q5-nAXHRifN6n9nomVDtHZQbGuAkW3PjlBuKoB0AABAA", "6XUOE-Q5-nAXHRifN6n9nomVDtHZQbGuAkW3PjlBuKoBAQDQA!"] {
            #expect(throws: QuiltError.self, "\(bad)") { try QuiltPatchID(parsing: bad) }
        }
    }

    /// Walrus's identifier rules (validate_quilt_identifier's doc tests), and duplicates.
    @Test func identifierRules() throws {
        for good in ["test", "test123", "123test", "a", "A123", "_test", "-test", ".test", "test blob", "test-blob", "test_blob", "test.blob", "Émile", "日本語"] {
            #expect((try? QuiltV1.validate(identifier: good)) != nil, "\(good)")
        }
        for bad in ["", "test ", "test\t", "test\n", "test\r", "test   ", "te\u{08}st", "\u{1B}test", "test\u{00}", "test\u{01}", "test\u{1F}", "test\u{7F}", "test\u{80}", "test\u{81}", "test\u{9F}", String(repeating: "x", count: 65_532)] {
            #expect(throws: QuiltError.self, "\(bad.prefix(20).debugDescription)") { try QuiltV1.validate(identifier: bad) }
        }
        let config = try EncodingConfig(shardCount: 10)
        let a = try QuiltFile(identifier: "same", data: [1])
        #expect(throws: QuiltError.self) { try QuiltV1.encode([a, a], config: config) }
        #expect(throws: QuiltError.self) { try QuiltFile(identifier: "x", tags: [QuiltTag(key: "k", value: "1"), QuiltTag(key: "k", value: "2")], data: []) }
        // A quilt for 10 shards has 7 columns: 6 patches fit, 7 do not, and none is no quilt.
        let six = try (0..<6).map { try QuiltFile(identifier: "f\($0)", data: [UInt8($0)]) }
        #expect((try? QuiltV1.encode(six, config: config)) != nil)
        #expect(throws: QuiltError.self) { try QuiltV1.encode(six + [try QuiltFile(identifier: "f6", data: [])], config: config) }
        #expect(throws: QuiltError.self) { try QuiltV1.encode([], config: config) }
    }

    /// Hostile quilt bytes: any change of the index or of a patch header is refused or decodes to
    /// something valid, never a crash; lengths that point past the columns are refused.
    @Test func hostileQuiltBytesNeverCrash() throws {
        let vector = try #require(try QuiltVector.all().first { $0.name == "tags-and-unicode" })
        let config = try EncodingConfig(shardCount: vector.shards)
        let quilt = try QuiltV1.encode(vector.files, config: config)
        var generator = SeededGenerator(seed: 19)
        var refused = 0
        for round in 0..<3000 {
            var bytes = quilt.bytes
            for _ in 0..<(1 + round % 4) {
                let at = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[at] = UInt8.random(in: 0...255, using: &generator)
            }
            let columns = try QuiltColumns(quilt: bytes, config: config)
            guard let index = try? QuiltV1.index(columns) else { refused += 1; continue }
            for patch in index.patches {
                if (try? QuiltV1.patch(columns, start: patch.columns.lowerBound, end: patch.columns.upperBound)) == nil { refused += 1 }
            }
        }
        #expect(refused > 0)
        // An index length past ten columns, a patch length past its columns, a wrong version.
        let columnBytes = quilt.symbolSize * config.primarySourceSymbols
        var bytes = quilt.bytes
        bytes[1] = 0xff; bytes[2] = 0xff; bytes[3] = 0xff; bytes[4] = 0x7f
        #expect(throws: QuiltError.self) { try QuiltV1.index(try QuiltColumns(quilt: bytes, config: config)) }
        bytes = quilt.bytes
        bytes[0] = 2
        #expect(throws: QuiltError.self) { try QuiltV1.index(try QuiltColumns(quilt: bytes, config: config)) }
        let first = quilt.index.patches[0]
        let columns = try QuiltColumns(quilt: quilt.bytes, config: config)
        #expect(throws: QuiltError.self) { try QuiltV1.patch(columns, start: Int(first.startColumn), end: Int(first.startColumn)) }
        #expect(throws: QuiltError.self) { try QuiltV1.patch(columns, start: 0, end: config.secondarySourceSymbols + 1) }
        #expect(throws: QuiltError.self) { try QuiltColumns(columns: [0: [1, 2]], columnBytes: columnBytes, columnCount: 7) }
        #expect(throws: QuiltError.self) { try QuiltColumns(quilt: [1, 2, 3], config: config) }
    }
}
