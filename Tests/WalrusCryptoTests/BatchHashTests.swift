import CBlake2b
import Testing
import WalrusCore
import WalrusCrypto

/// The batch entry points (eight lanes with AVX-512, four with AVX2, where the CPU has them) give the
/// digests of the one-message code for every length, count and stride, at every kernel level.
@Suite(.serialized) struct BatchHashTests {
    @Test(arguments: [0, 1, 2, 62, 63, 64, 126, 127, 128, 129, 254, 255, 256, 1206, 4097])
    func prefixedBatchMatchesSingleHashes(length: Int) {
        var rng = SeededGenerator(seed: UInt64(length))
        let stride = length + 3
        let data = rng.bytes(stride * 15)
        // Full groups of eight and four, and short groups of every size the kernels pad.
        for count in [1, 2, 3, 5, 6, 7, 13, 14, 15] {
            for level in [2, 1, 0] {
                let used = walrus_blake2b_limit_kernel(Int32(level))
                defer { walrus_blake2b_force_portable(0) }
                var out = [UInt8](repeating: 0, count: 40 * count)
                out.withUnsafeMutableBufferPointer { o in
                    data.withUnsafeBufferPointer { walrus_blake2b256_prefixed_batch(o.baseAddress!, 40, 0x00, $0.baseAddress!, stride, length, count) }
                }
                for i in 0..<count {
                    let expected = Blake2b256.hash([0x00] + data[i * stride..<i * stride + length])
                    #expect(Array(out[40 * i..<40 * i + 32]) == expected, "message \(i) of \(count), kernel level \(used)")
                    #expect(out[40 * i + 32..<40 * i + 40].allSatisfy { $0 == 0 }, "nothing written between digests")
                }
            }
        }
    }

    /// Two runs hashed as one batch: groups that straddle the runs' boundary take their messages
    /// from both.
    @Test(arguments: [1, 129, 4097])
    func twoRunsMatchSingleHashes(length: Int) {
        var rng = SeededGenerator(seed: UInt64(length) + 7)
        let (stride1, stride2) = (length + 5, length + 64)
        let first = rng.bytes(stride1 * 13), second = rng.bytes(stride2 * 13)
        for (count1, count2) in [(0, 3), (3, 0), (1, 1), (3, 2), (5, 6), (7, 9), (13, 13)] {
            for level in [2, 1, 0] {
                let used = walrus_blake2b_limit_kernel(Int32(level))
                defer { walrus_blake2b_force_portable(0) }
                var out = [UInt8](repeating: 0, count: 32 * (count1 + count2))
                out.withUnsafeMutableBufferPointer { o in
                    first.withUnsafeBufferPointer { a in
                        second.withUnsafeBufferPointer { b in
                            walrus_blake2b256_prefixed_batch2(o.baseAddress!, 32, 0x00, length, a.baseAddress!, stride1, count1, b.baseAddress!, stride2, count2)
                        }
                    }
                }
                let expected = (0..<count1).map { Blake2b256.hash([0x00] + first[$0 * stride1..<$0 * stride1 + length]) }
                    + (0..<count2).map { Blake2b256.hash([0x00] + second[$0 * stride2..<$0 * stride2 + length]) }
                #expect(out == expected.flatMap { $0 }, "\(count1) + \(count2) messages, kernel level \(used)")
            }
        }
    }

    @Test func innerBatchMatchesAndMayAlias() {
        var rng = SeededGenerator(seed: 3)
        for level in [2, 1, 0] {
            let used = walrus_blake2b_limit_kernel(Int32(level))
            defer { walrus_blake2b_force_portable(0) }
            for count in [1, 3, 4, 5, 8, 11, 13, 16, 21] {
                var nodes = rng.bytes(64 * count)
                let expected = (0..<count).flatMap { Blake2b256.hash([0x01] + nodes[64 * $0..<64 * $0 + 64]) }
                nodes.withUnsafeMutableBufferPointer { walrus_blake2b256_inner_batch($0.baseAddress!, $0.baseAddress!, count) }
                #expect(Array(nodes.prefix(32 * count)) == expected, "\(count) nodes, kernel level \(used)")
            }
        }
    }

    /// A stream fed in pieces of every size (within a block, up to a block's end, across several
    /// blocks) gives the one-shot digests, for two runs of messages and counts that leave the last
    /// group short; a reset stream is reusable.
    @Test(arguments: [0, 1, 127, 128, 129, 1000, 5000])
    func streamMatchesSingleHashes(length: Int) throws {
        var rng = SeededGenerator(seed: UInt64(length) + 11)
        let (stride1, stride2) = (length + 9, length + 64)
        let first = rng.bytes(stride1 * 70), second = rng.bytes(stride2 * 40)
        let stream = try #require(walrus_blake2b_stream_new(100))
        defer { walrus_blake2b_stream_free(stream) }
        for (count1, count2) in [(1, 0), (0, 3), (5, 2), (67, 33), (34, 40)] {
            for level in [2, 1, 0] {
                let used = walrus_blake2b_limit_kernel(Int32(level))
                defer { walrus_blake2b_force_portable(0) }
                walrus_blake2b_stream_reset(stream, count1 + count2, 0x00)
                var offset = 0
                var piece = 1
                while offset < length {
                    let take = min(piece, length - offset)
                    first.withUnsafeBufferPointer { a in
                        second.withUnsafeBufferPointer { b in
                            walrus_blake2b_stream_absorb(stream, take, a.baseAddress! + offset, stride1, count1, b.baseAddress! + offset, stride2)
                        }
                    }
                    offset += take
                    piece = piece * 3 + 1  // 1, 4, 13, 40, 121, 364, 1093, …
                }
                var out = [UInt8](repeating: 0, count: 32 * (count1 + count2))
                out.withUnsafeMutableBufferPointer { walrus_blake2b_stream_finish(stream, $0.baseAddress!, 32) }
                let expected = (0..<count1).map { Blake2b256.hash([0x00] + first[$0 * stride1..<$0 * stride1 + length]) }
                    + (0..<count2).map { Blake2b256.hash([0x00] + second[$0 * stride2..<$0 * stride2 + length]) }
                #expect(out == expected.flatMap { $0 }, "\(count1) + \(count2) messages, kernel level \(used)")
            }
        }
    }
}
