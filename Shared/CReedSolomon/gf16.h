// Internal: GF(2^16) tables and the shard kernels shared by the FFT code.
#ifndef WALRUS_GF16_H
#define WALRUS_GF16_H
#include <stddef.h>
#include <stdint.h>

#define GF_BITS 16
#define GF_ORDER 65536u
#define GF_MODULUS 65535u

extern uint16_t walrus_gf_log[GF_ORDER];
extern uint16_t walrus_gf_exp[GF_ORDER];
extern uint16_t walrus_gf_skew[GF_MODULUS];
extern uint16_t walrus_gf_log_walsh[GF_ORDER];

/// For every log value m, eight 16-byte tables: product of (nibble v at position q) with exp(m),
/// low byte at [q][0][v] and high byte at [q][1][v]. 128 bytes per m, 8 MiB in all. Built when a
/// kernel that uses them is first chosen.
extern uint8_t (*walrus_gf_nibble)[4][2][16];

/// For every log value m, the bit matrices of multiplying by exp(m) in `vgf2p8affineqb` form:
/// low ← low, high ← high, high ← low, low ← high. 32 bytes per m, 2 MiB in all. Built when a
/// kernel that uses them is first chosen.
extern uint64_t (*walrus_gf_affine)[4];

static inline uint16_t gf_add_mod(uint32_t a, uint32_t b) {
    uint32_t sum = a + b;
    return (uint16_t)((sum + (sum >> 16)) & 0xffff);
}

static inline uint16_t gf_mul_log(uint16_t x, uint16_t log_m) {
    if (x == 0) return 0;
    uint32_t sum = (uint32_t)walrus_gf_log[x] + log_m;
    sum = (sum & 0xffff) + (sum >> 16);  // mod 65535, possibly 65535 which maps like 0
    return walrus_gf_exp[sum];
}

/// Shard kernels over `bytes` bytes (a multiple of 64) in the 64-byte lo/hi block layout.
/// The per-multiplier tables a kernel reads.
enum { WALRUS_GF_NO_TABLES, WALRUS_GF_NIBBLE_TABLES, WALRUS_GF_AFFINE_TABLES };

typedef struct {
    const char *name;
    int tables;
    /// x ^= y
    void (*xor_into)(uint8_t *x, const uint8_t *y, size_t bytes);
    /// x = x · exp(log_m)
    void (*mul)(uint8_t *x, uint16_t log_m, size_t bytes);
    /// x ^= y · exp(log_m) (NULL if the kernel has none)
    void (*mul_add)(uint8_t *x, const uint8_t *y, uint16_t log_m, size_t bytes);
    /// FFT butterfly: x ^= y · exp(log_m); y ^= x
    void (*fft_butterfly)(uint8_t *x, uint8_t *y, uint16_t log_m, size_t bytes);
    /// IFFT butterfly: y ^= x; x ^= y · exp(log_m)
    void (*ifft_butterfly)(uint8_t *x, uint8_t *y, uint16_t log_m, size_t bytes);
    /// Out-of-place butterflies (all four NULL if the kernel has none): they read the shards at the
    /// s/q pointers and write the results to the x/p pointers; a source may be its own destination
    /// (in place). A logarithm of GF_MODULUS stands for a zero factor (the butterfly only XORs).
    void (*fft_butterfly_from)(uint8_t *x, uint8_t *y, const uint8_t *sx, const uint8_t *sy, uint16_t log_m, size_t bytes);
    void (*ifft_butterfly_from)(uint8_t *x, uint8_t *y, const uint8_t *sx, const uint8_t *sy, uint16_t log_m, size_t bytes);
    /// Two IFFT layers over four shards in one pass: the butterflies (0, 1) with log_a and (2, 3)
    /// with log_b, then (0, 2) and (1, 3) with log_c.
    void (*ifft_butterfly2_from)(uint8_t *p0, uint8_t *p1, uint8_t *p2, uint8_t *p3, const uint8_t *q0, const uint8_t *q1,
                                 const uint8_t *q2, const uint8_t *q3, uint16_t log_a, uint16_t log_b, uint16_t log_c,
                                 size_t bytes);
    /// Two FFT layers over four shards in one pass: the butterflies (0, 2) and (1, 3) with log_c,
    /// then (0, 1) with log_a and (2, 3) with log_b.
    void (*fft_butterfly2_from)(uint8_t *p0, uint8_t *p1, uint8_t *p2, uint8_t *p3, const uint8_t *q0, const uint8_t *q1,
                                const uint8_t *q2, const uint8_t *q3, uint16_t log_a, uint16_t log_b, uint16_t log_c,
                                size_t bytes);
} walrus_gf_kernels;

extern const walrus_gf_kernels walrus_gf_portable_kernels;
const walrus_gf_kernels *walrus_gf_avx2_kernels(void);    // NULL when not compiled in or not supported
const walrus_gf_kernels *walrus_gf_avx512_kernels(void);  // NULL when not compiled in or not supported
const walrus_gf_kernels *walrus_gf_gfni_kernels(void);    // NULL when not compiled in or not supported
/// The kernel in use, with its tables built.
const walrus_gf_kernels *walrus_gf_active(void);
#endif
