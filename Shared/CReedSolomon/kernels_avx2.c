// AVX2 shard kernels: a product by a constant is eight 16-entry table lookups (vpshufb), one per
// nibble of the element and byte of the result, with the tables of walrus_gf_nibble. Selected at
// run time when the CPU has AVX2; the portable kernels give the same bytes.
#include "gf16.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

typedef struct {
    __m256i t[4][2];
} nibble_tables;

AVX2 static inline nibble_tables load_tables(uint16_t log_m) {
    nibble_tables tables;
    for (int q = 0; q < 4; q++)
        for (int h = 0; h < 2; h++)
            tables.t[q][h] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)walrus_gf_nibble[log_m][q][h]));
    return tables;
}

/// The products of 32 elements (lo, hi planes) with the tables' constant.
AVX2 static inline void product(const nibble_tables *tables, __m256i lo, __m256i hi, __m256i *out_lo, __m256i *out_hi) {
    const __m256i mask = _mm256_set1_epi8(0x0f);
    __m256i n0 = _mm256_and_si256(lo, mask);
    __m256i n1 = _mm256_and_si256(_mm256_srli_epi64(lo, 4), mask);
    __m256i n2 = _mm256_and_si256(hi, mask);
    __m256i n3 = _mm256_and_si256(_mm256_srli_epi64(hi, 4), mask);
    __m256i plo = _mm256_shuffle_epi8(tables->t[0][0], n0);
    __m256i phi = _mm256_shuffle_epi8(tables->t[0][1], n0);
    plo = _mm256_xor_si256(plo, _mm256_shuffle_epi8(tables->t[1][0], n1));
    phi = _mm256_xor_si256(phi, _mm256_shuffle_epi8(tables->t[1][1], n1));
    plo = _mm256_xor_si256(plo, _mm256_shuffle_epi8(tables->t[2][0], n2));
    phi = _mm256_xor_si256(phi, _mm256_shuffle_epi8(tables->t[2][1], n2));
    plo = _mm256_xor_si256(plo, _mm256_shuffle_epi8(tables->t[3][0], n3));
    phi = _mm256_xor_si256(phi, _mm256_shuffle_epi8(tables->t[3][1], n3));
    *out_lo = plo;
    *out_hi = phi;
}

AVX2 static void xor_into(uint8_t *x, const uint8_t *y, size_t bytes) {
    for (size_t i = 0; i < bytes; i += 64) {
        __m256i a0 = _mm256_loadu_si256((const __m256i *)(x + i));
        __m256i a1 = _mm256_loadu_si256((const __m256i *)(x + i + 32));
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(y + i));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(y + i + 32));
        _mm256_storeu_si256((__m256i *)(x + i), _mm256_xor_si256(a0, b0));
        _mm256_storeu_si256((__m256i *)(x + i + 32), _mm256_xor_si256(a1, b1));
    }
}

AVX2 static void mul(uint8_t *x, uint16_t log_m, size_t bytes) {
    nibble_tables tables = load_tables(log_m);
    for (size_t i = 0; i < bytes; i += 64) {
        __m256i lo = _mm256_loadu_si256((const __m256i *)(x + i));
        __m256i hi = _mm256_loadu_si256((const __m256i *)(x + i + 32));
        __m256i plo, phi;
        product(&tables, lo, hi, &plo, &phi);
        _mm256_storeu_si256((__m256i *)(x + i), plo);
        _mm256_storeu_si256((__m256i *)(x + i + 32), phi);
    }
}

AVX2 static void fft_butterfly(uint8_t *x, uint8_t *y, uint16_t log_m, size_t bytes) {
    nibble_tables tables = load_tables(log_m);
    for (size_t i = 0; i < bytes; i += 64) {
        __m256i ylo = _mm256_loadu_si256((const __m256i *)(y + i));
        __m256i yhi = _mm256_loadu_si256((const __m256i *)(y + i + 32));
        __m256i plo, phi;
        product(&tables, ylo, yhi, &plo, &phi);
        __m256i xlo = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(x + i)), plo);
        __m256i xhi = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(x + i + 32)), phi);
        _mm256_storeu_si256((__m256i *)(x + i), xlo);
        _mm256_storeu_si256((__m256i *)(x + i + 32), xhi);
        _mm256_storeu_si256((__m256i *)(y + i), _mm256_xor_si256(ylo, xlo));
        _mm256_storeu_si256((__m256i *)(y + i + 32), _mm256_xor_si256(yhi, xhi));
    }
}

AVX2 static void ifft_butterfly(uint8_t *x, uint8_t *y, uint16_t log_m, size_t bytes) {
    nibble_tables tables = load_tables(log_m);
    for (size_t i = 0; i < bytes; i += 64) {
        __m256i xlo = _mm256_loadu_si256((const __m256i *)(x + i));
        __m256i xhi = _mm256_loadu_si256((const __m256i *)(x + i + 32));
        __m256i ylo = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(y + i)), xlo);
        __m256i yhi = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(y + i + 32)), xhi);
        _mm256_storeu_si256((__m256i *)(y + i), ylo);
        _mm256_storeu_si256((__m256i *)(y + i + 32), yhi);
        __m256i plo, phi;
        product(&tables, ylo, yhi, &plo, &phi);
        _mm256_storeu_si256((__m256i *)(x + i), _mm256_xor_si256(xlo, plo));
        _mm256_storeu_si256((__m256i *)(x + i + 32), _mm256_xor_si256(xhi, phi));
    }
}

static const walrus_gf_kernels avx2_kernels = {
    .name = "avx2",
    .tables = WALRUS_GF_NIBBLE_TABLES,
    .xor_into = xor_into,
    .mul = mul,
    .fft_butterfly = fft_butterfly,
    .ifft_butterfly = ifft_butterfly,
};

const walrus_gf_kernels *walrus_gf_avx2_kernels(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? &avx2_kernels : 0;
}
#else
const walrus_gf_kernels *walrus_gf_avx2_kernels(void) { return 0; }
#endif
