// AVX-512BW shard kernels. One 64-byte block (32 low bytes, then 32 high bytes of 32 elements) fills
// a register: its low nibbles index tables [t0, t0, t2, t2] and its high nibbles [t1, t1, t3, t3]
// (one table per 128-bit lane, as vpshufb looks up per lane), which gives the low plane's terms in
// the lower half and the high plane's in the upper half; folding the halves gives the product. Half
// the lookups of the AVX2 kernels per block, with the same bytes (the tests compare them). Like the
// GFNI kernels, it has two-layer butterflies.
#include "gf16.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw")))

typedef struct {
    __m512i low_lo, high_lo;  // Tables giving the low byte of the product.
    __m512i low_hi, high_hi;  // Tables giving the high byte.
} lane_tables;

AVX512 static inline __m512i lanes(const uint8_t *a, const uint8_t *b) {
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)a));
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)a), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)b), 2);
    return _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)b), 3);
}

AVX512 static inline lane_tables load_tables(uint16_t log_m) {
    const uint8_t(*t)[2][16] = walrus_gf_nibble[log_m];
    lane_tables tables;
    tables.low_lo = lanes(t[0][0], t[2][0]);
    tables.high_lo = lanes(t[1][0], t[3][0]);
    tables.low_hi = lanes(t[0][1], t[2][1]);
    tables.high_hi = lanes(t[1][1], t[3][1]);
    return tables;
}

/// The product of one block's 32 elements with the tables' constant, in the same block layout.
AVX512 static inline __m512i product(const lane_tables *tables, __m512i block) {
    const __m512i mask = _mm512_set1_epi8(0x0f);
    __m512i low = _mm512_and_si512(block, mask);
    __m512i high = _mm512_and_si512(_mm512_srli_epi64(block, 4), mask);
    __m512i x = _mm512_xor_si512(_mm512_shuffle_epi8(tables->low_lo, low), _mm512_shuffle_epi8(tables->high_lo, high));
    __m512i y = _mm512_xor_si512(_mm512_shuffle_epi8(tables->low_hi, low), _mm512_shuffle_epi8(tables->high_hi, high));
    // [x.lower, y.lower] ^ [x.upper, y.upper]: the low plane, then the high plane.
    return _mm512_xor_si512(_mm512_shuffle_i64x2(x, y, 0x44), _mm512_shuffle_i64x2(x, y, 0xEE));
}

AVX512 static void xor_into(uint8_t *x, const uint8_t *y, size_t bytes) {
    for (size_t i = 0; i < bytes; i += 64) {
        __m512i a = _mm512_loadu_si512((const void *)(x + i));
        _mm512_storeu_si512((void *)(x + i), _mm512_xor_si512(a, _mm512_loadu_si512((const void *)(y + i))));
    }
}

AVX512 static void mul(uint8_t *x, uint16_t log_m, size_t bytes) {
    lane_tables tables = load_tables(log_m);
    for (size_t i = 0; i < bytes; i += 64) {
        _mm512_storeu_si512((void *)(x + i), product(&tables, _mm512_loadu_si512((const void *)(x + i))));
    }
}

AVX512 static void fft_butterfly(uint8_t *x, uint8_t *y, uint16_t log_m, size_t bytes) {
    lane_tables tables = load_tables(log_m);
    for (size_t i = 0; i < bytes; i += 64) {
        __m512i yv = _mm512_loadu_si512((const void *)(y + i));
        __m512i xv = _mm512_xor_si512(_mm512_loadu_si512((const void *)(x + i)), product(&tables, yv));
        _mm512_storeu_si512((void *)(x + i), xv);
        _mm512_storeu_si512((void *)(y + i), _mm512_xor_si512(yv, xv));
    }
}

AVX512 static void ifft_butterfly(uint8_t *x, uint8_t *y, uint16_t log_m, size_t bytes) {
    lane_tables tables = load_tables(log_m);
    for (size_t i = 0; i < bytes; i += 64) {
        __m512i xv = _mm512_loadu_si512((const void *)(x + i));
        __m512i yv = _mm512_xor_si512(_mm512_loadu_si512((const void *)(y + i)), xv);
        _mm512_storeu_si512((void *)(y + i), yv);
        _mm512_storeu_si512((void *)(x + i), _mm512_xor_si512(xv, product(&tables, yv)));
    }
}

/// The tables of a factor that may be zero (a logarithm of GF_MODULUS): zero tables give zero.
AVX512 static inline lane_tables load_tables_or_zero(uint16_t log_m) {
    if (log_m == GF_MODULUS) {
        __m512i z = _mm512_setzero_si512();
        return (lane_tables){z, z, z, z};
    }
    return load_tables(log_m);
}

AVX512 static void ifft_butterfly2(uint8_t *p0, uint8_t *p1, uint8_t *p2, uint8_t *p3, uint16_t log_a, uint16_t log_b,
                                   uint16_t log_c, size_t bytes) {
    lane_tables a = load_tables_or_zero(log_a), b = load_tables_or_zero(log_b), c = load_tables_or_zero(log_c);
    for (size_t i = 0; i < bytes; i += 64) {
        __m512i x0 = _mm512_loadu_si512((const void *)(p0 + i)), x1 = _mm512_loadu_si512((const void *)(p1 + i));
        __m512i x2 = _mm512_loadu_si512((const void *)(p2 + i)), x3 = _mm512_loadu_si512((const void *)(p3 + i));
        x1 = _mm512_xor_si512(x1, x0);
        x0 = _mm512_xor_si512(x0, product(&a, x1));
        x3 = _mm512_xor_si512(x3, x2);
        x2 = _mm512_xor_si512(x2, product(&b, x3));
        x2 = _mm512_xor_si512(x2, x0);
        x0 = _mm512_xor_si512(x0, product(&c, x2));
        x3 = _mm512_xor_si512(x3, x1);
        x1 = _mm512_xor_si512(x1, product(&c, x3));
        _mm512_storeu_si512((void *)(p0 + i), x0);
        _mm512_storeu_si512((void *)(p1 + i), x1);
        _mm512_storeu_si512((void *)(p2 + i), x2);
        _mm512_storeu_si512((void *)(p3 + i), x3);
    }
}

AVX512 static void fft_butterfly2(uint8_t *p0, uint8_t *p1, uint8_t *p2, uint8_t *p3, uint16_t log_a, uint16_t log_b,
                                  uint16_t log_c, size_t bytes) {
    lane_tables a = load_tables_or_zero(log_a), b = load_tables_or_zero(log_b), c = load_tables_or_zero(log_c);
    for (size_t i = 0; i < bytes; i += 64) {
        __m512i x0 = _mm512_loadu_si512((const void *)(p0 + i)), x1 = _mm512_loadu_si512((const void *)(p1 + i));
        __m512i x2 = _mm512_loadu_si512((const void *)(p2 + i)), x3 = _mm512_loadu_si512((const void *)(p3 + i));
        x0 = _mm512_xor_si512(x0, product(&c, x2));
        x2 = _mm512_xor_si512(x2, x0);
        x1 = _mm512_xor_si512(x1, product(&c, x3));
        x3 = _mm512_xor_si512(x3, x1);
        x0 = _mm512_xor_si512(x0, product(&a, x1));
        x1 = _mm512_xor_si512(x1, x0);
        x2 = _mm512_xor_si512(x2, product(&b, x3));
        x3 = _mm512_xor_si512(x3, x2);
        _mm512_storeu_si512((void *)(p0 + i), x0);
        _mm512_storeu_si512((void *)(p1 + i), x1);
        _mm512_storeu_si512((void *)(p2 + i), x2);
        _mm512_storeu_si512((void *)(p3 + i), x3);
    }
}

static const walrus_gf_kernels avx512_kernels = {
    .name = "avx512",
    .tables = WALRUS_GF_NIBBLE_TABLES,
    .xor_into = xor_into,
    .mul = mul,
    .fft_butterfly = fft_butterfly,
    .ifft_butterfly = ifft_butterfly,
    .ifft_butterfly2 = ifft_butterfly2,
    .fft_butterfly2 = fft_butterfly2,
};

const walrus_gf_kernels *walrus_gf_avx512_kernels(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? &avx512_kernels : 0;
}
#else
const walrus_gf_kernels *walrus_gf_avx512_kernels(void) { return 0; }
#endif
