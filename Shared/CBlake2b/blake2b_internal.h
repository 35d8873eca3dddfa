// Shared between the portable BLAKE2b and the batch kernels; not part of the module's interface.
#ifndef WALRUS_BLAKE2B_INTERNAL_H
#define WALRUS_BLAKE2B_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

extern const uint64_t walrus_blake2b_iv[8];
extern const uint8_t walrus_blake2b_sigma[12][16];

void walrus_blake2b_compress(uint64_t h[8], const uint8_t block[128], uint64_t t0, uint64_t t1, int last);
void walrus_blake2b256_prefixed_portable(uint8_t out[32], uint8_t prefix, const uint8_t *data, size_t len);
void walrus_blake2b256_prefixed_x4(uint8_t *const out[4], uint8_t prefix, const uint8_t *const data[4], size_t len);
int walrus_blake2b_have_avx2(void);
void walrus_blake2b256_prefixed_x8(uint8_t *const out[8], uint8_t prefix, const uint8_t *const data[8], size_t len);
int walrus_blake2b_have_avx512(void);
#endif
