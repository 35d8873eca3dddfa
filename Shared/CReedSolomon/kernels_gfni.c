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

GFNI static inline affine_tables zero_tables(void) { return (affine_tables){_mm512_setzero_si512(), _mm512_setzero_si512()}; }

/// The product of one block's 32 elements with the tables' constant, in the same block layout.
GFNI static inline __m512i product(const affine_tables *t, __m512i block) {
    __m512i direct = _mm512_gf2p8affine_epi64_epi8(block, t->ad, 0);   // [A·low | D·high]
    __m512i crossed = _mm512_gf2p8affine_epi64_epi8(block, t->cb, 0);  // [C·low | B·high]
    return _mm512_xor_si512(direct, _mm512_shuffle_i64x2(crossed, crossed, 0x4E));
}

#define KERNEL_TARGET GFNI
typedef affine_tables kernel_tables;
#define KERNEL_NAME "avx512gfni"
#define KERNEL_TABLES WALRUS_GF_AFFINE_TABLES
#include "kernels_avx512_loops.h"

const walrus_gf_kernels *walrus_gf_gfni_kernels(void) {
    __builtin_cpu_init();
    int ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("gfni");
    return ok ? &loop_kernels : 0;
}
#else
const walrus_gf_kernels *walrus_gf_gfni_kernels(void) { return 0; }
#endif
