// Shared between the portable BLAKE2b and the batch kernels; not part of the module's interface.
#ifndef WALRUS_BLAKE2B_INTERNAL_H
#define WALRUS_BLAKE2B_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

extern const uint64_t walrus_blake2b_iv[8];
extern const uint8_t walrus_blake2b_sigma[12][16];

void walrus_blake2b_compress(uint64_t h[8], const uint8_t block[128], uint64_t t0, uint64_t t1, int last);
void walrus_blake2b256_prefixed_portable(uint8_t out[32], uint8_t prefix, const uint8_t *data, size_t len);
void walrus_blake2b256_prefixed_x4(uint8_t *const out[4], uint8_t prefix, const uint8_t *const data[4], size_t len);
int walrus_blake2b_have_avx2(void);
void walrus_blake2b256_prefixed_x8(uint8_t *const out[8], uint8_t prefix, const uint8_t *const data[8], size_t len);
int walrus_blake2b_have_avx512(void);
/// One compression of eight (four) messages' states held word-major, h[word * lanes + lane], over
/// one block per lane; `counter` is the bytes hashed including this block.
void walrus_blake2b_compress_x8(uint64_t h[64], const uint8_t *const blocks[8], uint64_t counter, int last);
void walrus_blake2b_compress_x4(uint64_t h[32], const uint8_t *const blocks[4], uint64_t counter, int last);
/// The same for any number of lanes with the portable compression, one lane at a time.
void walrus_blake2b_compress_lanes(uint64_t *h, int lanes, const uint8_t *const *blocks, uint64_t counter, int last);

/// The twelve rounds of BLAKE2b's compression over the working vector `v` and message words `m`,
/// with `G` the quarter-round of the kernel at hand (scalar or one message per vector lane).
#define WALRUS_BLAKE2B_ROUNDS(G, v, m)                                 \
    do {                                                               \
        for (int r = 0; r < 12; r++) {                                 \
            const uint8_t *s = walrus_blake2b_sigma[r];                \
            G(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]);              \
            G(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]);              \
            G(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]);             \
            G(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]);             \
            G(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]);             \
            G(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]);           \
            G(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]);            \
            G(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]);            \
        }                                                              \
    } while (0)

/// Block `b` (of `blocks`) of `prefix ‖ data_l` for each of `lanes` messages of `total - 1` bytes:
/// points `pointers[l]` into the message where the whole block lies there, else builds it (the
/// prefix, or zero padding at the end) in `temp[l]`. Returns the bytes the block covers.
static inline size_t walrus_blake2b_lane_blocks(int lanes, size_t b, size_t total, uint8_t prefix, const uint8_t *const data[],
                                                uint8_t (*temp)[128], const uint8_t *pointers[]) {
    size_t start = 128 * b;  // Offset in prefix ‖ data.
    size_t take = total - start < 128 ? total - start : 128;
    for (int l = 0; l < lanes; l++) {
        if (b == 0) {
            temp[l][0] = prefix;
            memcpy(temp[l] + 1, data[l], take - 1);
            memset(temp[l] + take, 0, 128 - take);
            pointers[l] = temp[l];
        } else if (take < 128) {
            memcpy(temp[l], data[l] + start - 1, take);
            memset(temp[l] + take, 0, 128 - take);
            pointers[l] = temp[l];
        } else {
            pointers[l] = data[l] + start - 1;
        }
    }
    return take;
}
#endif
