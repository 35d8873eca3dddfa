import Foundation
import WalrusCore
import WalrusCrypto

/// The compatibility vectors under Tests/Fixtures (copied from shared/vectors; never edited).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func json(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent(name))) as! [String: Any]
    }

    /// The vectors' data generator: SHA-256(seed ‖ ':' ‖ counter) concatenated, truncated.
    static func data(seed: String, length: Int) -> [UInt8] {
        var out: [UInt8] = []
        var counter = 0
        while out.count < length {
            out += SHA256.hash(Array("\(seed):\(counter)".utf8))
            counter += 1
        }
        return Array(out.prefix(length))
    }

    /// The bytes a vector's `data` field describes.
    static func blob(_ spec: [String: Any]) -> [UInt8] {
        if let ascii = spec["ascii"] as? String { return Array(ascii.utf8) }
        if let seed = spec["seed"] as? String { return data(seed: seed, length: spec["len"] as! Int) }
        let length = spec["len"] as! Int
        switch spec["formula"] as! String {
        case "i mod 251": return (0..<length).map { UInt8($0 % 251) }
        case "(7*i) mod 256": return (0..<length).map { UInt8((7 * $0) % 256) }
        case let other: fatalError("unknown data formula \(other)")
        }
    }
}

struct RSVector: Sendable, CustomStringConvertible {
    let originalCount, recoveryCount, shardBytes: Int
    let rate: String
    let data: [UInt8]
    let recoveryHashes: [String]
    var description: String { "\(originalCount)→\(recoveryCount)×\(shardBytes)B \(rate)" }

    static func all() throws -> [RSVector] {
        let vectors = try Fixtures.json("rs-gf16.json")["vectors"] as! [[String: Any]]
        return vectors.map { v in
            let spec = v["data"] as! [String: Any]
            return RSVector(
                originalCount: v["original_count"] as! Int, recoveryCount: v["recovery_count"] as! Int,
                shardBytes: v["shard_bytes"] as! Int, rate: v["rate"] as! String,
                data: Fixtures.data(seed: spec["seed"] as! String, length: spec["len"] as! Int),
                recoveryHashes: v["recovery_blake2b256"] as! [String])
        }
    }
}

struct BlobIDVector: Sendable, CustomStringConvertible {
    let n: UInt16
    let blob: [UInt8]
    let symbolSize: Int
    let blobID: String
    let rootHash: String
    let pairs: [(primary: String, secondary: String)]
    let note: String
    var description: String { "n=\(n) len=\(blob.count) \(note)" }

    static func all() throws -> [BlobIDVector] {
        let vectors = try Fixtures.json("redstuff-blob-ids.json")["vectors"] as! [[String: Any]]
        return vectors.map { v in
            let pairs = (v["pairs"] as? [[String: Any]] ?? []).map {
                (primary: $0["primary"] as! String, secondary: $0["secondary"] as! String)
            }
            return BlobIDVector(
                n: UInt16(v["n"] as! Int), blob: Fixtures.blob(v["data"] as! [String: Any]),
                symbolSize: v["symbol_size"] as! Int, blobID: v["blob_id"] as! String,
                rootHash: v["root_hash"] as! String, pairs: pairs, note: v["note"] as? String ?? "")
        }
    }
}
