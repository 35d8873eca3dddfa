import CFileIO
import Foundation
import KVStore
import Testing
import WalrusCore

/// The file object store under large slivers: what is written reads back byte for byte, through
/// direct IO and through the buffered fallback; damage is reported, not returned; a crash's
/// half-written files disappear on the next open.
@Suite struct FileObjectsTests {
    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-fileobjects-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    @Test func crc32cMatchesTheStandardCheckValueAndTheTable() {
        let check = Array("123456789".utf8)
        #expect(walrus_crc32c(0, check, check.count) == 0xE306_9283)
        #expect(walrus_crc32c_portable(0, check, check.count) == 0xE306_9283)
        // Lengths around the three-stream block (24 KiB), odd starts, and a CRC continued in parts.
        let data = Self.bytes(200_000, seed: 3)
        for (start, length) in [(0, 0), (1, 7), (3, 24_575), (0, 24_576), (5, 24_577), (7, 73_729), (0, 200_000)] {
            let hardware = data.withUnsafeBytes { walrus_crc32c(0, $0.baseAddress! + start, length) }
            let table = data.withUnsafeBytes { walrus_crc32c_portable(0, $0.baseAddress! + start, length) }
            #expect(hardware == table, "length \(length) from \(start)")
        }
        let whole = walrus_crc32c(0, data, data.count)
        let parts = data.withUnsafeBytes { walrus_crc32c(walrus_crc32c(0, $0.baseAddress!, 100_003), $0.baseAddress! + 100_003, 99_997) }
        #expect(whole == parts)
    }

    @Test(arguments: [true, false])
    func objectsRoundTripAndReplace(directIO: Bool) throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = try FileObjects(directory: dir, directIO: directIO)
        if !directIO { #expect(!files.usesDirectIO) }
        var records: [String: ([UInt8], FileObjectRecord)] = [:]
        for (i, size) in [0, 1, 4095, 4096, 4097, 1_000_003].enumerated() {
            let value = Self.bytes(size, seed: UInt64(i))
            let name = "a/\(i)/object-\(size)"
            let record = try value.withUnsafeBytes { try files.write(name, $0) }
            #expect(record.length == size)
            records[name] = (value, record)
        }
        for (name, (value, record)) in records { #expect(try files.read(name, record) == value) }
        // A second write replaces the first.
        let replacement = Self.bytes(10_000, seed: 99)
        let replaced = try replacement.withUnsafeBytes { try files.write("a/1/object-1", $0) }
        #expect(try files.read("a/1/object-1", replaced) == replacement)
        var names: [String] = []
        try files.forEachName { names.append($0) }
        #expect(Set(names) == Set(records.keys))
        try files.remove("a/1/object-1")
        try files.remove("a/1/object-1")
        #expect(try files.read("a/1/object-1", replaced) == nil)
    }

    /// Direct IO writes the caller's memory in place, block by block, so the object's position
    /// within a block of memory decides the file's layout: every position and length around the
    /// block edges reads back.
    @Test func everyAlignmentOfTheCallersBufferRoundTrips() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = try FileObjects(directory: dir)
        let source = Self.bytes(3 * 4096 + 200_000, seed: 11)
        let memory = UnsafeMutableRawPointer.allocate(byteCount: source.count, alignment: 4096)
        defer { memory.deallocate() }
        source.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        for skip in [0, 1, 32, 2048, 4095] {
            for length in [1, 4095 - skip, 4096 - skip, 4097 - skip, 4096, 8192, 8193, 100_000] where length > 0 {
                let name = "align/\(skip)-\(length)"
                let record = try files.write(name, UnsafeRawBufferPointer(start: memory + skip, count: length))
                if files.usesDirectIO { #expect(record.offset == skip) }
                #expect(try files.read(name, record) == Array(source[skip..<skip + length]), "skip \(skip), length \(length)")
            }
        }
    }

    @Test func damageIsReportedNotReturned() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = try FileObjects(directory: dir)
        let value = Self.bytes(100_000, seed: 5)
        let record = try value.withUnsafeBytes { try files.write("x/y", $0) }
        // One flipped bit.
        let handle = try #require(FileHandle(forUpdatingAtPath: dir + "/x/y"))
        try handle.seek(toOffset: UInt64(record.offset + 51_234))
        let byte = try #require(try handle.read(upToCount: 1))
        try handle.seek(toOffset: UInt64(record.offset + 51_234))
        try handle.write(contentsOf: [byte[0] ^ 0x10])
        try handle.close()
        #expect(throws: KVError.self) { _ = try files.read("x/y", record) }
        do { _ = try files.read("x/y", record) } catch { #expect(error.code == .corrupted) }
        // Cut short.
        #expect(truncate(dir + "/x/y", 4096) == 0)
        do {
            _ = try files.read("x/y", record)
            Issue.record("a truncated object was returned")
        } catch { #expect(error.code == .corrupted) }
    }

    @Test func badNamesAreRefused() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = try FileObjects(directory: dir)
        for name in ["", "/abs", "a//b", "../escape", "a/./b", "a/b.partial"] {
            #expect(throws: KVError.self, "\(name)") { _ = try [UInt8(1)].withUnsafeBytes { try files.write(name, $0) } }
        }
    }

    @Test func halfWrittenFilesAreRemovedOnOpen() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let files = try FileObjects(directory: dir)
            _ = try [UInt8](repeating: 1, count: 10).withUnsafeBytes { try files.write("s/kept", $0) }
        }
        // What a crash during a write leaves behind.
        #expect(FileManager.default.createFile(atPath: dir + "/s/kept.7.partial", contents: Data([1, 2, 3])))
        let files = try FileObjects(directory: dir)
        #expect(!FileManager.default.fileExists(atPath: dir + "/s/kept.7.partial"))
        var names: [String] = []
        try files.forEachName { names.append($0) }
        #expect(names == ["s/kept"])
    }
}
