import Foundation
import KVStore
import Synchronization
import WalrusCore

/// `walrus-bench sliver-io`: what a storage node's disk path costs per sliver, in process. Writes
/// `count` values of `size` bytes (a 128 MiB blob on 100 shards has slivers of 2-4 MB) from
/// `threads` threads, each durable before the next, then reads them all back:
/// - `FileObjects` with direct IO (the node's path for slivers of 64 KiB and more),
/// - `FileObjects` with buffered IO and `fdatasync` (its fallback where there is no direct IO),
/// - a RocksDB column family with blob files and a synced WAL (the node's path before).
/// Prints wall time and the process's CPU time (user + system) for each.
func runSliverIOBench(count: Int, size: Int, threads: Int) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-sliverio-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    var generator = SeededGenerator(seed: 7)
    let values = (0..<threads).map { _ in (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) } }
    func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
    func measure(_ name: String, write: @Sendable (Int, [UInt8]) throws -> Void, read: @Sendable (Int) throws -> Int) {
        let failures = Mutex(0)
        let (w0, c0) = (now(), cpuSeconds())
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var i = t
            while i < count {
                do { try write(i, values[t]) } catch { failures.withLock { $0 += 1 } }
                i += threads
            }
        }
        let (w1, c1) = (now(), cpuSeconds())
        let readBytes = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var i = t
            while i < count {
                let n = (try? read(i)) ?? 0
                readBytes.withLock { $0 += n }
                i += threads
            }
        }
        let (w2, c2) = (now(), cpuSeconds())
        let mb = Double(count * size) / 1e6
        let ok = failures.withLock { $0 } == 0 && readBytes.withLock { $0 } == count * size
        let figures = String(format: "write %6.3f s %7.1f MB/s cpu %6.3f s | read %6.3f s %7.1f MB/s cpu %6.3f s",
            w1 - w0, mb / (w1 - w0), c1 - c0, w2 - w1, mb / (w2 - w1), c2 - c1)
        print(name.padding(toLength: 34, withPad: " ", startingAt: 0) + figures + (ok ? "" : "  (FAILED: not every value was written and read back)"))
    }
    print("\(count) values of \(size) bytes, \(threads) threads, in \(dir.path)")
    for direct in [true, false] {
        guard let files = try? FileObjects(directory: dir.appendingPathComponent(direct ? "direct" : "buffered").path, directIO: direct) else {
            print("cannot open a FileObjects directory under \(dir.path)")
            return
        }
        let records = Mutex([Int: FileObjectRecord]())
        measure(direct ? (files.usesDirectIO ? "FileObjects, direct IO" : "FileObjects (no direct IO here)") : "FileObjects, buffered + fdatasync", write: { i, value in
            let record = try value.withUnsafeBytes { try files.write("s/\(i % 100)/\(i)", $0) }
            records.withLock { $0[i] = record }
        }, read: { i in
            guard let record = records.withLock({ $0[i] }) else { return 0 }
            return try files.read("s/\(i % 100)/\(i)", record)?.count ?? 0
        })
    }
    let family = ColumnFamily("slivers", largeValues: true)
    guard let store = try? RocksDBStore(path: dir.appendingPathComponent("rocksdb").path, columnFamilies: [family]) else {
        print("cannot open RocksDB under \(dir.path)")
        return
    }
    measure("RocksDB blob files, synced WAL", write: { i, value in
        try store.put(family, withUnsafeBytes(of: UInt64(i).bigEndian) { Array($0) }, value, durability: .durable)
    }, read: { i in
        try store.get(family, withUnsafeBytes(of: UInt64(i).bigEndian) { Array($0) })?.count ?? 0
    })
    store.close()
}
