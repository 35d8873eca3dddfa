// Batch entry points. For now they loop over the portable compression; a SIMD kernel that hashes
// several messages per call must give the same digests (the vector tests compare both).
#include "CBlake2b.h"
#include "blake2b_internal.h"

#include <string.h>

static int use_simd = -1;

static int simd_enabled(void) {
    if (use_simd < 0) use_simd = walrus_blake2b_have_avx2();
    return use_simd;
}

void walrus_blake2b_force_portable(int force) { use_simd = force ? 0 : walrus_blake2b_have_avx2(); }

void walrus_blake2b256_prefixed_batch(uint8_t *out, size_t out_stride, uint8_t prefix, const uint8_t *base,
                                      size_t stride, size_t len, size_t count) {
    size_t i = 0;
    if (simd_enabled()) {
        for (; i + 4 <= count; i += 4) {
            uint8_t *outs[4] = {out + i * out_stride, out + (i + 1) * out_stride, out + (i + 2) * out_stride,
                                out + (i + 3) * out_stride};
            const uint8_t *ins[4] = {base + i * stride, base + (i + 1) * stride, base + (i + 2) * stride,
                                     base + (i + 3) * stride};
            walrus_blake2b256_prefixed_x4(outs, prefix, ins, len);
        }
    }
    for (; i < count; i++) walrus_blake2b256_prefixed_portable(out + i * out_stride, prefix, base + i * stride, len);
}

void walrus_merkle_root(uint8_t out[32], const uint8_t *leaf_hashes, size_t count, uint8_t *scratch) {
    if (count == 0) {
        memset(out, 0, 32);
        return;
    }
    if (count == 1) {
        memcpy(out, leaf_hashes, 32);
        return;
    }
    memcpy(scratch, leaf_hashes, 32 * count);
    while (count > 1) {
        if (count & 1) memset(scratch + 32 * count++, 0, 32);  // The Empty node.
        walrus_blake2b256_inner_batch(scratch, scratch, count / 2);
        count /= 2;
    }
    memcpy(out, scratch, 32);
}

void walrus_blake2b256_inner_batch(uint8_t *out, const uint8_t *nodes, size_t count) {
    // Every group reads all of its inputs before it writes, so `out` may alias `nodes`.
    uint8_t digest[4][32];
    size_t i = 0;
    if (simd_enabled()) {
        for (; i + 4 <= count; i += 4) {
            uint8_t *outs[4] = {digest[0], digest[1], digest[2], digest[3]};
            const uint8_t *ins[4] = {nodes + 64 * i, nodes + 64 * (i + 1), nodes + 64 * (i + 2), nodes + 64 * (i + 3)};
            walrus_blake2b256_prefixed_x4(outs, 0x01, ins, 64);
            memcpy(out + 32 * i, digest, 128);
        }
    }
    for (; i < count; i++) {
        walrus_blake2b256_prefixed_portable(digest[0], 0x01, nodes + 64 * i, 64);
        memcpy(out + 32 * i, digest[0], 32);
    }
}

const char *walrus_blake2b_kernel_name(void) { return simd_enabled() ? "avx2x4" : "portable"; }
