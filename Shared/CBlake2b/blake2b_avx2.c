// Four-lane BLAKE2b-256 with AVX2: four equal-length messages are compressed at once, one message
// per 64-bit lane. Gives the same digests as the portable code (the tests compare them).
#include "blake2b_internal.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

AVX2 static inline __m256i rotr32(__m256i x) { return _mm256_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)); }
AVX2 static inline __m256i rotr24(__m256i x) {
    const __m256i r24 = _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3, 4, 5, 6, 7, 0, 1, 2, 11,
                                         12, 13, 14, 15, 8, 9, 10);
    return _mm256_shuffle_epi8(x, r24);
}
AVX2 static inline __m256i rotr16(__m256i x) {
    const __m256i r16 = _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2, 3, 4, 5, 6, 7, 0, 1, 10,
                                         11, 12, 13, 14, 15, 8, 9);
    return _mm256_shuffle_epi8(x, r16);
}
AVX2 static inline __m256i rotr63(__m256i x) { return _mm256_or_si256(_mm256_srli_epi64(x, 63), _mm256_add_epi64(x, x)); }

#define G4(a, b, c, d, x, y)                                        \
    do {                                                            \
        a = _mm256_add_epi64(_mm256_add_epi64(a, b), x);            \
        d = rotr32(_mm256_xor_si256(d, a));                         \
        c = _mm256_add_epi64(c, d);                                 \
        b = rotr24(_mm256_xor_si256(b, c));                         \
        a = _mm256_add_epi64(_mm256_add_epi64(a, b), y);            \
        d = rotr16(_mm256_xor_si256(d, a));                         \
        c = _mm256_add_epi64(c, d);                                 \
        b = rotr63(_mm256_xor_si256(b, c));                         \
    } while (0)

/// Transposes four rows of four 64-bit words into four columns.
AVX2 static inline void transpose4(__m256i r0, __m256i r1, __m256i r2, __m256i r3, __m256i out[4]) {
    __m256i t0 = _mm256_unpacklo_epi64(r0, r1);
    __m256i t1 = _mm256_unpackhi_epi64(r0, r1);
    __m256i t2 = _mm256_unpacklo_epi64(r2, r3);
    __m256i t3 = _mm256_unpackhi_epi64(r2, r3);
    out[0] = _mm256_permute2x128_si256(t0, t2, 0x20);
    out[1] = _mm256_permute2x128_si256(t1, t3, 0x20);
    out[2] = _mm256_permute2x128_si256(t0, t2, 0x31);
    out[3] = _mm256_permute2x128_si256(t1, t3, 0x31);
}

AVX2 static void compress4(__m256i h[8], const uint8_t *const blocks[4], uint64_t counter, int last) {
    __m256i m[16];
    for (int q = 0; q < 4; q++) {
        transpose4(_mm256_loadu_si256((const __m256i *)(blocks[0] + 32 * q)),
                   _mm256_loadu_si256((const __m256i *)(blocks[1] + 32 * q)),
                   _mm256_loadu_si256((const __m256i *)(blocks[2] + 32 * q)),
                   _mm256_loadu_si256((const __m256i *)(blocks[3] + 32 * q)), m + 4 * q);
    }
    __m256i v[16];
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = _mm256_set1_epi64x((long long)walrus_blake2b_iv[i]);
    }
    v[12] = _mm256_xor_si256(v[12], _mm256_set1_epi64x((long long)counter));
    if (last) v[14] = _mm256_xor_si256(v[14], _mm256_set1_epi64x(-1));
    WALRUS_BLAKE2B_ROUNDS(G4, v, m);
    for (int i = 0; i < 8; i++) h[i] = _mm256_xor_si256(h[i], _mm256_xor_si256(v[i], v[i + 8]));
}

/// BLAKE2b-256(prefix ‖ data_l) for four messages of `len` bytes; digest l goes to out[l].
AVX2 void walrus_blake2b256_prefixed_x4(uint8_t *const out[4], uint8_t prefix, const uint8_t *const data[4], size_t len) {
    __m256i h[8];
    for (int i = 0; i < 8; i++) h[i] = _mm256_set1_epi64x((long long)walrus_blake2b_iv[i]);
    h[0] = _mm256_xor_si256(h[0], _mm256_set1_epi64x(0x01010000LL ^ 32));
    size_t total = len + 1;
    size_t blocks = total == 0 ? 1 : (total + 127) / 128;
    _Alignas(32) uint8_t temp[4][128];
    const uint8_t *pointers[4];
    for (size_t b = 0; b < blocks; b++) {
        int last = b + 1 == blocks;
        size_t start = 128 * b;
        size_t take = walrus_blake2b_lane_blocks(4, b, total, prefix, data, temp, pointers);
        compress4(h, pointers, start + take, last);
    }
    __m256i digest[4];
    transpose4(h[0], h[1], h[2], h[3], digest);
    for (int l = 0; l < 4; l++) _mm256_storeu_si256((__m256i *)out[l], digest[l]);
}

AVX2 void walrus_blake2b_compress_x4(uint64_t h[32], const uint8_t *const blocks[4], uint64_t counter, int last) {
    __m256i state[8];
    for (int i = 0; i < 8; i++) state[i] = _mm256_loadu_si256((const __m256i *)(h + 4 * i));
    compress4(state, blocks, counter, last);
    for (int i = 0; i < 8; i++) _mm256_storeu_si256((__m256i *)(h + 4 * i), state[i]);
}

int walrus_blake2b_have_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#else
void walrus_blake2b256_prefixed_x4(uint8_t *const out[4], uint8_t prefix, const uint8_t *const data[4], size_t len) {
    for (int l = 0; l < 4; l++) walrus_blake2b256_prefixed_portable(out[l], prefix, data[l], len);
}
void walrus_blake2b_compress_x4(uint64_t h[32], const uint8_t *const blocks[4], uint64_t counter, int last) {
    walrus_blake2b_compress_lanes(h, 4, blocks, counter, last);
}
int walrus_blake2b_have_avx2(void) { return 0; }
#endif
