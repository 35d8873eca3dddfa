// AVX-512 kernels with GFNI. Multiplying by a constant is linear over GF(2), so for each multiplier
// the product of a block is four 8×8 bit-matrix transforms of its byte planes: low ← low (A),
// low ← high (B), high ← low (C), high ← high (D). One `vgf2p8affineqb` applies A to the low plane
// and D to the high plane at once, a second applies C and B; swapping the second's halves and
// XORing gives the product in the block layout. Two affine instructions, a shuffle and an XOR per
// 64 bytes, against four table lookups, two shuffles, masks and shifts in the AVX-512BW kernel.
#include "gf16.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define GFNI __attribute__((target("avx512f,avx512bw,gfni")))

typedef struct {
    __m512i ad;  // A over the low plane's lanes, D over the high plane's.
    __m512i cb;  // C over the low plane's lanes, B over the high plane's.
} affine_tables;

GFNI static inline affine_tables load_tables(uint16_t log_m) {
    const uint64_t *q = walrus_gf_affine[log_m];
    affine_tables t;
    t.ad = _mm512_set_epi64((long long)q[1], (long long)q[1], (long long)q[1], (long long)q[1],
                            (long long)q[0], (long long)q[0], (long long)q[0], (long long)q[0]);
    t.cb = _mm512_set_epi64((long long)q[3], (long long)q[3], (long long)q[3], (long long)q[3],
                            (long long)q[2], (long long)q[2], (long long)q[2], (long long)q[2]);
    return t;
}

/// The tables of a factor that may be zero (a logarithm of GF_MODULUS): zero matrices give zero.
GFNI static inline affine_tables load_tables_or_zero(uint16_t log_m) {
    if (log_m == GF_MODULUS) return (affine_tables){_mm512_setzero_si512(), _mm512_setzero_si512()};
    return load_tables(log_m);
}

/// The product of one block's 32 elements with the tables' constant, in the same block layout.
GFNI static inline __m512i product(const affine_tables *t, __m512i block) {
    __m512i direct = _mm512_gf2p8affine_epi64_epi8(block, t->ad, 0);   // [A·low | D·high]
    __m512i crossed = _mm512_gf2p8affine_epi64_epi8(block, t->cb, 0);  // [C·low | B·high]
    return _mm512_xor_si512(direct, _mm512_shuffle_i64x2(crossed, crossed, 0x4E));
}

GFNI static void xor_into(uint8_t *x, const uint8_t *y, size_t bytes) {
    for (size_t i = 0; i < bytes; i += 64) {
        __m512i a = _mm512_loadu_si512((const void *)(x + i));
        _mm512_storeu_si512((void *)(x + i), _mm512_xor_si512(a, _mm512_loadu_si512((const void *)(y + i))));
    }
}

GFNI static void mul(uint8_t *x, uint16_t log_m, size_t bytes) {
    affine_tables t = load_tables(log_m);
    for (size_t i = 0; i < bytes; i += 64) {
        _mm512_storeu_si512((void *)(x + i), product(&t, _mm512_loadu_si512((const void *)(x + i))));
    }
}

GFNI static void fft_butterfly(uint8_t *x, uint8_t *y, uint16_t log_m, size_t bytes) {
    affine_tables t = load_tables(log_m);
    for (size_t i = 0; i < bytes; i += 64) {
        __m512i yv = _mm512_loadu_si512((const void *)(y + i));
        __m512i xv = _mm512_xor_si512(_mm512_loadu_si512((const void *)(x + i)), product(&t, yv));
        _mm512_storeu_si512((void *)(x + i), xv);
        _mm512_storeu_si512((void *)(y + i), _mm512_xor_si512(yv, xv));
    }
}

GFNI static void ifft_butterfly(uint8_t *x, uint8_t *y, uint16_t log_m, size_t bytes) {
    affine_tables t = load_tables(log_m);
    for (size_t i = 0; i < bytes; i += 64) {
        __m512i xv = _mm512_loadu_si512((const void *)(x + i));
        __m512i yv = _mm512_xor_si512(_mm512_loadu_si512((const void *)(y + i)), xv);
        _mm512_storeu_si512((void *)(y + i), yv);
        _mm512_storeu_si512((void *)(x + i), _mm512_xor_si512(xv, product(&t, yv)));
    }
}

GFNI static void ifft_butterfly2(uint8_t *p0, uint8_t *p1, uint8_t *p2, uint8_t *p3, uint16_t log_a, uint16_t log_b,
                                 uint16_t log_c, size_t bytes) {
    affine_tables a = load_tables_or_zero(log_a), b = load_tables_or_zero(log_b), c = load_tables_or_zero(log_c);
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

GFNI static void fft_butterfly2(uint8_t *p0, uint8_t *p1, uint8_t *p2, uint8_t *p3, uint16_t log_a, uint16_t log_b,
                                uint16_t log_c, size_t bytes) {
    affine_tables a = load_tables_or_zero(log_a), b = load_tables_or_zero(log_b), c = load_tables_or_zero(log_c);
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

static const walrus_gf_kernels gfni_kernels = {
    .name = "avx512gfni",
    .tables = WALRUS_GF_AFFINE_TABLES,
    .xor_into = xor_into,
    .mul = mul,
    .fft_butterfly = fft_butterfly,
    .ifft_butterfly = ifft_butterfly,
    .ifft_butterfly2 = ifft_butterfly2,
    .fft_butterfly2 = fft_butterfly2,
};

const walrus_gf_kernels *walrus_gf_gfni_kernels(void) {
    __builtin_cpu_init();
    int ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("gfni");
    return ok ? &gfni_kernels : 0;
}
#else
const walrus_gf_kernels *walrus_gf_gfni_kernels(void) { return 0; }
#endif
