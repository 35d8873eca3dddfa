// Eight-lane BLAKE2b-256 with AVX-512F/BW: eight equal-length messages are compressed at once, one
// message per 64-bit lane, with the native 64-bit rotations. Each block is loaded whole and
// transposed into one vector per message word. A block that holds the prefix byte or ends the
// message is loaded with byte masks straight from the message (masked-off bytes read as zero and
// never fault), not assembled in a buffer: for short messages (Merkle nodes, small symbols) that
// assembling cost more than the compression. Gives the same digests as the portable code (the
// tests compare them).
#include "blake2b_internal.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw")))

#define G8(a, b, c, d, x, y)                                        \
    do {                                                            \
        a = _mm512_add_epi64(_mm512_add_epi64(a, b), x);            \
        d = _mm512_ror_epi64(_mm512_xor_si512(d, a), 32);           \
        c = _mm512_add_epi64(c, d);                                 \
        b = _mm512_ror_epi64(_mm512_xor_si512(b, c), 24);           \
        a = _mm512_add_epi64(_mm512_add_epi64(a, b), y);            \
        d = _mm512_ror_epi64(_mm512_xor_si512(d, a), 16);           \
        c = _mm512_add_epi64(c, d);                                 \
        b = _mm512_ror_epi64(_mm512_xor_si512(b, c), 63);           \
    } while (0)

/// Rows r[l] (words 0..7 of lane l) to columns out[j] (word j of every lane): three rounds of
/// two-input shuffles, 24 in all, which cost less than one gather per word.
AVX512 static inline void transpose8x8(const __m512i r[8], __m512i out[8]) {
    __m512i t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_epi64(r[2 * i], r[2 * i + 1]);      // words 0 2 4 6 of two lanes
        t[2 * i + 1] = _mm512_unpackhi_epi64(r[2 * i], r[2 * i + 1]);  // words 1 3 5 7
    }
    const __m512i low = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0), high = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    for (int i = 0; i < 2; i++) {
        // Four lanes of words {0,4}, {2,6}, {1,5}, {3,7}.
        u[4 * i + 0] = _mm512_permutex2var_epi64(t[4 * i], low, t[4 * i + 2]);
        u[4 * i + 1] = _mm512_permutex2var_epi64(t[4 * i], high, t[4 * i + 2]);
        u[4 * i + 2] = _mm512_permutex2var_epi64(t[4 * i + 1], low, t[4 * i + 3]);
        u[4 * i + 3] = _mm512_permutex2var_epi64(t[4 * i + 1], high, t[4 * i + 3]);
    }
    static const int word[4] = {0, 2, 1, 3};
    for (int k = 0; k < 4; k++) {
        out[word[k]] = _mm512_shuffle_i64x2(u[k], u[k + 4], 0x44);
        out[word[k] + 4] = _mm512_shuffle_i64x2(u[k], u[k + 4], 0xEE);
    }
}

/// One compression of eight lanes whose blocks are rows[half][lane] (bytes 64·half..64·half+63).
AVX512 static void compress8_rows(__m512i h[8], __m512i rows[2][8], uint64_t counter, int last) {
    __m512i m[16];
    transpose8x8(rows[0], m);
    transpose8x8(rows[1], m + 8);
    __m512i v[16];
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = _mm512_set1_epi64((long long)walrus_blake2b_iv[i]);
    }
    v[12] = _mm512_xor_si512(v[12], _mm512_set1_epi64((long long)counter));
    if (last) v[14] = _mm512_xor_si512(v[14], _mm512_set1_epi64(-1));
    WALRUS_BLAKE2B_ROUNDS(G8, v, m);
    for (int i = 0; i < 8; i++) h[i] = _mm512_xor_si512(h[i], _mm512_xor_si512(v[i], v[i + 8]));
}

AVX512 static void compress8(__m512i h[8], const uint8_t *const blocks[8], uint64_t counter, int last) {
    __m512i rows[2][8];
    for (int half = 0; half < 2; half++)
        for (int l = 0; l < 8; l++) rows[half][l] = _mm512_loadu_si512((const void *)(blocks[l] + 64 * half));
    compress8_rows(h, rows, counter, last);
}

/// The 64 bytes at `from`, of which only those at offsets [lo, hi) are read; the others are zero.
AVX512 static inline __m512i masked_row(const uint8_t *from, size_t lo, size_t hi) {
    if (hi <= lo) return _mm512_setzero_si512();
    __mmask64 upto = hi >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << hi) - 1);
    __mmask64 mask = upto & ~(((__mmask64)1 << lo) - 1);
    return _mm512_maskz_loadu_epi8(mask, (const void *)from);
}

/// BLAKE2b-256(prefix ‖ data_l) for eight messages of `len` bytes; digest l goes to out[l].
AVX512 void walrus_blake2b256_prefixed_x8(uint8_t *const out[8], uint8_t prefix, const uint8_t *const data[8], size_t len) {
    __m512i h[8];
    for (int i = 0; i < 8; i++) h[i] = _mm512_set1_epi64((long long)walrus_blake2b_iv[i]);
    h[0] = _mm512_xor_si512(h[0], _mm512_set1_epi64(0x01010000LL ^ 32));
    size_t total = len + 1;  // Bytes of prefix ‖ data; message byte j is data byte j - 1.
    size_t blocks = (total + 127) / 128;
    const __m512i prefix_row = _mm512_maskz_set1_epi8(1, (char)prefix);
    for (size_t b = 0; b < blocks; b++) {
        int last = b + 1 == blocks;
        size_t start = 128 * b;
        size_t take = total - start < 128 ? total - start : 128;
        if (b > 0 && take == 128) {
            const uint8_t *pointers[8];
            for (int l = 0; l < 8; l++) pointers[l] = data[l] + start - 1;
            compress8(h, pointers, start + take, last);
            continue;
        }
        // The first block (byte 0 is the prefix, read from nowhere) or a short last block: the
        // row at message offset o reads data from o - 1, only the bytes that exist.
        __m512i rows[2][8];
        for (int half = 0; half < 2; half++) {
            size_t o = start + 64 * (size_t)half;        // Message offset of the row's byte 0.
            size_t lo = o == 0 ? 1 : 0;                  // Skip the prefix's place.
            size_t hi = total > o ? (total - o < 64 ? total - o : 64) : 0;
            for (int l = 0; l < 8; l++) {
                // data - 1 + o is only dereferenced at offsets ≥ lo, which are inside the message.
                __m512i row = masked_row(data[l] - 1 + o, lo, hi);
                rows[half][l] = o == 0 ? _mm512_or_si512(row, prefix_row) : row;
            }
        }
        compress8_rows(h, rows, start + take, last);
    }
    // Digest l is word 0..3 of lane l: scatter the first four state vectors.
    _Alignas(64) uint64_t words[4][8];
    for (int i = 0; i < 4; i++) _mm512_store_si512((void *)words[i], h[i]);
    for (int l = 0; l < 8; l++) {
        uint64_t digest[4] = {words[0][l], words[1][l], words[2][l], words[3][l]};
        memcpy(out[l], digest, 32);
    }
}

AVX512 void walrus_blake2b_compress_x8(uint64_t h[64], const uint8_t *const blocks[8], uint64_t counter, int last) {
    __m512i state[8];
    for (int i = 0; i < 8; i++) state[i] = _mm512_loadu_si512((const void *)(h + 8 * i));
    compress8(state, blocks, counter, last);
    for (int i = 0; i < 8; i++) _mm512_storeu_si512((void *)(h + 8 * i), state[i]);
}

int walrus_blake2b_have_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}
#else
void walrus_blake2b256_prefixed_x8(uint8_t *const out[8], uint8_t prefix, const uint8_t *const data[8], size_t len) {
    for (int l = 0; l < 8; l++) walrus_blake2b256_prefixed_portable(out[l], prefix, data[l], len);
}
void walrus_blake2b_compress_x8(uint64_t h[64], const uint8_t *const blocks[8], uint64_t counter, int last) {
    walrus_blake2b_compress_lanes(h, 8, blocks, counter, last);
}
int walrus_blake2b_have_avx512(void) { return 0; }
#endif
