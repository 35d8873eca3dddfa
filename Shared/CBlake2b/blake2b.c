// BLAKE2b written from RFC 7693: the portable single-message compression. SIMD batch kernels live
// in blake2b_batch.c and must produce the same digests.
#include "CBlake2b.h"
#include "blake2b_internal.h"

#include <string.h>

const uint64_t walrus_blake2b_iv[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

const uint8_t walrus_blake2b_sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);  // Little-endian hosts only (x86_64, arm64); checked by the vector tests.
    return v;
}

static inline uint64_t rotr64(uint64_t x, unsigned n) { return (x >> n) | (x << (64 - n)); }

#define G(a, b, c, d, x, y)          \
    do {                             \
        a = a + b + (x);             \
        d = rotr64(d ^ a, 32);       \
        c = c + d;                   \
        b = rotr64(b ^ c, 24);       \
        a = a + b + (y);             \
        d = rotr64(d ^ a, 16);       \
        c = c + d;                   \
        b = rotr64(b ^ c, 63);       \
    } while (0)

void walrus_blake2b_compress(uint64_t h[8], const uint8_t block[128], uint64_t t0, uint64_t t1, int last) {
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; i++) m[i] = load64(block + 8 * i);
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = walrus_blake2b_iv[i];
    }
    v[12] ^= t0;
    v[13] ^= t1;
    if (last) v[14] = ~v[14];
    WALRUS_BLAKE2B_ROUNDS(G, v, m);
    for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

void walrus_blake2b_compress_lanes(uint64_t *h, int lanes, const uint8_t *const *blocks, uint64_t counter, int last) {
    for (int l = 0; l < lanes; l++) {
        uint64_t lane[8];
        for (int i = 0; i < 8; i++) lane[i] = h[lanes * i + l];
        walrus_blake2b_compress(lane, blocks[l], counter, 0, last);
        for (int i = 0; i < 8; i++) h[lanes * i + l] = lane[i];
    }
}

int walrus_blake2b_init(walrus_blake2b_state *state, size_t outlen, const void *key, size_t keylen) {
    if (outlen == 0 || outlen > 64 || keylen > 64) return -1;
    for (int i = 0; i < 8; i++) state->h[i] = walrus_blake2b_iv[i];
    // Parameter block: digest length, key length, fanout 1, depth 1.
    state->h[0] ^= 0x01010000ULL ^ ((uint64_t)keylen << 8) ^ (uint64_t)outlen;
    state->t[0] = state->t[1] = 0;
    state->buffered = 0;
    state->outlen = outlen;
    memset(state->buffer, 0, sizeof state->buffer);
    if (keylen > 0) {
        memcpy(state->buffer, key, keylen);
        state->buffered = 128;  // The key block is a full block of its own.
    }
    return 0;
}

static inline void add_counter(walrus_blake2b_state *state, uint64_t n) {
    state->t[0] += n;
    if (state->t[0] < n) state->t[1]++;
}

void walrus_blake2b_update(walrus_blake2b_state *state, const void *data, size_t len) {
    const uint8_t *in = data;
    while (len > 0) {
        // A full buffer is compressed only when more input follows: the last block is special.
        if (state->buffered == 128) {
            add_counter(state, 128);
            walrus_blake2b_compress(state->h, state->buffer, state->t[0], state->t[1], 0);
            state->buffered = 0;
        }
        if (state->buffered == 0) {
            while (len > 128) {
                add_counter(state, 128);
                walrus_blake2b_compress(state->h, in, state->t[0], state->t[1], 0);
                in += 128;
                len -= 128;
            }
        }
        size_t take = 128 - state->buffered;
        if (take > len) take = len;
        memcpy(state->buffer + state->buffered, in, take);
        state->buffered += take;
        in += take;
        len -= take;
    }
}

void walrus_blake2b_final(walrus_blake2b_state *state, void *out) {
    add_counter(state, state->buffered);
    memset(state->buffer + state->buffered, 0, 128 - state->buffered);
    walrus_blake2b_compress(state->h, state->buffer, state->t[0], state->t[1], 1);
    uint8_t digest[64];
    memcpy(digest, state->h, 64);  // Little-endian hosts.
    memcpy(out, digest, state->outlen);
}

int walrus_blake2b(void *out, size_t outlen, const void *key, size_t keylen, const void *data, size_t len) {
    walrus_blake2b_state state;
    if (walrus_blake2b_init(&state, outlen, key, keylen) != 0) return -1;
    walrus_blake2b_update(&state, data, len);
    walrus_blake2b_final(&state, out);
    return 0;
}

void walrus_blake2b256_prefixed_portable(uint8_t out[32], uint8_t prefix, const uint8_t *data, size_t len) {
    uint64_t h[8];
    for (int i = 0; i < 8; i++) h[i] = walrus_blake2b_iv[i];
    h[0] ^= 0x01010000ULL ^ 32;
    uint8_t block[128];
    size_t total = len + 1;
    // First block: the prefix byte and up to 127 bytes of data.
    size_t first = len < 127 ? len : 127;
    block[0] = prefix;
    memcpy(block + 1, data, first);
    size_t consumed = first;
    uint64_t counter = first + 1;
    if (total <= 128) {
        memset(block + 1 + first, 0, 127 - first);
        walrus_blake2b_compress(h, block, counter, 0, 1);
    } else {
        walrus_blake2b_compress(h, block, 128, 0, 0);
        counter = 128;
        while (len - consumed > 128) {
            counter += 128;
            walrus_blake2b_compress(h, data + consumed, counter, 0, 0);
            consumed += 128;
        }
        size_t rest = len - consumed;
        memcpy(block, data + consumed, rest);
        memset(block + rest, 0, 128 - rest);
        counter += rest;
        walrus_blake2b_compress(h, block, counter, 0, 1);
    }
    memcpy(out, h, 32);
}

void walrus_blake2b256_prefixed(uint8_t out[32], uint8_t prefix, const void *data, size_t len) {
    walrus_blake2b256_prefixed_portable(out, prefix, data, len);
}
