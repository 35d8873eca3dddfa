import CReedSolomon

/// Decodes many codewords that share one pattern of present symbols: the erasure locator is
/// computed once (`walrus_rs_decoder_new`) and applied to stripes of instances on all cores.
///
/// Source `i` (a codeword index below `originals + recovery`) supplies `instances` symbols,
/// instance b at `sources[i] + b * instanceStride`. The decoded originals, instance b of original
/// j, go to `output + j * outputShardStride + b * outputInstanceStride`.
struct StripeDecoder {
    let originals: Int
    let recovery: Int
    let symbolSize: Int

    func decode(
        sources: [Int: UnsafePointer<UInt8>], instances: Int, instanceStride: Int,
        output: UnsafeMutablePointer<UInt8>, outputShardStride: Int, outputInstanceStride: Int, workers: Int
    ) -> Bool {
        let s = symbolSize
        var present = [UInt8](repeating: 0, count: originals + recovery)
        for index in sources.keys { present[index] = 1 }
        // Present originals are copied; the rest are decoded.
        for (index, source) in sources where index < originals {
            walrus_copy_strided(output + index * outputShardStride, 0, outputInstanceStride, source, 0, instanceStride, s, 1, instances)
        }
        let missing = (0..<originals).filter { present[$0] == 0 }
        guard !missing.isEmpty else { return true }
        guard let plan = walrus_rs_decoder_new(originals, recovery, Array(present[..<originals]), Array(present[originals...]))
        else { return false }
        defer { walrus_rs_decoder_free(plan) }
        let perStripe = max(1, min(max(1, 8192 / max(64, walrus_rs_stripe_shard_bytes(s, 64) / 64)), (instances + 4 * workers - 1) / (4 * workers)))
        let stripes = (instances + perStripe - 1) / perStripe
        let maxShardBytes = walrus_rs_stripe_shard_bytes(s, perStripe)
        let workCount = walrus_rs_decoder_work_count(plan)
        let total = originals + recovery
        let buffers = (0..<min(workers, stripes)).map { _ in RawBuffer(zeroedCount: (total + originals + workCount) * maxShardBytes) }
        let order = sources.keys.sorted()
        parallelForEach(stripes, workers: workers) { stripe, worker in
            let b0 = stripe * perStripe
            let count = min(perStripe, instances - b0)
            let shardBytes = walrus_rs_stripe_shard_bytes(s, count)
            let base = buffers[worker].bytes
            for index in order {
                walrus_rs_pack_stripe(base + index * shardBytes, shardBytes, s, sources[index]! + b0 * instanceStride, 0, instanceStride, 1, count)
            }
            let restored = base + total * shardBytes
            let work = restored + originals * shardBytes
            let inputs = (0..<total).map { present[$0] == 0 ? nil : UnsafePointer(base + $0 * shardBytes) }
            let outputs = (0..<originals).map { Optional(restored + $0 * shardBytes) }
            walrus_rs_decoder_run(plan, shardBytes, Array(inputs[..<originals]), Array(inputs[originals...]), outputs, work)
            for j in missing {
                walrus_rs_unpack_stripe(
                    output + j * outputShardStride + b0 * outputInstanceStride, 0, outputInstanceStride,
                    restored + j * shardBytes, shardBytes, s, 1, count)
            }
        }
        return true
    }
}
