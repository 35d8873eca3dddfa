// Batch entry points. For now they loop over the portable compression; a SIMD kernel that hashes
// several messages per call must give the same digests (the vector tests compare both).
#include "CBlake2b.h"
#include "blake2b_internal.h"

#include <string.h>

void walrus_blake2b256_prefixed_batch(uint8_t *out, size_t out_stride, uint8_t prefix, const uint8_t *base,
                                      size_t stride, size_t len, size_t count) {
    for (size_t i = 0; i < count; i++) {
        walrus_blake2b256_prefixed_portable(out + i * out_stride, prefix, base + i * stride, len);
    }
}

void walrus_merkle_root(uint8_t out[32], const uint8_t *leaf_hashes, size_t count, uint8_t *scratch) {
    if (count == 0) {
        memset(out, 0, 32);
        return;
    }
    if (count == 1) {
        memcpy(out, leaf_hashes, 32);
        return;
    }
    memcpy(scratch, leaf_hashes, 32 * count);
    while (count > 1) {
        if (count & 1) memset(scratch + 32 * count++, 0, 32);  // The Empty node.
        walrus_blake2b256_inner_batch(scratch, scratch, count / 2);
        count /= 2;
    }
    memcpy(out, scratch, 32);
}

void walrus_blake2b256_inner_batch(uint8_t *out, const uint8_t *nodes, size_t count) {
    uint8_t digest[32];
    for (size_t i = 0; i < count; i++) {
        walrus_blake2b256_prefixed_portable(digest, 0x01, nodes + 64 * i, 64);
        memcpy(out + 32 * i, digest, 32);
    }
}

const char *walrus_blake2b_kernel_name(void) { return "portable"; }
