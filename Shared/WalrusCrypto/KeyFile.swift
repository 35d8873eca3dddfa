import WalrusCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Key files: one secret key as `bip340-secp256k1:<64 hex digits>` on one line, written with mode
/// 0600 and refused on load when group or others can read or write them (like ssh).
public enum KeyFile {
    static let scheme = "bip340-secp256k1:"

    /// Writes `key` to a new file at `path` with mode 0600, flushed to disk. Refuses to overwrite an
    /// existing file: losing a key loses the stake or funds behind it.
    public static func write(_ key: Schnorr.PrivateKey, to path: String) throws(CryptoError) {
        try writeSecret(scheme + Hex.encode(key.secretBytes), to: path)
    }

    /// Writes one secret line to a new file at `path`, mode 0600, flushed; never overwrites.
    static func writeSecret(_ text: String, to path: String) throws(CryptoError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            if errno == EEXIST {
                throw CryptoError(.keyFileExists, "key file \(path) already exists; move it away or choose another path")
            }
            throw CryptoError(.keyFileUnreadable, "cannot create key file \(path): \(reason)")
        }
        defer { close(fd) }
        let line = Array((text + "\n").utf8)
        let written = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw CryptoError(.keyFileUnreadable, "cannot write key file \(path): \(reason)")
        }
    }

    /// Loads the key at `path`. Fails when the file is readable or writable by group or others,
    /// with the `chmod` that fixes it.
    public static func load(from path: String) throws(CryptoError) -> Schnorr.PrivateKey {
        let trimmed = try loadSecret(from: path)
        guard trimmed.hasPrefix(scheme) else {
            throw CryptoError(.invalidKey, "key file \(path) does not start with '\(scheme)'")
        }
        let hex = String(trimmed.dropFirst(scheme.count))
        let secret: [UInt8]
        do { secret = try Hex.decode(hex) } catch {
            throw CryptoError(.invalidKey, "key file \(path): \(error.message)")
        }
        return try Schnorr.PrivateKey(secretBytes: secret)
    }

    /// The text of the secret file at `path`, trailing whitespace removed, after the same checks
    /// of its mode as `load`.
    static func loadSecret(from path: String) throws(CryptoError) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CryptoError(.keyFileUnreadable, "cannot read key file \(path): \(String(cString: strerror(errno)))")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw CryptoError(
                .keyFileInsecure,
                "key file \(path) has mode \(String(mode, radix: 8)) and others can access it; run `chmod 600 \(path)`")
        }
        return try readSmallFile(path).trimmingSuffix(while: { $0 == "\n" || $0 == "\r" || $0 == " " })
    }

    private static func readSmallFile(_ path: String) throws(CryptoError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CryptoError(.keyFileUnreadable, "cannot open key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 8192)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else {
            throw CryptoError(.keyFileUnreadable, "cannot read key file \(path): \(String(cString: strerror(errno)))")
        }
        guard count < buffer.count else { throw CryptoError(.invalidKey, "key file \(path) is too large to be a key") }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var copy = self
        while let last = copy.last, predicate(last) { copy.removeLast() }
        return copy
    }
}
