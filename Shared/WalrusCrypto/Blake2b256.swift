import WalrusCore
import CBlake2b

/// BLAKE2b with a 32-byte output (RFC 7693 with digest length 32, not truncated BLAKE2b-512): the
/// hash of Walrus symbols, Merkle nodes and blob IDs, and of this chain's own structures.
public struct Blake2b256: Sendable {
    /// Digest size in bytes.
    public static let digestBytes = 32

    private var state = walrus_blake2b_state()

    /// Starts an unkeyed hash.
    public init() {
        let rc = walrus_blake2b_init(&state, 32, nil, 0)
        precondition(rc == 0, "BLAKE2b-256 parameters are valid")
    }

    /// Absorbs bytes.
    public mutating func update<Bytes: ContiguousBytes>(_ bytes: Bytes) {
        bytes.withUnsafeBytes { raw in walrus_blake2b_update(&state, raw.baseAddress, raw.count) }
    }

    /// The digest. The hasher must not be used afterwards.
    public consuming func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { walrus_blake2b_final(&state, $0.baseAddress) }
        return out
    }

    /// One-shot digest of `bytes`.
    public static func hash<Bytes: ContiguousBytes>(_ bytes: Bytes) -> [UInt8] {
        var hasher = Blake2b256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The name of the batch-hashing kernel this CPU uses ("portable", "avx2", ...).
    public static var kernelName: String { String(cString: walrus_blake2b_kernel_name()) }
}

/// General BLAKE2b (any digest length 1...64, optional key up to 64 bytes), for test vectors and
/// the few places that need another length.
public enum Blake2b {
    /// BLAKE2b of `data` with a digest of `digestBytes` and an optional key.
    public static func hash(_ data: [UInt8], digestBytes: Int, key: [UInt8] = []) -> [UInt8] {
        precondition((1...64).contains(digestBytes) && key.count <= 64, "BLAKE2b lengths out of range")
        var out = [UInt8](repeating: 0, count: digestBytes)
        let rc = out.withUnsafeMutableBytes { o in
            key.withUnsafeBytes { k in
                data.withUnsafeBytes { d in
                    walrus_blake2b(o.baseAddress, digestBytes, k.baseAddress, key.count, d.baseAddress, data.count)
                }
            }
        }
        precondition(rc == 0, "BLAKE2b lengths were checked")
        return out
    }
}

/// ContiguousBytes without Foundation: arrays and slices of bytes.
public protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
extension UnsafeRawBufferPointer: ContiguousBytes {
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(self) }
}
