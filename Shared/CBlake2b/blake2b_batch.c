// Batch entry points: eight messages per call with AVX-512, four with AVX2, the portable code for
// the rest. Every kernel gives the same digests (the vector tests compare them).
#include "CBlake2b.h"
#include "blake2b_internal.h"

#include <stdlib.h>
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

struct walrus_blake2b_stream {
    size_t capacity, count;
    int lanes;                 // Messages per compression call: 8, 4 or 1, fixed at reset.
    uint64_t counter;          // Bytes of every message compressed so far.
    size_t pending;            // Bytes waiting in every message's buffer: 1 to 128 between calls.
    uint64_t *h;               // Per group of `lanes` messages: h[word * lanes + lane].
    uint8_t (*buffer)[128];    // Per message: the bytes of its next block received so far.
    const uint8_t **blocks;    // Per message: where its next block lies.
};

walrus_blake2b_stream *walrus_blake2b_stream_new(size_t capacity) {
    if (capacity == 0) capacity = 1;
    size_t padded = (capacity + 7) / 8 * 8;
    walrus_blake2b_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->capacity = capacity;
    s->h = aligned_alloc(64, padded * 8 * sizeof(uint64_t));
    s->buffer = aligned_alloc(64, capacity * sizeof *s->buffer);
    s->blocks = malloc(padded * sizeof *s->blocks);
    if (!s->h || !s->buffer || !s->blocks) {
        walrus_blake2b_stream_free(s);
        return NULL;
    }
    return s;
}

void walrus_blake2b_stream_free(walrus_blake2b_stream *s) {
    if (!s) return;
    free(s->h);
    free(s->buffer);
    free(s->blocks);
    free(s);
}

void walrus_blake2b_stream_reset(walrus_blake2b_stream *s, size_t count, uint8_t prefix) {
    s->count = count < s->capacity ? count : s->capacity;
    int simd = level();
    s->lanes = simd >= 2 ? 8 : simd >= 1 ? 4 : 1;
    s->counter = 0;
    s->pending = 1;
    size_t lanes = (size_t)s->lanes, groups = (s->count + lanes - 1) / lanes;
    for (size_t g = 0; g < groups; g++) {
        for (size_t w = 0; w < 8; w++) {
            uint64_t word = walrus_blake2b_iv[w] ^ (w == 0 ? 0x01010000ULL ^ 32 : 0);
            for (size_t l = 0; l < lanes; l++) s->h[(g * 8 + w) * lanes + l] = word;
        }
    }
    for (size_t i = 0; i < s->count; i++) s->buffer[i][0] = prefix;
}

/// Compresses the block every message's `blocks` entry points at.
static void stream_compress(walrus_blake2b_stream *s, int last) {
    size_t lanes = (size_t)s->lanes, groups = (s->count + lanes - 1) / lanes;
    for (size_t i = s->count; i < groups * lanes; i++) s->blocks[i] = s->blocks[s->count - 1];  // Spare lanes.
    for (size_t g = 0; g < groups; g++) {
        uint64_t *h = s->h + g * 8 * lanes;
        const uint8_t *const *blocks = s->blocks + g * lanes;
        if (lanes == 8) walrus_blake2b_compress_x8(h, blocks, s->counter, last);
        else if (lanes == 4) walrus_blake2b_compress_x4(h, blocks, s->counter, last);
        else walrus_blake2b_compress_lanes(h, 1, blocks, s->counter, last);
    }
}

static inline const uint8_t *stream_source(size_t i, const uint8_t *base1, size_t stride1, size_t count1, const uint8_t *base2,
                                           size_t stride2) {
    return i < count1 ? base1 + i * stride1 : base2 + (i - count1) * stride2;
}

void walrus_blake2b_stream_absorb(walrus_blake2b_stream *s, size_t bytes, const uint8_t *base1, size_t stride1, size_t count1,
                                  const uint8_t *base2, size_t stride2) {
    if (s->count == 0 || bytes == 0) return;
    size_t p = s->pending;
    if (p + bytes <= 128) {
        // Not past the block: a last block is never compressed before finish knows it is last.
        for (size_t i = 0; i < s->count; i++) memcpy(s->buffer[i] + p, stream_source(i, base1, stride1, count1, base2, stride2), bytes);
        s->pending = p + bytes;
        return;
    }
    size_t fill = 128 - p;
    for (size_t i = 0; i < s->count; i++) {
        memcpy(s->buffer[i] + p, stream_source(i, base1, stride1, count1, base2, stride2), fill);
        s->blocks[i] = s->buffer[i];
    }
    s->counter += 128;
    stream_compress(s, 0);
    size_t offset = fill;
    // Whole blocks straight from the messages, keeping at least one byte for the last block.
    for (; bytes - offset > 128; offset += 128) {
        for (size_t i = 0; i < s->count; i++) s->blocks[i] = stream_source(i, base1, stride1, count1, base2, stride2) + offset;
        s->counter += 128;
        stream_compress(s, 0);
    }
    size_t rest = bytes - offset;
    for (size_t i = 0; i < s->count; i++) memcpy(s->buffer[i], stream_source(i, base1, stride1, count1, base2, stride2) + offset, rest);
    s->pending = rest;
}

void walrus_blake2b_stream_finish(walrus_blake2b_stream *s, uint8_t *out, size_t out_stride) {
    if (s->count == 0) return;
    for (size_t i = 0; i < s->count; i++) {
        memset(s->buffer[i] + s->pending, 0, 128 - s->pending);
        s->blocks[i] = s->buffer[i];
    }
    s->counter += s->pending;
    stream_compress(s, 1);
    size_t lanes = (size_t)s->lanes;
    for (size_t i = 0; i < s->count; i++) {
        const uint64_t *h = s->h + (i / lanes) * 8 * lanes;
        uint64_t digest[4];
        for (size_t w = 0; w < 4; w++) digest[w] = h[w * lanes + i % lanes];
        memcpy(out + i * out_stride, digest, 32);  // Little-endian words, as the digest is defined.
    }
}
