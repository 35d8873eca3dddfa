import CReedSolomon

/// One Reed-Solomon code over GF(2^16) with `originalCount` source and `recoveryCount` repair
/// symbols, on symbols in the reference's byte layout. For single codes (sliver expansion,
/// recovery, tests); the blob encoder runs many codes per call through `StripeCode`.
public struct ReedSolomonCode: Sendable {
    public let originalCount: Int
    public let recoveryCount: Int

    public init(originalCount: Int, recoveryCount: Int) {
        precondition(originalCount > 0 && recoveryCount > 0, "a code has originals and recovery symbols")
        precondition(originalCount <= 32768 && recoveryCount <= 32768, "at most 32768 of each")
        self.originalCount = originalCount
        self.recoveryCount = recoveryCount
    }

    /// The recovery symbols of `originals` (equal, even lengths).
    public func encode(_ originals: [[UInt8]]) -> [[UInt8]] {
        precondition(originals.count == originalCount, "one symbol per original")
        let s = originals[0].count
        precondition(s > 0 && s % 2 == 0 && originals.allSatisfy { $0.count == s }, "symbols have one even length")
        let code = StripeCode(originals: originalCount, recovery: recoveryCount, symbolSize: s, instances: 1)
        let flat = originals.flatMap { $0 }
        flat.withUnsafeBufferPointer { code.code($0.baseAddress!, shardStride: s, instanceStride: 0) }
        var out = [UInt8](repeating: 0, count: recoveryCount * s)
        out.withUnsafeMutableBufferPointer { code.unpackRecovery($0.baseAddress!, shardStride: s, instanceStride: 0) }
        return stride(from: 0, to: out.count, by: s).map { Array(out[$0..<$0 + s]) }
    }

    /// The original symbols from any `originalCount` symbols: `symbols[i]` is the symbol at
    /// codeword index `i` (originals first, then recovery), nil when missing. Returns nil when
    /// fewer than `originalCount` are present.
    public func decode(_ symbols: [[UInt8]?]) -> [[UInt8]]? {
        precondition(symbols.count == originalCount + recoveryCount, "one entry per codeword index")
        guard let s = symbols.first(where: { $0 != nil })??.count else { return nil }
        let present = symbols.map { $0 != nil ? UInt8(1) : 0 }
        guard let decoder = walrus_rs_decoder_new(
            originalCount, recoveryCount, Array(present[..<originalCount]), Array(present[originalCount...]))
        else { return nil }
        defer { walrus_rs_decoder_free(decoder) }
        let shardBytes = walrus_rs_stripe_shard_bytes(s, 1)
        let total = originalCount + recoveryCount
        let shards = RawBuffer(zeroedCount: (total + originalCount) * shardBytes)
        for (i, symbol) in symbols.enumerated() {
            guard let symbol else { continue }
            precondition(symbol.count == s, "symbols have one length")
            symbol.withUnsafeBufferPointer { walrus_rs_pack_symbol(shards.bytes + i * shardBytes, 0, $0.baseAddress!, s) }
        }
        let restored = shards.bytes + total * shardBytes
        let work = RawBuffer(zeroedCount: walrus_rs_decoder_work_count(decoder) * shardBytes)
        let base = shards.bytes
        func pointer(_ index: Int) -> UnsafePointer<UInt8>? {
            symbols[index] == nil ? nil : UnsafePointer(base + index * shardBytes)
        }
        let originals = (0..<originalCount).map(pointer)
        let recovery = (originalCount..<total).map(pointer)
        let outputs = (0..<originalCount).map { Optional(restored + $0 * shardBytes) }
        walrus_rs_decoder_run(decoder, shardBytes, originals, recovery, outputs, work.bytes)
        return (0..<originalCount).map { i in
            if let symbol = symbols[i] { return symbol }
            var out = [UInt8](repeating: 0, count: s)
            out.withUnsafeMutableBufferPointer { walrus_rs_unpack_symbol($0.baseAddress!, restored + i * shardBytes, 0, s) }
            return out
        }
    }
}
