import Testing
import WalrusCore
import WalrusCrypto
@testable import RedStuff

@Suite struct MerkleTests {
    @Test func edgeCases() {
        #expect(Merkle.root(leafHashes: []) == .empty)
        let leaf = Merkle.leafHash([1, 2, 3])
        #expect(leaf == Blake2b256.hash([0, 1, 2, 3]))
        #expect(Merkle.root(leafHashes: leaf) == .digest(leaf))
        let other = Merkle.leafHash([4])
        #expect(Merkle.root(leafHashes: leaf + other) == .digest(Blake2b256.hash([1] + leaf + other)))
        // An odd level is padded with the Empty node (32 zero bytes, not hashed).
        let third = Merkle.leafHash([5])
        let expected = Blake2b256.hash([1] + Blake2b256.hash([1] + leaf + other) + Blake2b256.hash([1] + third + [UInt8](repeating: 0, count: 32)))
        #expect(Merkle.root(leafHashes: leaf + other + third) == .digest(expected))
    }

    @Test(arguments: [1, 2, 3, 5, 7, 8, 9, 16, 17, 1000])
    func everyProofVerifiesAndOnlyForItsLeaf(count: Int) throws {
        let data = (0..<count).map { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
        let leaves = data.flatMap(Merkle.leafHash)
        let root = Merkle.root(leafHashes: leaves)
        for i in [0, count / 2, count - 1] {
            let proof = Merkle.proof(leafHashes: leaves, index: i)
            #expect(proof.verifies(leafHash: Merkle.leafHash(data[i]), index: i, leafCount: count, root: root))
            #expect(try MerkleProof.decode(bcs: proof.bcsBytes) == proof)
            if count > 1 {
                let j = (i + 1) % count
                #expect(!proof.verifies(leafHash: Merkle.leafHash(data[j]), index: i, leafCount: count, root: root))
                #expect(!proof.verifies(leafHash: Merkle.leafHash(data[i]), index: j, leafCount: count, root: root))
            }
            #expect(!proof.verifies(leafHash: Merkle.leafHash(data[i]), index: i + count, leafCount: count, root: root))
            // A path longer than the tree is deep is refused.
            let padded = MerkleProof(path: proof.path + [.empty])
            #expect(!padded.verifies(leafHash: Merkle.leafHash(data[i]), index: i, leafCount: count, root: root))
        }
    }

    /// The proof the way the tree is defined: rebuild each level from the one below, one inner
    /// hash at a time, and take the sibling on the way up.
    static func referenceProof(leafHashes: [UInt8], index: Int) -> [MerkleNode] {
        var level = stride(from: 0, to: leafHashes.count, by: 32).map { Array(leafHashes[$0..<$0 + 32]) }
        var path: [MerkleNode] = []
        var i = index
        while level.count > 1 {
            let odd = level.count % 2 == 1
            if odd { level.append([UInt8](repeating: 0, count: 32)) }
            path.append(odd && (i ^ 1) == level.count - 1 ? .empty : .digest(level[i ^ 1]))
            level = stride(from: 0, to: level.count, by: 2).map { Merkle.innerHash(level[$0], level[$0 + 1]) }
            i /= 2
        }
        return path
    }

    /// A tree built once with batched inner hashes gives, for every leaf, the path and root that
    /// the level-by-level definition gives.
    @Test func treeMatchesTheDefinition() {
        for count in Array(1...70) + [127, 128, 129, 334, 667, 1000] {
            let leaves = (0..<count).flatMap { Merkle.leafHash([UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8), 7]) }
            let tree = MerkleTree(leafHashes: leaves)
            #expect(tree.root == Merkle.root(leafHashes: leaves), "root, \(count) leaves")
            let indices = count <= 70 ? Array(0..<count) : [0, 1, count / 3, count / 2, count - 2, count - 1]
            for i in indices {
                #expect(tree.proof(index: i).path == Self.referenceProof(leafHashes: leaves, index: i), "leaf \(i) of \(count)")
            }
        }
    }
}
