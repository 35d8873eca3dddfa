// Batch entry points: eight messages per call with AVX-512, four with AVX2, the portable code for
// the rest. Every kernel gives the same digests (the vector tests compare them).
#include "CBlake2b.h"
#include "blake2b_internal.h"

#include <string.h>

/// The widest kernel in use: 0 portable, 1 AVX2 (4 lanes), 2 AVX-512 (8 lanes); -1 not chosen yet.
static int simd_level = -1;

static int best_level(void) { return walrus_blake2b_have_avx512() ? 2 : walrus_blake2b_have_avx2() ? 1 : 0; }

static int level(void) {
    if (simd_level < 0) simd_level = best_level();
    return simd_level;
}

void walrus_blake2b_force_portable(int force) { simd_level = force ? 0 : best_level(); }

int walrus_blake2b_limit_kernel(int max_level) {
    int best = best_level();
    simd_level = max_level < best ? (max_level < 0 ? 0 : max_level) : best;
    return simd_level;
}

/// Where the messages of a batch lie: `count[0]` at `base[0] + i * stride[0]`, then `count[1]` more
/// at `base[1] + i * stride[1]`.
struct runs {
    const uint8_t *base[2];
    size_t stride[2];
    size_t count[2];
};

static inline const uint8_t *message(const struct runs *runs, size_t i) {
    return i < runs->count[0] ? runs->base[0] + i * runs->stride[0] : runs->base[1] + (i - runs->count[0]) * runs->stride[1];
}

/// Hashes messages i..<min(i + lanes, count) in one call of the `lanes`-wide kernel; lanes past the
/// end hash the last message again into a scratch digest (a short group in one wide call costs
/// less than hashing its messages one by one).
static void hash_group(int lanes, uint8_t *out, size_t out_stride, uint8_t prefix, const struct runs *runs, size_t len, size_t i,
                       size_t count) {
    uint8_t spare[8][32];
    uint8_t *outs[8];
    const uint8_t *ins[8];
    for (int l = 0; l < lanes; l++) {
        size_t m = i + (size_t)l;
        outs[l] = m < count ? out + m * out_stride : spare[l];
        ins[l] = message(runs, m < count ? m : count - 1);
    }
    if (lanes == 8) {
        walrus_blake2b256_prefixed_x8(outs, prefix, ins, len);
    } else {
        walrus_blake2b256_prefixed_x4(outs, prefix, ins, len);
    }
}

static void hash_runs(uint8_t *out, size_t out_stride, uint8_t prefix, const struct runs *runs, size_t len) {
    size_t count = runs->count[0] + runs->count[1];
    size_t i = 0;
    int simd = level();
    if (simd >= 2) {
        for (; i + 8 <= count; i += 8) hash_group(8, out, out_stride, prefix, runs, len, i, count);
        // Four to seven left: one eight-lane call.
        if (count - i >= 4) {
            hash_group(8, out, out_stride, prefix, runs, len, i, count);
            i = count;
        }
    }
    if (simd >= 1) {
        for (; i + 4 <= count; i += 4) hash_group(4, out, out_stride, prefix, runs, len, i, count);
        // Two or three left: one four-lane call.
        if (count - i >= 2) {
            hash_group(4, out, out_stride, prefix, runs, len, i, count);
            i = count;
        }
    }
    for (; i < count; i++) walrus_blake2b256_prefixed_portable(out + i * out_stride, prefix, message(runs, i), len);
}

void walrus_blake2b256_prefixed_batch(uint8_t *out, size_t out_stride, uint8_t prefix, const uint8_t *base,
                                      size_t stride, size_t len, size_t count) {
    struct runs runs = {{base, base}, {stride, stride}, {count, 0}};
    hash_runs(out, out_stride, prefix, &runs, len);
}

void walrus_blake2b256_prefixed_batch2(uint8_t *out, size_t out_stride, uint8_t prefix, size_t len, const uint8_t *base1,
                                       size_t stride1, size_t count1, const uint8_t *base2, size_t stride2, size_t count2) {
    struct runs runs = {{base1, base2}, {stride1, stride2}, {count1, count2}};
    hash_runs(out, out_stride, prefix, &runs, len);
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
    uint8_t digest[8][32];
    size_t i = 0;
    int simd = level();
    if (simd >= 2) {
        for (; i + 8 <= count; i += 8) {
            uint8_t *outs[8];
            const uint8_t *ins[8];
            for (int l = 0; l < 8; l++) {
                outs[l] = digest[l];
                ins[l] = nodes + 64 * (i + l);
            }
            walrus_blake2b256_prefixed_x8(outs, 0x01, ins, 64);
            memcpy(out + 32 * i, digest, 256);
        }
    }
    if (simd >= 1) {
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

const char *walrus_blake2b_kernel_name(void) {
    switch (level()) {
    case 2: return "avx512x8";
    case 1: return "avx2x4";
    default: return "portable";
    }
}
