import Foundation
import KVStore
import Testing

enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory, rocksdb
    var testDescription: String { rawValue }
}

let blobs = ColumnFamily("blobs")
let slivers = ColumnFamily("slivers")

/// A store of either kind in a fresh temporary directory, removed when released.
final class StoreFixture {
    let directory: URL
    let kind: StoreKind
    private(set) var store: any KVStore

    init(_ kind: StoreKind) throws {
        self.kind = kind
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-kv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try StoreFixture.open(kind, directory)
    }

    static func open(_ kind: StoreKind, _ directory: URL) throws -> any KVStore {
        switch kind {
        case .memory: MemoryStore(columnFamilies: [blobs, slivers])
        case .rocksdb: try RocksDBStore(path: directory.appendingPathComponent("db").path, columnFamilies: [blobs, slivers])
        }
    }

    /// Closes and reopens a RocksDB store on the same files.
    func reopen() throws {
        store.close()
        store = try StoreFixture.open(kind, directory)
    }

    deinit {
        store.close()
        try? FileManager.default.removeItem(at: directory)
    }
}

private func key(_ s: String) -> [UInt8] { Array(s.utf8) }

/// The one suite both implementations must pass.
@Suite struct KVStoreSuite {
    @Test(arguments: StoreKind.allCases)
    func putGetOverwriteDelete(kind: StoreKind) throws {
        let fixture = try StoreFixture(kind)
        let store = fixture.store
        #expect(try store.get(blobs, key("a")) == nil)
        try store.put(blobs, key("a"), [1])
        try store.put(blobs, key("a"), [2, 3])
        #expect(try store.get(blobs, key("a")) == [2, 3])
        try store.put(blobs, key("empty"), [])
        #expect(try store.get(blobs, key("empty")) == [])
        try store.delete(blobs, key("a"))
        #expect(try store.get(blobs, key("a")) == nil)
        try store.delete(blobs, key("never-there"))
    }

    @Test(arguments: StoreKind.allCases)
    func columnFamiliesAreSeparate(kind: StoreKind) throws {
        let fixture = try StoreFixture(kind)
        let store = fixture.store
        try store.put(blobs, key("k"), [1])
        try store.put(slivers, key("k"), [2])
        #expect(try store.get(blobs, key("k")) == [1])
        #expect(try store.get(slivers, key("k")) == [2])
        #expect(try store.get(.default, key("k")) == nil)
        #expect(store.columnFamilies == [blobs, slivers, .default])
        #expect { try store.put(ColumnFamily("nope"), key("k"), [1]) } throws: { ($0 as! KVError).code == .unknownColumnFamily }
    }

    @Test(arguments: StoreKind.allCases)
    func batchesApplyAllOrNothing(kind: StoreKind) throws {
        let fixture = try StoreFixture(kind)
        let store = fixture.store
        try store.put(blobs, key("old"), [0])
        var batch = WriteBatch()
        batch.put(blobs, key: key("x"), value: [1])
        batch.put(slivers, key: key("y"), value: [2])
        batch.delete(blobs, key: key("old"))
        try store.write(batch, durability: .durable)
        #expect(try store.get(blobs, key("x")) == [1])
        #expect(try store.get(slivers, key("y")) == [2])
        #expect(try store.get(blobs, key("old")) == nil)

        // A batch with one bad operation changes nothing.
        var bad = WriteBatch()
        bad.put(blobs, key: key("z"), value: [9])
        bad.delete(blobs, key: key("x"))
        bad.put(ColumnFamily("missing"), key: key("w"), value: [9])
        #expect(throws: KVError.self) { try store.write(bad) }
        #expect(try store.get(blobs, key("z")) == nil)
        #expect(try store.get(blobs, key("x")) == [1])
    }

    @Test(arguments: StoreKind.allCases)
    func iterationIsOrderedAndBounded(kind: StoreKind) throws {
        let fixture = try StoreFixture(kind)
        let store = fixture.store
        let keys: [[UInt8]] = [[0x00], [0x01, 0x00], [0x01, 0x01], [0x01, 0xff], [0x02], [0xff, 0xff], [0x01]]
        for (i, k) in keys.enumerated() { try store.put(blobs, k, [UInt8(i)]) }
        let all = try store.entries(blobs).map(\.key)
        #expect(all == keys.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(try store.entries(blobs, in: .prefix([0x01])).map(\.key) == [[0x01], [0x01, 0x00], [0x01, 0x01], [0x01, 0xff]])
        #expect(try store.entries(blobs, in: .prefix([0xff])).map(\.key) == [[0xff, 0xff]])
        let range = KeyRange(lower: [0x01, 0x00], upper: [0x02])
        #expect(try store.entries(blobs, in: range).map(\.key) == [[0x01, 0x00], [0x01, 0x01], [0x01, 0xff]])
        #expect(try store.entries(blobs, in: range, reverse: true).map(\.key) == [[0x01, 0xff], [0x01, 0x01], [0x01, 0x00]])
        #expect(try store.entries(blobs, in: .all, limit: 2).map(\.key) == [[0x00], [0x01]])
        #expect(try store.entries(blobs, in: .all, limit: 1, reverse: true).map(\.key) == [[0xff, 0xff]])
        #expect(try store.entries(slivers).isEmpty)
        var visited = 0
        try store.forEach(blobs, in: .all, reverse: false) { _ in
            visited += 1
            return visited < 3
        }
        #expect(visited == 3)
    }

    @Test(arguments: StoreKind.allCases)
    func aClosedStoreRefusesWork(kind: StoreKind) throws {
        let fixture = try StoreFixture(kind)
        fixture.store.close()
        fixture.store.close()
        #expect { try fixture.store.get(blobs, key("a")) } throws: { ($0 as! KVError).code == .closed }
        #expect { try fixture.store.put(blobs, key("a"), [1]) } throws: { ($0 as! KVError).code == .closed }
    }

    @Test func rocksDBKeepsWritesAcrossReopen() throws {
        let fixture = try StoreFixture(.rocksdb)
        try fixture.store.put(blobs, key("durable"), [1], durability: .durable)
        try fixture.store.put(blobs, key("buffered"), [2])
        var batch = WriteBatch()
        for i in 0..<1000 { batch.put(slivers, key: Array("s\(i)".utf8), value: [UInt8](repeating: UInt8(i % 256), count: 100)) }
        try fixture.store.write(batch, durability: .durable)
        try fixture.reopen()
        #expect(try fixture.store.get(blobs, key("durable")) == [1])
        #expect(try fixture.store.get(blobs, key("buffered")) == [2])
        #expect(try fixture.store.entries(slivers).count == 1000)
        // RocksDB estimates a family's entries in constant time (for metrics), roughly.
        let estimate = try #require(fixture.store.estimatedEntryCount(slivers))
        #expect(estimate >= 500 && estimate <= 2000, "\(estimate)")
        // Families created earlier are opened again even when not requested.
        let path = fixture.directory.appendingPathComponent("db").path
        fixture.store.close()
        let reopened = try RocksDBStore(path: path, columnFamilies: [])
        defer { reopened.close() }
        #expect(reopened.columnFamilies.contains(slivers))
        #expect(try reopened.get(blobs, key("durable")) == [1])
    }

    @Test func rocksDBRefusesASecondOpener() throws {
        let fixture = try StoreFixture(.rocksdb)
        let path = fixture.directory.appendingPathComponent("db").path
        #expect {
            _ = try RocksDBStore(path: path, columnFamilies: [blobs])
        } throws: { error in
            let error = error as! KVError
            return error.code == .locked && error.message.contains("in use by another process")
        }
        // The first handle still works.
        try fixture.store.put(blobs, key("still"), [1])
        #expect(try fixture.store.get(blobs, key("still")) == [1])
    }

    @Test func rocksDBReportsCorruption() throws {
        let fixture = try StoreFixture(.rocksdb)
        try fixture.store.put(blobs, key("k"), [1], durability: .durable)
        fixture.store.close()
        let db = fixture.directory.appendingPathComponent("db")
        let manifests = try FileManager.default.contentsOfDirectory(atPath: db.path).filter { $0.hasPrefix("MANIFEST-") }
        #expect(!manifests.isEmpty)
        for manifest in manifests {
            try Data(repeating: 0xa5, count: 4096).write(to: db.appendingPathComponent(manifest))
        }
        #expect {
            _ = try RocksDBStore(path: db.path, columnFamilies: [blobs])
        } throws: { error in
            let error = error as! KVError
            return error.code == .corrupted && error.message.contains("damaged")
        }
    }
}

/// Another process holding the store's lock (as a running node would) makes opening fail with
/// `locked`, and opening works again once that process is gone. The holder takes the same POSIX
/// record lock on the LOCK file that RocksDB takes.
@Suite struct CrossProcessLockTests {
    @Test func aStoreHeldByAnotherProcessIsRefused() throws {
        let fixture = try StoreFixture(.rocksdb)
        fixture.store.close()
        let path = fixture.directory.appendingPathComponent("db").path
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(20)",
            path + "/LOCK",
        ]
        let output = Pipe()
        holder.standardOutput = output
        try holder.run()
        // SIGKILL: the child may inherit a mask that blocks SIGTERM from the test runner.
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }
        let line = output.fileHandleForReading.availableDataOrWait()
        #expect(line.contains("locked"))
        #expect {
            _ = try RocksDBStore(path: path, columnFamilies: [blobs])
        } throws: { error in
            let error = error as! KVError
            return error.code == .locked && error.message.contains("stop that process")
        }
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let reopened = try RocksDBStore(path: path, columnFamilies: [blobs])
        reopened.close()
    }
}

extension FileHandle {
    /// The first output of a child process (waits up to ten seconds for it).
    fileprivate func availableDataOrWait() -> String {
        let deadline = Date().addingTimeInterval(10)
        var text = ""
        while !text.contains("\n"), Date() < deadline {
            text += String(decoding: availableData, as: UTF8.self)
        }
        return text
    }
}

/// Families of large values (kept in RocksDB's blob files) behave like any other family.
@Suite struct LargeValueFamilyTests {
    @Test func largeAndSmallValuesRoundTripAcrossReopen() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-kv-large-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let large = ColumnFamily("large", largeValues: true)
        #expect(large == ColumnFamily("large") && large.hashValue == ColumnFamily("large").hashValue)
        let path = directory.appendingPathComponent("db").path
        var values: [[UInt8]: [UInt8]] = [:]
        do {
            let store = try RocksDBStore(path: path, columnFamilies: [large, blobs])
            defer { store.close() }
            for i in 0..<40 {
                let size = i % 4 == 0 ? 10 : 300_000 + i  // Below and above the blob-file threshold.
                let value = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
                let key = Array("sliver-\(i)".utf8)
                try store.put(large, key, value, durability: .durable)
                values[key] = value
            }
            try store.delete(large, Array("sliver-1".utf8), durability: .durable)
            values[Array("sliver-1".utf8)] = nil
        }
        let reopened = try RocksDBStore(path: path, columnFamilies: [large, blobs])
        defer { reopened.close() }
        for (key, value) in values { #expect(try reopened.get(large, key) == value) }
        #expect(try reopened.get(large, Array("sliver-1".utf8)) == nil)
        #expect(try reopened.entries(large).count == values.count)
        // The large values went to blob files (written when the recovered memtable was flushed).
        let files = try FileManager.default.contentsOfDirectory(atPath: path)
        #expect(files.contains { $0.hasSuffix(".blob") }, "files: \(files.sorted())")
    }
}
