import CFileIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a caller keeps about a file object (in its own index) to read it back and check it.
public struct FileObjectRecord: Sendable, Equatable {
    /// Where the object's bytes start in its file (direct IO may put padding before them).
    public let offset: Int
    /// The object's length in bytes (its file may be longer: direct IO pads it to whole blocks).
    public let length: Int
    /// CRC-32C of the object's bytes.
    public let crc32c: UInt32

    public init(offset: Int = 0, length: Int, crc32c: UInt32) {
        self.offset = offset
        self.length = length
        self.crc32c = crc32c
    }
}

/// Large values kept as one file each under a directory, written once with direct IO: the bytes go
/// from the caller's memory to the disk without a copy, not even into the page cache (the file
/// starts with as many bytes of padding as the caller's buffer is past a block boundary, so that
/// every whole block of the file lies on a block boundary of the caller's memory; only the first
/// and the last, partial, blocks are copied, into small buffers), are checksummed with
/// CRC-32C in hardware, and are durable (data, file and directory entry synced) when `write`
/// returns. This is the data path that RocksDB's write-ahead log, memtable and blob files made
/// three copies and two software checksums of; the caller keeps the index (name → record) in
/// its key-value store, and commits it after `write`, so that an index entry always names a
/// complete file. A file without an index entry (a crash between the two) is an orphan the
/// caller removes (`forEachName`).
///
/// Names are relative paths of `/`-separated components (no `.`, `..` or empty ones). Writing a
/// name again replaces its file atomically (written aside, then renamed), so a concurrent reader
/// sees the old object or the new one, never a mix. Where the file system has no direct IO (tmpfs)
/// writes fall back to buffered IO followed by `fdatasync`; the guarantees are the same.
public final class FileObjects: @unchecked Sendable {
    public let directory: String
    /// The alignment direct IO needs of offsets, lengths and memory (the largest logical block size
    /// in common use).
    static let block = 4096
    /// Suffix of files being written; a crash leaves them behind, and `removeTemporaries` clears them.
    static let temporarySuffix = ".partial"

    private let lock = ReadWriteLock()
    private var directIO: Bool
    private var knownDirectories: Set<String> = []
    private var serial: UInt64 = 0

    /// Opens (creating if needed) the directory; `directIO: false` forces buffered writes.
    public init(directory: String, directIO: Bool = true) throws(KVError) {
        self.directory = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        self.directIO = directIO && walrus_o_direct_flag() != 0
        try makeDirectories(self.directory)
        try removeTemporaries()
    }

    /// Whether writes currently go through direct IO (false after the file system refused it).
    public var usesDirectIO: Bool { lock.withReadLock { directIO } }

    // MARK: Writing

    /// Writes `bytes` as the object `name`, durably, replacing any earlier object of that name.
    /// `crc32c`, when the caller has it already, must be the CRC-32C of `bytes`: reads check the
    /// object against it.
    public func write(_ name: String, _ bytes: UnsafeRawBufferPointer, crc32c: UInt32? = nil) throws(KVError) -> FileObjectRecord {
        let path = try self.path(name)
        let parent = String(path[..<path.lastIndex(of: "/")!])
        try makeDirectories(parent)
        let crc = crc32c ?? (bytes.isEmpty ? 0 : walrus_crc32c(0, bytes.baseAddress, bytes.count))
        let temporary = path + "." + String(nextSerial()) + Self.temporarySuffix
        var offset = 0
        do throws(KVError) {
            if lock.withReadLock({ directIO }) {
                switch try writeDirect(temporary, bytes) {
                case .written(let at): offset = at
                case .refused:
                    // The file system takes no direct IO (or not with this alignment): buffered from now on.
                    lock.withWriteLock { directIO = false }
                    try writeBuffered(temporary, bytes)
                }
            } else {
                try writeBuffered(temporary, bytes)
            }
            guard rename(temporary, path) == 0 else { throw Self.ioError("cannot rename \(temporary) to \(path)") }
            try syncDirectory(parent)
        } catch {
            unlink(temporary)
            throw error
        }
        return FileObjectRecord(offset: offset, length: bytes.count, crc32c: crc)
    }

    private enum DirectOutcome {
        /// Written, the object's bytes starting at this offset of the file.
        case written(Int)
        case refused
    }

    private func writeDirect(_ path: String, _ bytes: UnsafeRawBufferPointer) throws(KVError) -> DirectOutcome {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | walrus_o_direct_flag(), 0o644)
        if fd < 0 {
            if errno == EINVAL { return .refused }
            throw Self.ioError("cannot create \(path)")
        }
        defer { close(fd) }
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            try sync(fd, path)
            return .written(0)
        }
        let block = Self.block
        // The file's block b holds the caller's bytes from address (base - skip) + b * block on.
        let skip = Int(bitPattern: base) % block
        let end = skip + bytes.count
        let blocks = (end + block - 1) / block
        // The first and the last block, unless whole and aligned, go through small aligned buffers.
        var edges: UnsafeMutableRawPointer?
        guard posix_memalign(&edges, block, 2 * block) == 0, let edges else { throw KVError(.io, "out of memory for direct IO") }
        defer { free(edges) }
        var segments: [(UnsafeRawPointer, Int)] = []
        let firstWhole = skip == 0 && end >= block
        if !firstWhole {
            let count = min(block - skip, bytes.count)
            edges.initializeMemory(as: UInt8.self, repeating: 0, count: block)
            (edges + skip).copyMemory(from: base, byteCount: count)
            segments.append((UnsafeRawPointer(edges), block))
        }
        let middleStart = firstWhole ? 0 : 1
        let middleEnd = blocks > middleStart && end % block == 0 ? blocks : blocks - 1
        if middleEnd > middleStart {
            segments.append((base - skip + middleStart * block, (middleEnd - middleStart) * block))
        }
        if middleEnd < blocks && blocks - 1 >= middleStart {
            let tail = edges + block
            let from = (blocks - 1) * block - skip
            tail.initializeMemory(as: UInt8.self, repeating: 0, count: block)
            tail.copyMemory(from: base + from, byteCount: bytes.count - from)
            segments.append((UnsafeRawPointer(tail), block))
        }
        var position = 0
        for (pointer, count) in segments {
            var done = 0
            while done < count {
                let n = pwrite(fd, pointer + done, count - done, off_t(position + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EINVAL && position + done == 0 {
                        unlink(path)
                        return .refused
                    }
                    throw Self.ioError("cannot write \(path)")
                }
                done += n
            }
            position += count
        }
        try sync(fd, path)
        return .written(skip)
    }

    private func writeBuffered(_ path: String, _ bytes: UnsafeRawBufferPointer) throws(KVError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.ioError("cannot create \(path)") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.ioError("cannot write \(path)")
            }
            done += n
        }
        try sync(fd, path)
    }

    /// Makes the file's data and size durable (direct IO bypasses the page cache, not the disk's
    /// own cache, nor the file's metadata).
    private func sync(_ fd: Int32, _ path: String) throws(KVError) {
        guard fdatasync(fd) == 0 else { throw Self.ioError("cannot sync \(path)") }
    }

    // MARK: Reading and removing

    /// The object `name`, checked against `record`; nil when there is no such file.
    public func read(_ name: String, _ record: FileObjectRecord) throws(KVError) -> [UInt8]? {
        let path = try self.path(name)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw Self.ioError("cannot open \(path)")
        }
        defer { close(fd) }
        var failure: KVError?
        let bytes = [UInt8](unsafeUninitializedCapacity: record.length) { buffer, count in
            var done = 0
            while done < record.length {
                let n = pread(fd, buffer.baseAddress! + done, record.length - done, off_t(record.offset + done))
                if n < 0 && errno == EINTR { continue }
                if n < 0 { failure = Self.ioError("cannot read \(path)"); break }
                if n == 0 { failure = KVError(.corrupted, "\(path) holds \(done) bytes, its index says \(record.length); restore or re-sync the store"); break }
                done += n
            }
            count = failure == nil ? record.length : 0
        }
        if let failure { throw failure }
        let crc = bytes.isEmpty ? 0 : bytes.withUnsafeBytes { walrus_crc32c(0, $0.baseAddress, $0.count) }
        guard crc == record.crc32c else {
            throw KVError(.corrupted, "\(path) fails its checksum (CRC-32C \(crc), expected \(record.crc32c)); restore or re-sync the store")
        }
        return bytes
    }

    /// Removes the object `name`; a missing one is no error.
    public func remove(_ name: String) throws(KVError) {
        let path = try self.path(name)
        guard unlink(path) == 0 || errno == ENOENT else { throw Self.ioError("cannot remove \(path)") }
    }

    /// Calls `body` with the name of every object (not files still being written), in no order.
    public func forEachName(_ body: (String) throws(KVError) -> Void) throws(KVError) {
        try walk("") { (name: String) throws(KVError) in
            if !name.hasSuffix(Self.temporarySuffix) { try body(name) }
        }
    }

    /// Removes what a crash left half written.
    func removeTemporaries() throws(KVError) {
        try walk("") { (name: String) throws(KVError) in
            if name.hasSuffix(Self.temporarySuffix) { unlink(directory + "/" + name) }
        }
    }

    private func walk(_ relative: String, _ body: (String) throws(KVError) -> Void) throws(KVError) {
        let path = relative.isEmpty ? directory : directory + "/" + relative
        guard let dir = opendir(path) else {
            if errno == ENOENT { return }
            throw Self.ioError("cannot list \(path)")
        }
        var entries: [(String, Bool)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." { continue }
            let child = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard lstat(directory + "/" + child, &info) == 0 else { continue }
            entries.append((child, (info.st_mode & S_IFMT) == S_IFDIR))
        }
        closedir(dir)
        for (child, isDirectory) in entries {
            if isDirectory { try walk(child, body) } else { try body(child) }
        }
    }

    // MARK: Helpers

    private func path(_ name: String) throws(KVError) -> String {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }), !name.hasSuffix(Self.temporarySuffix) else {
            throw KVError(.io, "'\(name)' is not a file object name")
        }
        return directory + "/" + name
    }

    private func nextSerial() -> UInt64 {
        lock.withWriteLock {
            serial += 1
            return serial
        }
    }

    /// Creates `path` and its missing parents, each synced into its own parent.
    private func makeDirectories(_ path: String) throws(KVError) {
        if lock.withReadLock({ knownDirectories.contains(path) }) { return }
        var isDirectory = stat()
        if stat(path, &isDirectory) != 0 {
            if let slash = path.lastIndex(of: "/"), slash != path.startIndex { try makeDirectories(String(path[..<slash])) }
            if mkdir(path, 0o755) != 0 && errno != EEXIST { throw Self.ioError("cannot create directory \(path)") }
            if let slash = path.lastIndex(of: "/"), slash != path.startIndex { try syncDirectory(String(path[..<slash])) }
        }
        lock.withWriteLock { _ = knownDirectories.insert(path) }
    }

    private func syncDirectory(_ path: String) throws(KVError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.ioError("cannot open directory \(path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Self.ioError("cannot sync directory \(path)") }
    }

    static func ioError(_ what: String) -> KVError {
        let code = errno
        if code == ENOSPC || code == EDQUOT { return KVError(.full, "\(what): the disk is full; free space or add capacity") }
        return KVError(.io, "\(what): \(String(cString: strerror(code)))")
    }
}
