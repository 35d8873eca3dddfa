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
        guard length <= config.maxBlobSize else {
            throw CLIError(
                code: "BLOB_TOO_LARGE",
                "'\(path)' has \(length) bytes; the largest blob for \(config.n) shards is \(config.maxBlobSize) bytes",
                exit: .usage)
        }
        do {
            return try MessageMatrix(config: config, length: length) { (target: UnsafeMutableRawBufferPointer) throws(CLIError) in
                try readFully(fd, into: target, path: path)
            }
        } catch { throw CLIError(error) }
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
