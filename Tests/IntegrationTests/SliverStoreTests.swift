import ChainClient
import Foundation
import Synchronization
import KVStore
import Logging
@testable import StorageNode
import Testing
import WalrusCore

/// The storage node's sliver store on RocksDB: the index that answers "is it stored?" follows every
/// write and delete, and a store written before the index existed gets one when it is opened.
@Suite struct SliverStoreTests {
    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-sliverstore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func theIndexFollowsWritesAndDeletes() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let blob = BlobID(unchecked: Array(repeating: 7, count: 32))
        let store = try SliverStore(directory: dir.path)
        #expect(!store.hasSliver(.primary, shard: ShardIndex(2), blobID: blob))
        try store.putSliver(.primary, shard: ShardIndex(2), blobID: blob, bytes: Array(repeating: 1, count: 100_000))
        #expect(store.hasSliver(.primary, shard: ShardIndex(2), blobID: blob))
        #expect(!store.hasSliver(.secondary, shard: ShardIndex(2), blobID: blob))
        #expect(!store.hasSliver(.primary, shard: ShardIndex(3), blobID: blob))
        #expect(store.sliver(.primary, shard: ShardIndex(2), blobID: blob)?.count == 100_000)
        #expect(try store.deleteBlobData(blob, shardCount: 10))
        #expect(!store.hasSliver(.primary, shard: ShardIndex(2), blobID: blob))
        #expect(store.sliver(.primary, shard: ShardIndex(2), blobID: blob) == nil)
        store.close()
    }

    @Test func aStoreWithoutTheIndexGetsOneOnOpen() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let blob = BlobID(unchecked: Array(repeating: 9, count: 32))
        // Slivers written the way earlier versions did: no index entries, no marker.
        do {
            let old = try RocksDBStore(path: dir.path, columnFamilies: [SliverStore.primary, SliverStore.secondary, SliverStore.meta])
            try old.put(SliverStore.primary, SliverStore.sliverKey(ShardIndex(4), blob), [1, 2, 3], durability: .durable)
            try old.put(SliverStore.secondary, SliverStore.sliverKey(ShardIndex(5), blob), [4, 5], durability: .durable)
            old.close()
        }
        let store = try SliverStore(directory: dir.path)
        #expect(store.hasSliver(.primary, shard: ShardIndex(4), blobID: blob))
        #expect(store.hasSliver(.secondary, shard: ShardIndex(5), blobID: blob))
        #expect(!store.hasSliver(.secondary, shard: ShardIndex(4), blobID: blob))
        store.close()
        // Reopening does not rebuild (the marker is set) and keeps the entries.
        let again = try SliverStore(directory: dir.path)
        #expect(again.hasSliver(.primary, shard: ShardIndex(4), blobID: blob))
        again.close()
    }

    static func bytes(_ count: Int, _ fill: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) ^ fill } }

    @Test(arguments: [true, false])
    func largeSliversLiveInFilesAcrossReopen(directIO: Bool) throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let blob = BlobID(unchecked: Array(repeating: 3, count: 32))
        let large = Self.bytes(300_000, 1), small = Self.bytes(1_000, 2)
        do {
            let store = try SliverStore(directory: dir.path, directIO: directIO)
            try store.putSliver(.primary, shard: ShardIndex(7), blobID: blob, bytes: large)
            try store.putSliver(.secondary, shard: ShardIndex(7), blobID: blob, bytes: small)
            store.close()
        }
        let file = dir.appendingPathComponent("slivers/" + SliverStore.fileName(.primary, ShardIndex(7), blob)).path
        #expect(FileManager.default.fileExists(atPath: file))
        #expect(SliverStore.fileName(.primary, ShardIndex(7), blob) == "primary/0007/\(blob)")
        let store = try SliverStore(directory: dir.path, directIO: directIO)
        #expect(store.sliver(.primary, shard: ShardIndex(7), blobID: blob) == large)
        #expect(store.sliver(.secondary, shard: ShardIndex(7), blobID: blob) == small)
        // Shard hand-over reads both kinds in blob-ID order.
        let other = BlobID(unchecked: Array(repeating: 4, count: 32))
        try store.putSliver(.primary, shard: ShardIndex(7), blobID: other, bytes: Self.bytes(70_000, 5))
        try store.putSliver(.primary, shard: ShardIndex(8), blobID: other, bytes: Self.bytes(70_000, 6))
        let listed = store.slivers(.primary, shard: ShardIndex(7), from: BlobID(unchecked: Array(repeating: 0, count: 32)), limit: 10)
        #expect(listed.map(\.0) == [blob, other])
        #expect(listed.map(\.1) == [large, Self.bytes(70_000, 5)])
        // Deleting the blob removes its file.
        #expect(try store.deleteBlobData(blob, shardCount: 10))
        #expect(!FileManager.default.fileExists(atPath: file))
        #expect(store.sliver(.primary, shard: ShardIndex(7), blobID: blob) == nil)
        #expect(store.sliver(.primary, shard: ShardIndex(7), blobID: other) != nil)
        store.close()
    }

    @Test func aDamagedSliverFileIsAnErrorNotData() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let blob = BlobID(unchecked: Array(repeating: 5, count: 32))
        let logged = CapturedLog()
        let store = try SliverStore(directory: dir.path, logger: Logger(label: "test") { _ in logged })
        let reported = Mutex<[BlobID]>([])
        store.onDamage { id in reported.withLock { $0.append(id) } }
        try store.putSliver(.secondary, shard: ShardIndex(1), blobID: blob, bytes: Self.bytes(100_000, 9))
        let path = dir.appendingPathComponent("slivers/" + SliverStore.fileName(.secondary, ShardIndex(1), blob)).path
        var damaged = try #require(FileManager.default.contents(atPath: path))
        damaged[77_777] ^= 1
        try damaged.write(to: URL(fileURLWithPath: path))
        #expect(throws: KVError.self) { _ = try store.storedSliver(.secondary, shard: ShardIndex(1), blobID: blob) }
        #expect(store.sliver(.secondary, shard: ShardIndex(1), blobID: blob) == nil)
        #expect(logged.lines.contains { $0.contains("STORE_CORRUPTED") && $0.contains("\(blob)") })
        // Dropped, so that it counts as missing, and reported for recovery.
        #expect(reported.withLock { $0 } == [blob])
        #expect(!store.hasSliver(.secondary, shard: ShardIndex(1), blobID: blob))
        #expect(!FileManager.default.fileExists(atPath: path))
        // Writing it again (recovery does) repairs it.
        try store.putSliver(.secondary, shard: ShardIndex(1), blobID: blob, bytes: Self.bytes(100_000, 9))
        #expect(store.sliver(.secondary, shard: ShardIndex(1), blobID: blob) == Self.bytes(100_000, 9))
        store.close()
    }

    @Test func filesWithoutAnIndexEntryAreRemovedOnOpen() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let kept = BlobID(unchecked: Array(repeating: 1, count: 32)), orphan = BlobID(unchecked: Array(repeating: 2, count: 32))
        do {
            let store = try SliverStore(directory: dir.path)
            try store.putSliver(.primary, shard: ShardIndex(0), blobID: kept, bytes: Self.bytes(80_000, 1))
            store.close()
        }
        // A crash between a file's write and its index entry's commit leaves a file like this one.
        let orphanPath = dir.appendingPathComponent("slivers/" + SliverStore.fileName(.primary, ShardIndex(0), orphan)).path
        #expect(FileManager.default.createFile(atPath: orphanPath, contents: Data(Self.bytes(80_000, 2))))
        // A file whose entry this version cannot read (a later format, say) is not an orphan.
        let unknown = BlobID(unchecked: Array(repeating: 3, count: 32))
        let unknownPath = dir.appendingPathComponent("slivers/" + SliverStore.fileName(.primary, ShardIndex(0), unknown)).path
        #expect(FileManager.default.createFile(atPath: unknownPath, contents: Data(Self.bytes(80_000, 3))))
        do {
            let kv = try RocksDBStore(path: dir.path, columnFamilies: [SliverStore.sliverIndex])
            try kv.put(SliverStore.sliverIndex, SliverStore.indexKey(.primary, SliverStore.sliverKey(ShardIndex(0), unknown)), [9, 9, 9], durability: .durable)
            kv.close()
        }
        let store = try SliverStore(directory: dir.path)
        #expect(!FileManager.default.fileExists(atPath: orphanPath))
        #expect(FileManager.default.fileExists(atPath: unknownPath))
        #expect(!store.hasSliver(.primary, shard: ShardIndex(0), blobID: orphan))
        #expect(store.sliver(.primary, shard: ShardIndex(0), blobID: kept) == Self.bytes(80_000, 1))
        store.close()
    }

    @Test func aSliverMovesBetweenInlineAndFileWhenTheThresholdChanges() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let blob = BlobID(unchecked: Array(repeating: 6, count: 32))
        let value = Self.bytes(10_000, 3)
        do {
            let store = try SliverStore(directory: dir.path)
            try store.putSliver(.primary, shard: ShardIndex(2), blobID: blob, bytes: value)
            store.close()
        }
        do {
            let store = try SliverStore(directory: dir.path, fileThreshold: 4096)
            #expect(store.sliver(.primary, shard: ShardIndex(2), blobID: blob) == value)
            try store.putSliver(.primary, shard: ShardIndex(2), blobID: blob, bytes: value)
            #expect(try store.kv.get(SliverStore.primary, SliverStore.sliverKey(ShardIndex(2), blob)) == nil)
            #expect(store.sliver(.primary, shard: ShardIndex(2), blobID: blob) == value)
            store.close()
        }
        let store = try SliverStore(directory: dir.path)
        try store.putSliver(.primary, shard: ShardIndex(2), blobID: blob, bytes: value)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("slivers/" + SliverStore.fileName(.primary, ShardIndex(2), blob)).path))
        #expect(store.sliver(.primary, shard: ShardIndex(2), blobID: blob) == value)
        store.close()
    }

    /// Recoveries to do are kept with the events that caused them and survive a reopen until done.
    @Test func pendingRecoveriesSurviveAReopenUntilDone() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = BlobID(unchecked: Array(repeating: 1, count: 32)), b = BlobID(unchecked: Array(repeating: 2, count: 32))
        do {
            let store = try SliverStore(directory: dir.path)
            try store.apply([a: BlobInfo()], cursor: EventCursor(height: 5, index: 1), recover: [a])
            try store.markRecovery(b)
            store.close()
        }
        let store = try SliverStore(directory: dir.path)
        defer { store.close() }
        #expect(Set(store.pendingRecoveries()) == [a, b])
        #expect(store.cursor() == EventCursor(height: 5, index: 1))
        try store.recoveryDone(a)
        #expect(store.pendingRecoveries() == [b])
    }

    /// A full disk refuses the write that does not fit, with `.full` and a message that says so;
    /// nothing of it remains (no index entry, no half-written file); what was acknowledged before
    /// reads back; once there is space again the same write succeeds.
    @Test(.enabled(if: TinyFilesystem.available, "mounting a tmpfs needs root"))
    func aFullDiskRefusesTheWriteAndKeepsWhatWasStored() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let disk = try TinyFilesystem(at: dir.path + "/slivers", bytes: 1 << 20)
        defer { disk.unmount() }
        let store = try SliverStore(directory: dir.path)
        defer { store.close() }
        let blob = BlobID(unchecked: Array(repeating: 3, count: 32))
        var stored: [UInt16: [UInt8]] = [:]
        var refused: (UInt16, KVError)?
        for shard in UInt16(0)..<8 {
            let bytes = Self.bytes(300_000, UInt8(shard))
            do {
                try store.putSliver(.primary, shard: ShardIndex(shard), blobID: blob, bytes: bytes)
                stored[shard] = bytes
            } catch {
                refused = (shard, error)
                break
            }
        }
        guard let (shard, error) = refused else { Issue.record("1 MiB took 8 slivers of 300 kB"); return }
        #expect(error.code == .full)
        #expect(error.message.contains("the disk is full"))
        #expect(stored.count >= 2)
        #expect(!store.hasSliver(.primary, shard: ShardIndex(shard), blobID: blob))
        #expect(store.sliver(.primary, shard: ShardIndex(shard), blobID: blob) == nil)
        #expect(disk.files().count == stored.count, "only the stored slivers' files: \(disk.files())")
        for (s, bytes) in stored { #expect(store.sliver(.primary, shard: ShardIndex(s), blobID: blob) == bytes) }

        try disk.resize(bytes: 8 << 20)
        let retry = Self.bytes(300_000, UInt8(shard))
        try store.putSliver(.primary, shard: ShardIndex(shard), blobID: blob, bytes: retry)
        #expect(store.sliver(.primary, shard: ShardIndex(shard), blobID: blob) == retry)
    }

    /// With a reserve, writes stop while the disk still has that much free: the refusal is `.full`
    /// (a 429 INSUFFICIENT_STORAGE to clients) and names the reserve; nothing of the refused sliver is left, and what
    /// was stored before reads back.
    @Test(.enabled(if: TinyFilesystem.available, "mounting a tmpfs needs root"))
    func writesStopAtTheReserve() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let disk = try TinyFilesystem(at: dir.path + "/slivers", bytes: 4 << 20)
        defer { disk.unmount() }
        let reserve: UInt64 = 2 << 20
        let store = try SliverStore(directory: dir.path, reserveBytes: reserve)
        defer { store.close() }
        func free() -> UInt64 {
            var info = statvfs()
            statvfs(disk.path, &info)
            return UInt64(info.f_bavail) * UInt64(info.f_frsize)
        }
        let blob = BlobID(unchecked: Array(repeating: 4, count: 32))
        var stored = 0
        var refusal: KVError?
        for shard in UInt16(0)..<16 {
            do {
                try store.putSliver(.primary, shard: ShardIndex(shard), blobID: blob, bytes: Self.bytes(300_000, UInt8(shard)))
                stored += 1
            } catch {
                refusal = error
                #expect(!store.hasSliver(.primary, shard: ShardIndex(shard), blobID: blob))
                break
            }
        }
        #expect(refusal?.code == .full)
        #expect(refusal?.message.contains("kept in reserve") == true, "\(String(describing: refusal))")
        #expect(stored >= 4 && disk.files().count == stored, "\(stored) stored, files \(disk.files())")
        #expect(free() >= reserve, "the reserve was not written into")
        // What was stored before reads back.
        for shard in UInt16(0)..<UInt16(stored) {
            #expect(store.sliver(.primary, shard: ShardIndex(shard), blobID: blob) == Self.bytes(300_000, UInt8(shard)))
        }
    }

    /// Writes in progress count against the reserve: while one write has claimed most of the free
    /// space (and not written it yet), a second that would fit alone is refused; once the first is
    /// done and its claim released, the space it did not use is there again.
    @Test(.enabled(if: TinyFilesystem.available, "mounting a tmpfs needs root"))
    func concurrentWritesCannotOverrunTheReserve() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let disk = try TinyFilesystem(at: dir.path + "/slivers", bytes: 4 << 20)
        defer { disk.unmount() }
        let store = try SliverStore(directory: dir.path, reserveBytes: 1 << 20)
        defer { store.close() }
        // About 3 MiB free above the reserve: a claim of 2 MiB leaves room for 1 MiB, not 1.5 MiB.
        let inner: Result<Void, KVError> = try store.withSpace(2 << 20, on: disk.path) { () throws(KVError) in
            Result { () throws(KVError) in try store.withSpace(3 << 19, on: disk.path) { () throws(KVError) in } }
        }
        guard case .failure(let refusal) = inner else { Issue.record("a second claim overran the reserve"); return }
        #expect(refusal.code == .full && refusal.message.contains("being written"))
        // With the first claim released, the same write fits.
        try store.withSpace(3 << 19, on: disk.path) { () throws(KVError) in }
    }

    /// RocksDB on a full disk: the failing write reports `.full`, and every later write is refused
    /// without reaching RocksDB (whose log writer would abort the process); every write acknowledged
    /// before is there after the store is reopened with space again.
    @Test(.enabled(if: TinyFilesystem.available, "mounting a tmpfs needs root"))
    func rocksDBOnAFullDiskKeepsWhatItAcknowledged() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let disk = try TinyFilesystem(at: dir.path + "/db", bytes: 2 << 20)
        defer { disk.unmount() }
        var acknowledged = 0
        var failure: KVError?
        do {
            let db = try RocksDBStore(path: disk.path, columnFamilies: [.default])
            for i in 0..<400 {
                do {
                    try db.put(.default, Array("key-\(i)".utf8), Self.bytes(20_000, UInt8(i % 251)), durability: .durable)
                    acknowledged = i + 1
                } catch {
                    failure = error
                    break
                }
            }
            let later = #expect(throws: KVError.self) { try db.put(.default, Array("after".utf8), [1], durability: .durable) }
            #expect(later?.message.contains("takes no more writes") == true)
            db.close()
        } catch {
            failure = error
        }
        #expect(failure?.code == .full, "\(String(describing: failure))")
        #expect(acknowledged > 0)
        try disk.resize(bytes: 32 << 20)
        let db = try RocksDBStore(path: disk.path, columnFamilies: [.default])
        defer { db.close() }
        for i in 0..<acknowledged {
            #expect(try db.get(.default, Array("key-\(i)".utf8)) == Self.bytes(20_000, UInt8(i % 251)), "key-\(i)")
        }
    }
}

/// A log handler that keeps each record's message and metadata as one line, for tests that check
/// what was logged.
final class CapturedLog: LogHandler, @unchecked Sendable {
    private let storage = Mutex<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    var lines: [String] { storage.withLock { $0 } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        storage.withLock { $0.append("\(event.level) \(event.message) \(fields)") }
    }
}
