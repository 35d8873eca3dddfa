// Portable shard kernels: one element at a time through the log/exp tables. Every SIMD kernel
// must give the same bytes; the tests compare them.
#include "gf16.h"

#include <string.h>

static void xor_into(uint8_t *x, const uint8_t *y, size_t bytes) {
    for (size_t i = 0; i < bytes; i += 8) {
        uint64_t a, b;
        memcpy(&a, x + i, 8);
        memcpy(&b, y + i, 8);
        a ^= b;
        memcpy(x + i, &a, 8);
    }
}

static inline uint16_t element(const uint8_t *block, unsigned j) { return (uint16_t)(block[j] | (block[32 + j] << 8)); }

static inline void set_element(uint8_t *block, unsigned j, uint16_t v) {
    block[j] = (uint8_t)v;
    block[32 + j] = (uint8_t)(v >> 8);
}

static void mul(uint8_t *x, uint16_t log_m, size_t bytes) {
    for (size_t b = 0; b < bytes; b += 64)
        for (unsigned j = 0; j < 32; j++) set_element(x + b, j, gf_mul_log(element(x + b, j), log_m));
}

static void fft_butterfly(uint8_t *x, uint8_t *y, uint16_t log_m, size_t bytes) {
    for (size_t b = 0; b < bytes; b += 64) {
        for (unsigned j = 0; j < 32; j++) {
            uint16_t xv = element(x + b, j) ^ gf_mul_log(element(y + b, j), log_m);
            set_element(x + b, j, xv);
            set_element(y + b, j, element(y + b, j) ^ xv);
        }
    }
}

static void ifft_butterfly(uint8_t *x, uint8_t *y, uint16_t log_m, size_t bytes) {
    for (size_t b = 0; b < bytes; b += 64) {
        for (unsigned j = 0; j < 32; j++) {
            uint16_t yv = element(y + b, j) ^ element(x + b, j);
            set_element(y + b, j, yv);
            set_element(x + b, j, element(x + b, j) ^ gf_mul_log(yv, log_m));
        }
    }
}

const walrus_gf_kernels walrus_gf_portable_kernels = {
    .name = "portable",
    .tables = WALRUS_GF_NO_TABLES,
    .xor_into = xor_into,
    .mul = mul,
    .fft_butterfly = fft_butterfly,
    .ifft_butterfly = ifft_butterfly,
};
