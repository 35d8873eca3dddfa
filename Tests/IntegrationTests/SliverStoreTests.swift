import Foundation
import KVStore
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
}
