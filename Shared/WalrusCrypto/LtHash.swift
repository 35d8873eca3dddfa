import CBlake2b
import WalrusCore

/// A homomorphic hash of a set of byte strings (LtHash, Bellare–Micciancio's lattice hash with 1,024
/// lanes of 16 bits, as in Lewi et al. 2019): each element expands to 2,048 bytes (64 BLAKE2b-256
/// digests, `expand`), and the set's
/// hash is their lane-wise sum modulo 2^16. Adding or removing one element costs the same whatever
/// the set's size, and the order of additions does not matter, so the ledger keeps a hash of its
/// whole state up to date block by block, and a node that downloads the state in any order checks
/// it against the same value.
public struct LtHash: Hashable, Sendable {
    public static let laneCount = 1024
    public static let byteCount = 2 * laneCount

    public private(set) var lanes: [UInt16]

    /// The hash of the empty set.
    public init() { lanes = [UInt16](repeating: 0, count: LtHash.laneCount) }

    /// From its 2,048-byte form (little-endian lanes); nil for another length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == LtHash.byteCount else { return nil }
        lanes = (0..<LtHash.laneCount).map { UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8 }
    }

    /// The 2,048-byte form.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: LtHash.byteCount)
        for (i, lane) in lanes.enumerated() {
            out[2 * i] = UInt8(truncatingIfNeeded: lane)
            out[2 * i + 1] = UInt8(truncatingIfNeeded: lane >> 8)
        }
        return out
    }

    /// BLAKE2b-256 of the 2,048-byte form: what a block header commits to.
    public var digest: [UInt8] { Blake2b256.hash(bytes) }

    public mutating func add(_ element: [UInt8]) { combine(element, subtract: false) }

    public mutating func remove(_ element: [UInt8]) { combine(element, subtract: true) }

    private mutating func combine(_ element: [UInt8], subtract: Bool) {
        let expanded = LtHash.expand(element)
        lanes.withUnsafeMutableBufferPointer { lanes in
            expanded.withUnsafeBufferPointer { other in
                if subtract {
                    for i in 0..<LtHash.laneCount { lanes[i] &-= other[i] }
                } else {
                    for i in 0..<LtHash.laneCount { lanes[i] &+= other[i] }
                }
            }
        }
    }

    /// The 1,024 lanes of one element: 64 digests of BLAKE2b-256, each over the prefix byte 0x4C,
    /// BLAKE2b-256 of the element, and the digest's index (one byte), hashed as one SIMD batch.
    static func expand(_ element: [UInt8]) -> [UInt16] {
        let seed = Blake2b256.hash(element)
        var messages = [UInt8](repeating: 0, count: 64 * 33)
        for i in 0..<64 {
            messages.replaceSubrange(i * 33..<(i * 33 + 32), with: seed)
            messages[i * 33 + 32] = UInt8(i)
        }
        var lanes = [UInt16](repeating: 0, count: laneCount)
        lanes.withUnsafeMutableBytes { out in
            messages.withUnsafeBufferPointer { input in
                walrus_blake2b256_prefixed_batch(out.baseAddress!.assumingMemoryBound(to: UInt8.self), 32, 0x4C, input.baseAddress, 33, 33, 64)
            }
        }
        #if _endian(big)
        for i in 0..<laneCount { lanes[i] = UInt16(littleEndian: lanes[i]) }
        #endif
        return lanes
    }
}
