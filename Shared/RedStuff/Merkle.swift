public import WalrusCore
import CBlake2b

/// A node of Walrus's Merkle tree: a 32-byte digest, or the Empty node that pads an odd level
/// (32 zero bytes, not hashed).
public enum MerkleNode: Hashable, Sendable, BCSCodable, CustomStringConvertible {
    case empty
    case digest([UInt8])

    /// The node's 32 bytes as used in parent hashes.
    public var bytes: [UInt8] {
        switch self {
        case .empty: [UInt8](repeating: 0, count: 32)
        case .digest(let d): d
        }
    }

    public var description: String { self == .empty ? "empty" : Hex.encode(bytes) }

    public func encode(to writer: inout BCSWriter) {
        switch self {
        case .empty: writer.writeVariant(0)
        case .digest(let d):
            writer.writeVariant(1)
            writer.writeFixed(d)
        }
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        switch try reader.readVariant(count: 2) {
        case 0: self = .empty
        default: self = .digest(try reader.readFixed(32))
        }
    }
}

/// Walrus's Merkle tree (PROTOCOL.md §2.1): leaf = H(0x00 ‖ data), inner = H(0x01 ‖ left ‖ right).
public enum Merkle {
    /// The leaf hash of `data`.
    public static func leafHash(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { walrus_blake2b256_prefixed($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 0, data.baseAddress, data.count) }
        return out
    }

    public static func leafHash(_ data: [UInt8]) -> [UInt8] { data.withUnsafeBytes { leafHash($0) } }

    /// The parent of two nodes.
    public static func innerHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        innerHash(left + right)
    }

    private static func innerHash(_ pair: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { o in
            pair.withUnsafeBytes { walrus_blake2b256_prefixed(o.baseAddress!.assumingMemoryBound(to: UInt8.self), 1, $0.baseAddress, 64) }
        }
        return out
    }

    /// The root over leaf hashes (each 32 bytes, concatenated).
    public static func root(leafHashes: [UInt8]) -> MerkleNode {
        let count = leafHashes.count / 32
        guard count > 0 else { return .empty }
        var scratch = [UInt8](repeating: 0, count: 32 * (count + 1))
        var out = [UInt8](repeating: 0, count: 32)
        leafHashes.withUnsafeBytes { leaves in
            scratch.withUnsafeMutableBytes { s in
                out.withUnsafeMutableBytes { o in
                    walrus_merkle_root(
                        o.baseAddress!.assumingMemoryBound(to: UInt8.self), leaves.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        count, s.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        return .digest(out)
    }

    /// The sibling path from leaf `index` to the root over `leafHashes`. A sibling that is the
    /// padding of an odd level is the Empty node. Builds the whole tree: for several proofs over
    /// the same leaves, build a `MerkleTree` once.
    public static func proof(leafHashes: [UInt8], index: Int) -> MerkleProof {
        MerkleTree(leafHashes: leafHashes).proof(index: index)
    }
}

/// Every level of Walrus's Merkle tree over some leaf hashes, kept so that any number of proofs
/// cost O(log n) each: building it hashes each inner node once (n - 1 of them), a level per
/// batched call, where building each proof from the leaves would hash the whole tree again.
public struct MerkleTree: Sendable {
    /// Level 0 holds the leaf hashes; each next level the parents of the one below, padded with
    /// the Empty node when odd. Each level is its 32-byte digests, concatenated.
    private let levels: [[UInt8]]

    /// The number of leaves.
    public var leafCount: Int { levels[0].count / 32 }

    /// The tree over `leafHashes` (32-byte digests, concatenated; at least one).
    public init(leafHashes: [UInt8]) {
        precondition(leafHashes.count >= 32 && leafHashes.count % 32 == 0, "a tree has whole 32-byte leaves")
        var levels = [leafHashes]
        var below = leafHashes
        while below.count > 32 {
            if (below.count / 32) % 2 == 1 { below += [UInt8](repeating: 0, count: 32) }
            let parents = below.count / 64
            var level = [UInt8](repeating: 0, count: parents * 32)
            level.withUnsafeMutableBufferPointer { out in
                below.withUnsafeBufferPointer { walrus_blake2b256_inner_batch(out.baseAddress!, $0.baseAddress!, parents) }
            }
            levels.append(level)
            below = level
        }
        self.levels = levels
    }

    /// The root.
    public var root: MerkleNode { .digest(levels[levels.count - 1]) }

    /// The sibling path from leaf `index` (below `leafCount`) to the root.
    public func proof(index: Int) -> MerkleProof {
        precondition(index >= 0 && index < leafCount, "leaf index is in the tree")
        var path: [MerkleNode] = []
        path.reserveCapacity(levels.count - 1)
        var i = index
        for level in levels.dropLast() {
            let sibling = i ^ 1
            if sibling * 32 >= level.count {
                path.append(.empty)  // The padding of an odd level.
            } else {
                path.append(.digest(Array(level[sibling * 32..<sibling * 32 + 32])))
            }
            i /= 2
        }
        return MerkleProof(path: path)
    }
}

/// A Merkle proof: the sibling nodes from a leaf to the root.
public struct MerkleProof: Hashable, Sendable, BCSCodable {
    public let path: [MerkleNode]

    public init(path: [MerkleNode]) { self.path = path }

    /// The largest path accepted when decoding: enough for 2^32 leaves.
    public static let pathLengthMax = 32

    /// Whether `leafData` is leaf `index` of `leafCount` leaves under `root` (PROTOCOL.md §2.1:
    /// the path is at most ceil(log2 N) long and `index >> path.count == 0`).
    public func verifies(leafData: UnsafeRawBufferPointer, index: Int, leafCount: Int, root: MerkleNode) -> Bool {
        verifies(leafHash: Merkle.leafHash(leafData), index: index, leafCount: leafCount, root: root)
    }

    public func verifies(leafHash: [UInt8], index: Int, leafCount: Int, root: MerkleNode) -> Bool {
        guard index >= 0, index < leafCount else { return false }
        var depth = 0
        while (1 << depth) < leafCount { depth += 1 }
        guard path.count <= depth, index >> path.count == 0 else { return false }
        var current = leafHash
        var i = index
        for sibling in path {
            current = i & 1 == 0 ? Merkle.innerHash(current, sibling.bytes) : Merkle.innerHash(sibling.bytes, current)
            i >>= 1
        }
        return current == root.bytes
    }

    public func encode(to writer: inout BCSWriter) { writer.writeSequence(path) }

    public init(from reader: inout BCSReader) throws(CoreError) {
        path = try reader.readSequence(of: MerkleNode.self, max: MerkleProof.pathLengthMax)
    }
}
