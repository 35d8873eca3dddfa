// The shard loops shared by the AVX-512 kernels (kernels_avx512.c, kernels_gfni.c), which differ
// only in how they multiply a 64-byte block by a constant. Included by each of them after it
// defines:
//   KERNEL_TARGET                 the function attribute (target ISA) of its kernels;
//   kernel_tables                 the per-multiplier operands kept in registers;
//   load_tables(log_m)            those operands for exp(log_m);
//   zero_tables()                 operands whose product is zero;
//   product(&tables, block)       the block times the constant, in the block layout;
//   KERNEL_NAME, KERNEL_TABLES    the kernel's name and the tables it reads (gf16.h).
// Defines `loop_kernels`: xor_into, mul, mul_add, the butterflies and the two-layer butterflies, in place
// and out of place.
#ifndef KERNEL_TARGET
#error "define KERNEL_TARGET, KERNEL_NAME, KERNEL_TABLES, kernel_tables, load_tables, zero_tables and product first"
#endif

/// The operands of a factor that may be zero (a logarithm of GF_MODULUS).
KERNEL_TARGET static inline kernel_tables load_tables_or_zero(uint16_t log_m) {
    return log_m == GF_MODULUS ? zero_tables() : load_tables(log_m);
}

KERNEL_TARGET static inline __m512i load_block(const uint8_t *p) { return _mm512_loadu_si512((const void *)p); }
KERNEL_TARGET static inline void store_block(uint8_t *p, __m512i v) { _mm512_storeu_si512((void *)p, v); }

KERNEL_TARGET static void xor_into(uint8_t *x, const uint8_t *y, size_t bytes) {
    for (size_t i = 0; i < bytes; i += 64) store_block(x + i, _mm512_xor_si512(load_block(x + i), load_block(y + i)));
}

KERNEL_TARGET static void mul(uint8_t *x, uint16_t log_m, size_t bytes) {
    kernel_tables t = load_tables(log_m);
    for (size_t i = 0; i < bytes; i += 64) store_block(x + i, product(&t, load_block(x + i)));
}

/// x ^= y · m over whole shards.
KERNEL_TARGET static void mul_add(uint8_t *x, const uint8_t *y, uint16_t log_m, size_t bytes) {
    kernel_tables t = load_tables(log_m);
    for (size_t i = 0; i < bytes; i += 64) store_block(x + i, _mm512_xor_si512(load_block(x + i), product(&t, load_block(y + i))));
}

/// x ^= y · m; y ^= x (on registers).
#define FFT_STEP(t, x, y)                               \
    do {                                                \
        x = _mm512_xor_si512(x, product(&(t), y));      \
        y = _mm512_xor_si512(y, x);                     \
    } while (0)

/// y ^= x; x ^= y · m (on registers).
#define IFFT_STEP(t, x, y)                              \
    do {                                                \
        y = _mm512_xor_si512(y, x);                     \
        x = _mm512_xor_si512(x, product(&(t), y));      \
    } while (0)

/// Four shards' blocks at offset i through the registers: loaded from q0..q3, `STEPS` run on
/// x0..x3, stored to p0..p3 (the same shards when the pass works in place).
#define FOUR_SHARDS(bytes, STEPS)                                                                      \
    for (size_t i = 0; i < (bytes); i += 64) {                                                         \
        __m512i x0 = load_block(q0 + i), x1 = load_block(q1 + i), x2 = load_block(q2 + i), x3 = load_block(q3 + i); \
        STEPS;                                                                                         \
        store_block(p0 + i, x0);                                                                       \
        store_block(p1 + i, x1);                                                                       \
        store_block(p2 + i, x2);                                                                       \
        store_block(p3 + i, x3);                                                                       \
    }

/// Two shards' blocks at offset i through the registers: loaded from sx, sy, `STEP` run on xv, yv,
/// stored to x, y.
#define TWO_SHARDS(bytes, STEP)                                      \
    for (size_t i = 0; i < (bytes); i += 64) {                       \
        __m512i xv = load_block(sx + i), yv = load_block(sy + i);    \
        STEP;                                                        \
        store_block(x + i, xv);                                      \
        store_block(y + i, yv);                                      \
    }

/// The first pass of a transform reads its shards from where they lie (`sx`, `sy`; the originals
/// in the caller's buffer, or another chunk) and writes the work shards, which saves copying them
/// in first. Any source may be its own destination; the in-place butterflies are these with the
/// same pointers.
KERNEL_TARGET static void fft_butterfly_from(uint8_t *x, uint8_t *y, const uint8_t *sx, const uint8_t *sy, uint16_t log_m,
                                             size_t bytes) {
    kernel_tables t = load_tables_or_zero(log_m);
    TWO_SHARDS(bytes, FFT_STEP(t, xv, yv))
}

KERNEL_TARGET static void ifft_butterfly_from(uint8_t *x, uint8_t *y, const uint8_t *sx, const uint8_t *sy, uint16_t log_m,
                                              size_t bytes) {
    kernel_tables t = load_tables_or_zero(log_m);
    TWO_SHARDS(bytes, IFFT_STEP(t, xv, yv))
}

KERNEL_TARGET static void fft_butterfly(uint8_t *x, uint8_t *y, uint16_t log_m, size_t bytes) {
    fft_butterfly_from(x, y, x, y, log_m, bytes);
}

KERNEL_TARGET static void ifft_butterfly(uint8_t *x, uint8_t *y, uint16_t log_m, size_t bytes) {
    ifft_butterfly_from(x, y, x, y, log_m, bytes);
}

KERNEL_TARGET static void ifft_butterfly2_from(uint8_t *p0, uint8_t *p1, uint8_t *p2, uint8_t *p3, const uint8_t *q0,
                                               const uint8_t *q1, const uint8_t *q2, const uint8_t *q3, uint16_t log_a,
                                               uint16_t log_b, uint16_t log_c, size_t bytes) {
    kernel_tables a = load_tables_or_zero(log_a), b = load_tables_or_zero(log_b), c = load_tables_or_zero(log_c);
    FOUR_SHARDS(bytes, {
        IFFT_STEP(a, x0, x1);
        IFFT_STEP(b, x2, x3);
        IFFT_STEP(c, x0, x2);
        IFFT_STEP(c, x1, x3);
    })
}

KERNEL_TARGET static void fft_butterfly2_from(uint8_t *p0, uint8_t *p1, uint8_t *p2, uint8_t *p3, const uint8_t *q0,
                                              const uint8_t *q1, const uint8_t *q2, const uint8_t *q3, uint16_t log_a,
                                              uint16_t log_b, uint16_t log_c, size_t bytes) {
    kernel_tables a = load_tables_or_zero(log_a), b = load_tables_or_zero(log_b), c = load_tables_or_zero(log_c);
    FOUR_SHARDS(bytes, {
        FFT_STEP(c, x0, x2);
        FFT_STEP(c, x1, x3);
        FFT_STEP(a, x0, x1);
        FFT_STEP(b, x2, x3);
    })
}

static const walrus_gf_kernels loop_kernels = {
    .name = KERNEL_NAME,
    .tables = KERNEL_TABLES,
    .xor_into = xor_into,
    .mul = mul,
    .mul_add = mul_add,
    .fft_butterfly = fft_butterfly,
    .ifft_butterfly = ifft_butterfly,
    .fft_butterfly_from = fft_butterfly_from,
    .ifft_butterfly_from = ifft_butterfly_from,
    .ifft_butterfly2_from = ifft_butterfly2_from,
    .fft_butterfly2_from = fft_butterfly2_from,
};

#undef TWO_SHARDS
#undef FOUR_SHARDS
#undef FFT_STEP
#undef IFFT_STEP
