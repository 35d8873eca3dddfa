// walrus-bench: measures the hot paths in a release build and prints a table (stderr-free result
// on stdout) or JSON. Usage:
//   walrus-bench [--json] [--quick] [--only rs|hash|encode|decode|verify] [--rs-level 0…3]
//   walrus-bench encode-once SIZE_MIB [--metadata-only]   (one encode, then peak RSS: for memory)
//   walrus-bench storage [--blobs 100] [--blob-mib 1] [--concurrency 8]   (1 validator, 5 storage nodes)
//   walrus-bench sliver-io [--count 200] [--size 2900000] [--threads 4]   (a node's disk path, in process)
//   walrus-bench chain [--transactions N] [--senders K] [--rate PER_SECOND] [--json]   (4 validators on loopback)
//   walrus-bench http-server [--port 25556]   (HTTPKit with a fixed answer, for wrk or ab; runs until killed)
import CBlake2b
import CReedSolomon
import Foundation
import RedStuff
import WalrusCore
import WalrusCrypto

struct Measurement: Encodable {
    let name: String
    let bytes: Int
    let seconds: Double
    var mibPerSecond: Double { seconds > 0 ? Double(bytes) / 1_048_576 / seconds : 0 }
    enum CodingKeys: String, CodingKey { case name, bytes, seconds, mibPerSecond }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(bytes, forKey: .bytes)
        try c.encode((seconds * 1e6).rounded() / 1e6, forKey: .seconds)
        try c.encode((mibPerSecond * 10).rounded() / 10, forKey: .mibPerSecond)
    }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// The median of `runs` timings of `body` (after one warm-up run).
func median(runs: Int, _ body: () -> Void) -> Double {
    body()
    var times: [Double] = []
    for _ in 0..<runs {
        let start = now()
        body()
        times.append(now() - start)
    }
    times.sort()
    return times[times.count / 2]
}

func peakRSSBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024
}

func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var rng = SeededGenerator(seed: seed)
    return rng.bytes(count)
}

/// Reed-Solomon encode and decode throughput (bytes of original data per second) for one code.
func benchReedSolomon(k: Int, m: Int, shardBytes: Int, runs: Int) -> [Measurement] {
    let originals = RawBytes(count: k * shardBytes, seed: 1)
    let recovery = RawBytes(count: m * shardBytes, seed: 0)
    let work = RawBytes(count: walrus_rs_encode_work_count(k, m) * shardBytes, seed: 0)
    let inputs = (0..<k).map { UnsafePointer<UInt8>?(originals.pointer + $0 * shardBytes) }
    let outputs = (0..<m).map { Optional(recovery.pointer + $0 * shardBytes) }
    let encodeSeconds = median(runs: runs) {
        _ = walrus_rs_encode(k, m, shardBytes, inputs, outputs, work.pointer)
    }
    // Decode with as many originals lost as the recovery shards allow.
    let lost = min(k, m)
    var originalInputs = inputs
    for i in 0..<lost { originalInputs[i] = nil }
    let recoveryInputs = (0..<m).map { UnsafePointer<UInt8>?(recovery.pointer + $0 * shardBytes) }
    let restored = RawBytes(count: k * shardBytes, seed: 0)
    let restoredOutputs = (0..<k).map { Optional(restored.pointer + $0 * shardBytes) }
    let decodeWork = RawBytes(count: walrus_rs_decode_work_count(k, m) * shardBytes, seed: 0)
    let decodeSeconds = median(runs: runs) {
        _ = walrus_rs_decode(k, m, shardBytes, originalInputs, recoveryInputs, restoredOutputs, decodeWork.pointer)
    }
    let label = "rs \(k)->\(k + m) \(shardBytes / 1024)KiB"
    return [
        Measurement(name: "\(label) encode", bytes: k * shardBytes, seconds: encodeSeconds),
        Measurement(name: "\(label) decode (\(lost) originals lost)", bytes: k * shardBytes, seconds: decodeSeconds),
    ]
}

final class RawBytes {
    let pointer: UnsafeMutablePointer<UInt8>
    init(count: Int, seed: UInt64) {
        pointer = .allocate(capacity: count)
        var rng = SeededGenerator(seed: seed)
        var i = 0
        while i < count {
            var word = rng.next()
            for _ in 0..<8 where i < count {
                pointer[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
    }
    deinit { pointer.deallocate() }
}

func sizeLabel(_ bytes: Int) -> String {
    bytes >= 1 << 20 ? "\(bytes >> 20)MiB" : "\(bytes >> 10)KiB"
}

func benchEncode(sizes: [Int], config: EncodingConfig) -> [Measurement] {
    var out: [Measurement] = []
    for size in sizes {
        let blob = randomBytes(size, seed: UInt64(size))
        let runs = size >= 64 << 20 ? 3 : 5
        let metadataSeconds = median(runs: runs) { _ = try! BlobEncoder(config: config).computeMetadata(blob) }
        let encodeSeconds = median(runs: runs) { _ = try! BlobEncoder(config: config).encode(blob) }
        out.append(Measurement(name: "blob-id n=1000 \(sizeLabel(size))", bytes: size, seconds: metadataSeconds))
        out.append(Measurement(name: "encode+metadata n=1000 \(sizeLabel(size))", bytes: size, seconds: encodeSeconds))
    }
    // The devnet's shape: 100 shards, so 59 KB symbols at 128 MiB (coded in column tiles).
    let devnet = try! EncodingConfig(shardCount: 100)
    let size = sizes.last! >= 64 << 20 ? 128 << 20 : 16 << 20
    let blob = randomBytes(size, seed: 79)
    let seconds = median(runs: 3) { _ = try! BlobEncoder(config: devnet).encode(blob) }
    out.append(Measurement(name: "encode+metadata n=100 \(sizeLabel(size))", bytes: size, seconds: seconds))
    return out
}

func benchDecode(sizes: [Int], config: EncodingConfig) -> [Measurement] {
    var out: [Measurement] = []
    for size in sizes {
        let blob = randomBytes(size, seed: UInt64(size) + 1)
        let encoded = try! BlobEncoder(config: config).encode(blob)
        let decoder = try! BlobDecoder(config: config, metadata: encoded.metadata)
        // The worst case for the reader: no systematic sliver, every row rebuilt.
        let slivers = (config.n - config.primarySourceSymbols..<config.n).map { encoded.primarySliver(SliverIndex(UInt16($0))) }
        let systematic = (0..<config.primarySourceSymbols).map { encoded.primarySliver(SliverIndex(UInt16($0))) }
        for check in ConsistencyCheck.allCases {
            let seconds = median(runs: 3) { _ = try! decoder.decode(slivers, check: check) }
            out.append(Measurement(name: "decode \(check) n=1000 \(sizeLabel(size)) (repair slivers)", bytes: size, seconds: seconds))
        }
        let seconds = median(runs: 3) { _ = try! decoder.decode(systematic, check: .default) }
        out.append(Measurement(name: "decode default n=1000 \(sizeLabel(size)) (systematic slivers)", bytes: size, seconds: seconds))
    }
    return out
}

/// Leaf hashing (BLAKE2b-256 of 0x00 ‖ symbol over many symbols) and Merkle inner hashing, at each
/// kernel level this CPU has, interleaved run by run so that the levels see the same machine.
func benchHash(runs: Int) -> [Measurement] {
    let levels: [Int] = (0...2).filter { Int(walrus_blake2b_limit_kernel(Int32($0))) == $0 }
    defer { walrus_blake2b_force_portable(0) }
    var out: [Measurement] = []
    for symbolBytes in [64, 8192, 58_920] {
        let count = max(64, (32 << 20) / symbolBytes)
        let data = RawBytes(count: count * symbolBytes, seed: 5)
        let digests = UnsafeMutablePointer<UInt8>.allocate(capacity: 32 * count)
        defer { digests.deallocate() }
        var times = [Int: [Double]]()
        for _ in 0..<runs {
            for level in levels {
                _ = walrus_blake2b_limit_kernel(Int32(level))
                let start = now()
                walrus_blake2b256_prefixed_batch(digests, 32, 0, data.pointer, symbolBytes, symbolBytes, count)
                times[level, default: []].append(now() - start)
            }
        }
        for level in levels {
            let sorted = times[level]!.sorted()
            let name = ["portable", "avx2x4", "avx512x8"][level]
            out.append(Measurement(name: "blake2b leaves \(symbolBytes) B \(name)", bytes: count * symbolBytes, seconds: sorted[sorted.count / 2]))
        }
    }
    return out
}

func report(_ results: [Measurement], json: Bool, extra: [String: String]) {
    if json {
        struct Report: Encodable {
            let machine: [String: String]
            let results: [Measurement]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try! encoder.encode(Report(machine: extra, results: results)), as: UTF8.self))
        return
    }
    for (key, value) in extra.sorted(by: { $0.key < $1.key }) { print("\(key): \(value)") }
    let width = max(40, results.map(\.name.count).max() ?? 0)
    print("\("benchmark".padding(toLength: width, withPad: " ", startingAt: 0))  \("seconds".leftPad(10))  \("MiB/s".leftPad(10))")
    for r in results {
        print("\(r.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(String(format: "%.4f", r.seconds).leftPad(10))  \(String(format: "%.1f", r.mibPerSecond).leftPad(10))")
    }
}

extension String {
    func leftPad(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

func machine() -> [String: String] {
    let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }
        .map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) } ?? "unknown"
    return [
        "cpu": cpu, "cores": String(ProcessInfo.processInfo.activeProcessorCount),
        "rsKernel": String(cString: walrus_rs_kernel_name()), "blake2bKernel": String(cString: walrus_blake2b_kernel_name()),
    ]
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "storage" {
    func value(_ flag: String, _ fallback: Int) -> Int {
        arguments.firstIndex(of: flag).flatMap { arguments.indices.contains($0 + 1) ? Int(arguments[$0 + 1]) : nil } ?? fallback
    }
    await runStorageBench(blobs: value("--blobs", 100), blobMiB: value("--blob-mib", 1), concurrency: value("--concurrency", 8))
    exit(0)
}
if arguments.first == "sliver-io" {
    func value(_ flag: String, _ fallback: Int) -> Int {
        arguments.firstIndex(of: flag).flatMap { arguments.indices.contains($0 + 1) ? Int(arguments[$0 + 1]) : nil } ?? fallback
    }
    runSliverIOBench(count: value("--count", 200), size: value("--size", 2_900_000), threads: value("--threads", 4))
    exit(0)
}
if arguments.first == "chain" {
    func value(_ flag: String, _ fallback: Int) -> Int {
        arguments.firstIndex(of: flag).flatMap { arguments.indices.contains($0 + 1) ? Int(arguments[$0 + 1]) : nil } ?? fallback
    }
    await runChainBench(
        transactions: value("--transactions", 4000), senders: value("--senders", 16), rate: value("--rate", 0), json: arguments.contains("--json"))
    exit(0)
}
if arguments.first == "http-server" {
    let port = arguments.firstIndex(of: "--port").flatMap { arguments.indices.contains($0 + 1) ? Int(arguments[$0 + 1]) : nil } ?? 25556
    await runHTTPServerBench(port: port)
    exit(0)
}
let config = try! EncodingConfig(shardCount: 1000)
if arguments.first == "encode-once" {
    // One encode in a fresh process: peak RSS relative to the blob.
    let mib = Int(arguments.dropFirst().first ?? "256") ?? 256
    let metadataOnly = arguments.contains("--metadata-only")
    let size = mib << 20
    let matrix = try! MessageMatrix(config: config, length: UInt64(size)) { (target: UnsafeMutableRawBufferPointer) throws(RedStuffError) in
        var rng = SeededGenerator(seed: 9)
        let words = target.bindMemory(to: UInt64.self)
        for i in 0..<words.count { words[i] = rng.next() }
    }
    let start = now()
    let blobID: BlobID
    if metadataOnly {
        blobID = BlobEncoder(config: config).computeMetadata(matrix).blobID
    } else {
        blobID = BlobEncoder(config: config).encode(matrix).blobID
    }
    let seconds = now() - start
    let rss = peakRSSBytes()
    print(#"{"mode":"\#(metadataOnly ? "blob-id" : "encode")","blobMiB":\#(mib),"seconds":\#(String(format: "%.3f", seconds)),"peakRSSBytes":\#(rss),"peakRSSOverBlob":\#(String(format: "%.2f", Double(rss) / Double(size))),"blobId":"\#(blobID)"}"#)
    exit(0)
}

let json = arguments.contains("--json")
let quick = arguments.contains("--quick")
let only = arguments.firstIndex(of: "--only").flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
// The widest Reed-Solomon kernel the encode, decode and verify figures may use (0 portable, 1 AVX2,
// 2 AVX-512, 3 AVX-512 with GFNI), for side-by-side runs.
let rsLevel = arguments.firstIndex(of: "--rs-level").flatMap { arguments.indices.contains($0 + 1) ? Int32(arguments[$0 + 1]) : nil } ?? 3
var results: [Measurement] = []
if only == nil || only == "rs" {
    // The widest kernel first, then the narrower ones this CPU has, for the side-by-side figures.
    let levels: [Int32] = [3, 2, 1].filter { walrus_rs_limit_kernel($0) == $0 }
    for level in levels {
        _ = walrus_rs_limit_kernel(level)
        let kernel = String(cString: walrus_rs_kernel_name())
        for (k, m) in [(334, 666), (667, 333)] {
            for shard in [2048, 8192] {
                results += benchReedSolomon(k: k, m: m, shardBytes: shard, runs: quick ? 3 : 9).map {
                    level == levels.first ? $0 : Measurement(name: "\($0.name) [\(kernel)]", bytes: $0.bytes, seconds: $0.seconds)
                }
            }
        }
    }
}
_ = walrus_rs_limit_kernel(rsLevel)
if only == nil || only == "hash" {
    results += benchHash(runs: quick ? 3 : 7)
}
if only == nil || only == "lthash" {
    // The ledger's state hash: one entry in and one out per written key of a block (an account of
    // about 60 bytes with its key). Bytes are the elements' bytes; the element rate is the figure.
    let elements = (0..<20_000).map { randomBytes(100, seed: UInt64($0)) }
    var hash = LtHash()
    let seconds = median(runs: quick ? 3 : 7) {
        for element in elements { hash.add(element) }
        for element in elements { hash.remove(element) }
    }
    precondition(hash == LtHash(), "adding and removing every element gives the empty hash")
    results.append(Measurement(name: "lthash add+remove 100 B (40,000 updates)", bytes: 40_000 * 100, seconds: seconds))
}
if only == nil || only == "encode" {
    results += benchEncode(sizes: quick ? [1 << 10, 1 << 20] : [1 << 10, 1 << 20, 64 << 20, 256 << 20], config: config)
}
if only == nil || only == "decode" {
    results += benchDecode(sizes: quick ? [1 << 20] : [1 << 20, 64 << 20], config: config)
    // The devnet's shape (100 shards: 59 KB symbols at 128 MiB): what a reader spends verifying
    // the 34 systematic primary slivers (expansion and Merkle root of each).
    let devnet = try! EncodingConfig(shardCount: 100)
    let size = quick ? 16 << 20 : 128 << 20
    let encoded = try! BlobEncoder(config: devnet).encode(randomBytes(size, seed: 77))
    let decoder = try! BlobDecoder(config: devnet, metadata: encoded.metadata)
    let systematic = (0..<devnet.primarySourceSymbols).map { encoded.primarySliver(SliverIndex(UInt16($0))) }
    let seconds = median(runs: 3) { _ = try! decoder.decode(systematic, check: .default) }
    results.append(Measurement(name: "decode default n=100 \(sizeLabel(size)) (systematic slivers)", bytes: size, seconds: seconds))
}
if only == nil || only == "verify" {
    // What the storage nodes of the devnet's shape spend, together, verifying an upload: every
    // primary and secondary sliver of a blob checked in its wire form against the metadata, one
    // after the other on one core.
    let devnet = try! EncodingConfig(shardCount: 100)
    let size = quick ? 16 << 20 : 128 << 20
    let encoded = try! BlobEncoder(config: devnet).encode(randomBytes(size, seed: 78))
    let wires = (0..<devnet.n).flatMap { i in
        [(SliverAxis.primary, encoded.primarySliver(SliverIndex(UInt16(i))).bcsBytes()), (.secondary, encoded.secondarySliver(SliverIndex(UInt16(i))).bcsBytes())]
    }
    let metadata = encoded.metadata.metadata
    let seconds = median(runs: 3) {
        for (axis, wire) in wires {
            _ = wire.withUnsafeBytes { raw in try! SliverData.verifyWire(raw, axis: axis, against: metadata, config: devnet) }
        }
    }
    results.append(Measurement(name: "verify all slivers n=100 \(sizeLabel(size)) (one core)", bytes: wires.reduce(0) { $0 + $1.1.count }, seconds: seconds))
}
var info = machine()
info["peakRSSBytes"] = String(peakRSSBytes())
report(results, json: json, extra: info)
