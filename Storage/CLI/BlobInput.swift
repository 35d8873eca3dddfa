import Foundation
import RedStuff
import WalrusClient
#if canImport(Glibc)
import Glibc
#endif

/// Reads a blob from a file or standard input straight into a message matrix.
enum BlobInput {
    static func read(_ path: String, config: EncodingConfig) throws -> MessageMatrix {
        if path == "-" { return try readStandardInput(config: config) }
        let (fd, length) = try open(path)
        defer { close(fd) }
        return try read(fd: fd, length: length, path: path, config: config)
    }

    /// Reads the `length` bytes of the open file `fd` into a matrix.
    static func read(fd: Int32, length: UInt64, path: String, config: EncodingConfig) throws -> MessageMatrix {
        try checkSize(length, path: path, config: config)
        do {
            return try MessageMatrix(config: config, length: length) { (target: UnsafeMutableRawBufferPointer) throws(CLIError) in
                try readFully(fd, into: target, path: path)
            }
        } catch { throw CLIError(error) }
    }

    static func checkSize(_ length: UInt64, path: String, config: EncodingConfig) throws(CLIError) {
        guard length <= config.maxBlobSize else {
            throw CLIError(
                code: "BLOB_TOO_LARGE",
                "'\(path)' has \(length) bytes; the largest blob for \(config.n) shards is \(config.maxBlobSize) bytes",
                exit: .usage)
        }
    }

    /// Opens a regular file for reading: its descriptor (the caller closes it) and length.
    static func open(_ path: String) throws(CLIError) -> (Int32, UInt64) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CLIError(code: "FILE_NOT_FOUND", "cannot read '\(path)': \(String(cString: strerror(errno)))", exit: .usage)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw CLIError.usage("'\(path)' is not a regular file")
        }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CLIError(code: "FILE_UNREADABLE", "cannot open '\(path)': \(String(cString: strerror(errno)))", exit: .usage)
        }
        return (fd, UInt64(info.st_size))
    }

    /// `readFully` for the SDK's store, whose reader throws its errors.
    static func readForStore(_ fd: Int32, into target: UnsafeMutableRawBufferPointer, path: String) throws {
        do { try readFully(fd, into: target, path: path) } catch { throw ClientError(.invalidArgument, error.message) }
    }

    static func readFully(_ fd: Int32, into target: UnsafeMutableRawBufferPointer, path: String) throws(CLIError) {
        var done = 0
        while done < target.count {
            let n = Glibc.read(fd, target.baseAddress! + done, min(target.count - done, 1 << 24))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw CLIError(code: "FILE_UNREADABLE", "'\(path)' shrank or could not be read while reading it", exit: .usage)
            }
            done += n
        }
    }

    private static func readStandardInput(config: EncodingConfig) throws -> MessageMatrix {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw CLIError(code: "FILE_UNREADABLE", "cannot read standard input", exit: .usage) }
            if n == 0 { break }
            bytes += chunk[0..<n]
            guard UInt64(bytes.count) <= config.maxBlobSize else {
                throw CLIError(
                    code: "BLOB_TOO_LARGE", "standard input exceeds the largest blob for \(config.n) shards (\(config.maxBlobSize) bytes)",
                    exit: .usage)
            }
        }
        do { return try MessageMatrix(config: config, blob: bytes) } catch { throw CLIError(error) }
    }
}

/// A file mapped into a message matrix instead of read into fresh memory (most of what a large
/// store allocates otherwise; on a VM whose host takes freed memory back, first touches of fresh
/// memory are the largest cost of a store). While the matrix lives, the file is what the encoder
/// and the uploads read, so:
/// - a file truncated meanwhile would raise SIGBUS: the guard turns that into this command's error
///   (exit 2, `FILE_CHANGED`) instead of a crash;
/// - a file changed meanwhile is caught by comparing its size and times before and after; the
///   nodes verify every sliver, so a changed file can never be stored inconsistently, but the
///   store fails, and says why.
struct MappedFile {
    let path: String
    let fd: Int32
    let length: UInt64
    private let before: FileState

    /// Files from this size on are mapped; smaller ones are read (the mapping saves nothing there).
    static let mappingBytesMin: UInt64 = 1 << 20

    /// The file behind an open descriptor, as `stat` saw it when it was opened.
    init?(path: String, fd: Int32, length: UInt64) {
        guard length >= MappedFile.mappingBytesMin, let state = FileState(fd), state.size == length else { return nil }
        self.path = path
        self.fd = fd
        self.length = length
        before = state
    }

    /// The matrix over the file for `config`, or one the file is read into where it cannot be mapped.
    /// `doing` names what the command does with the file, for the messages ("stored", "read").
    func matrix(config: EncodingConfig, json: Bool, doing: String) throws -> MessageMatrix {
        SigbusGuard.arm(
            CLIError(code: "FILE_CHANGED", "'\(path)' was truncated while it was being \(doing); try again once it no longer changes", exit: .usage),
            json: json)
        try BlobInput.checkSize(length, path: path, config: config)
        let matrix: MessageMatrix
        do {
            let bytes = try MessageMatrix.byteCount(config: config, length: length)
            guard let mapping = FileMapping(fd, length: Int(length), count: bytes) else {
                return try BlobInput.read(fd: fd, length: length, path: path, config: config)
            }
            matrix = try MessageMatrix(config: config, length: length, memory: mapping.memory, owner: mapping)
        } catch let error as RedStuffError {
            throw CLIError(error)
        }
        try checkUnchanged(during: "read")
        return matrix
    }

    /// Fails when the file's size or modification times differ from when it was opened.
    func checkUnchanged(during what: String) throws(CLIError) {
        guard FileState(fd) == before else {
            throw CLIError(code: "FILE_CHANGED", "'\(path)' changed while it was being \(what); try again once it no longer changes", exit: .usage)
        }
    }
}

/// `count` bytes whose first `length` are the file's first `length` bytes and the rest zero,
/// without copying the file: its whole pages are mapped read-only from the page cache (private and
/// read-only, so populating the mapping copies nothing), and only its last partial page is read
/// into anonymous memory. The mapping shows the file as it is: bytes the file changes meanwhile
/// change here too, and reading a page the file no longer has raises SIGBUS (`SigbusGuard`).
final class FileMapping {
    let memory: UnsafeRawBufferPointer
    private let reserved: Int

    /// Nil when the file cannot be mapped (its file system does not support it, or it shrank).
    init?(_ fd: Int32, length: Int, count: Int) {
        precondition(length >= 0 && length <= count, "the file fits the memory")
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        reserved = max(page, (count + page - 1) / page * page)
        let whole = length / page * page
        guard let base = mmap(nil, reserved, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), base != MAP_FAILED else { return nil }
        guard whole == 0 || mmap(base, whole, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd, 0) == base,
            FileMapping.readFully(fd, into: base + whole, count: length - whole, at: whole)
        else {
            munmap(base, reserved)
            return nil
        }
        memory = UnsafeRawBufferPointer(start: base, count: count)
    }

    private static func readFully(_ fd: Int32, into target: UnsafeMutableRawPointer, count: Int, at offset: Int) -> Bool {
        var done = 0
        while done < count {
            let n = pread(fd, target + done, count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: memory.baseAddress), reserved) }
}

/// What `fstat` says of a file's contents: size and the times of its last change.
struct FileState: Equatable {
    let size: UInt64
    let modified: timespec
    let changed: timespec

    init?(_ fd: Int32) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        size = UInt64(info.st_size)
        modified = info.st_mtim
        changed = info.st_ctim
    }

    static func == (a: FileState, b: FileState) -> Bool {
        a.size == b.size && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
            && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
    }
}

/// Turns SIGBUS (a mapped file was truncated under the process) into the command's error: the
/// handler writes a message prepared beforehand and exits with its code; nothing else is safe in a
/// signal handler.
enum SigbusGuard {
    nonisolated(unsafe) private static var report: (fd: Int32, bytes: UnsafeMutableBufferPointer<UInt8>, exit: Int32)?

    static func arm(_ error: CLIError, json: Bool) {
        let (fd, text) = Output.failureReport(error, json: json)
        let bytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: text.utf8.count)
        _ = bytes.initialize(from: text.utf8)
        if let old = report { old.bytes.deallocate() }
        report = (fd, bytes, error.exit.rawValue)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            if let report = SigbusGuard.report { _ = write(report.fd, report.bytes.baseAddress, report.bytes.count) }
            _exit(SigbusGuard.report?.exit ?? 2)
        }
        sigemptyset(&action.sa_mask)
        sigaction(SIGBUS, &action, nil)
    }
}
