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

AVX512 static inline lane_tables zero_tables(void) {
    __m512i z = _mm512_setzero_si512();
    return (lane_tables){z, z, z, z};
}

#define KERNEL_TARGET AVX512
typedef lane_tables kernel_tables;
#define KERNEL_NAME "avx512"
#define KERNEL_TABLES WALRUS_GF_NIBBLE_TABLES
#include "kernels_avx512_loops.h"

const walrus_gf_kernels *walrus_gf_avx512_kernels(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? &loop_kernels : 0;
}
#else
const walrus_gf_kernels *walrus_gf_avx512_kernels(void) { return 0; }
#endif
