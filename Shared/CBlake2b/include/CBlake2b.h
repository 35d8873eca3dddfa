// BLAKE2b (RFC 7693) for the Walrus hashes: BLAKE2b with a 32-byte output, plus batch entry points
// for the Merkle trees of Red Stuff, where one call hashes many equal-length messages so that the
// implementation can run several of them at once in SIMD lanes.
#ifndef WALRUS_CBLAKE2B_H
#define WALRUS_CBLAKE2B_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Incremental BLAKE2b state. Fields are private to the implementation.
typedef struct {
    uint64_t h[8];
    uint64_t t[2];
    uint8_t buffer[128];
    size_t buffered;
    size_t outlen;
} walrus_blake2b_state;

/// Starts a hash with an output of `outlen` bytes (1...64) and an optional key of `keylen` bytes
/// (0...64). Returns 0 on success and -1 when a length is out of range.
int walrus_blake2b_init(walrus_blake2b_state *state, size_t outlen, const void *key, size_t keylen);

/// Absorbs `len` bytes.
void walrus_blake2b_update(walrus_blake2b_state *state, const void *data, size_t len);

/// Writes the digest (`outlen` bytes) to `out`. The state must not be used afterwards.
void walrus_blake2b_final(walrus_blake2b_state *state, void *out);

/// One-shot BLAKE2b. Returns 0 on success and -1 when a length is out of range.
int walrus_blake2b(void *out, size_t outlen, const void *key, size_t keylen, const void *data, size_t len);

/// BLAKE2b-256 of the byte `prefix` followed by `len` bytes of `data` (a Merkle leaf or node).
void walrus_blake2b256_prefixed(uint8_t out[32], uint8_t prefix, const void *data, size_t len);

/// BLAKE2b-256 of `prefix ‖ message_i` for `count` messages of `len` bytes each, message i starting
/// at `base + i * stride`. Digest i goes to `out + i * out_stride`.
void walrus_blake2b256_prefixed_batch(uint8_t *out, size_t out_stride, uint8_t prefix, const uint8_t *base,
                                      size_t stride, size_t len, size_t count);

/// The same over two runs of messages hashed as one batch: `count1` messages from `base1` (stride
/// `stride1`), then `count2` from `base2` (stride `stride2`); digest i goes to `out + i * out_stride`.
/// A row or column of an expansion lies in two buffers (source and repair symbols): one batch
/// fills every SIMD lane but the last group's, where two batches would leave two partial groups.
void walrus_blake2b256_prefixed_batch2(uint8_t *out, size_t out_stride, uint8_t prefix, size_t len, const uint8_t *base1,
                                       size_t stride1, size_t count1, const uint8_t *base2, size_t stride2, size_t count2);

/// BLAKE2b-256 of `prefix ‖ message_i` for many messages of one length fed piece by piece: the
/// messages of a code's expansion whose symbols come out one column tile at a time. The widest
/// kernel in use when the stream is reset compresses the messages side by side.
typedef struct walrus_blake2b_stream walrus_blake2b_stream;

/// A stream for up to `capacity` messages; NULL when out of memory.
walrus_blake2b_stream *walrus_blake2b_stream_new(size_t capacity);
void walrus_blake2b_stream_free(walrus_blake2b_stream *stream);

/// Starts `count` (at most the capacity) messages, each `prefix` then the bytes absorbed.
void walrus_blake2b_stream_reset(walrus_blake2b_stream *stream, size_t count, uint8_t prefix);

/// Appends `bytes` bytes to every message: the first `count1` messages take theirs from
/// `base1 + i * stride1`, the others from `base2 + (i - count1) * stride2`. Every message gets
/// the same number of bytes.
void walrus_blake2b_stream_absorb(walrus_blake2b_stream *stream, size_t bytes, const uint8_t *base1, size_t stride1,
                                  size_t count1, const uint8_t *base2, size_t stride2);

/// Writes digest i to `out + i * out_stride`; the stream must be reset before it is used again.
void walrus_blake2b_stream_finish(walrus_blake2b_stream *stream, uint8_t *out, size_t out_stride);

/// The Merkle root (Walrus's tree: inner = H(0x01 ‖ left ‖ right), an odd level is padded with an
/// all-zero Empty node that is not hashed) over `count` 32-byte leaf hashes. `scratch` holds
/// `32 * (count + 1)` bytes. Zero leaves give the Empty root (32 zero bytes).
void walrus_merkle_root(uint8_t out[32], const uint8_t *leaf_hashes, size_t count, uint8_t *scratch);

/// Merkle inner nodes: digest i = BLAKE2b-256(0x01 ‖ nodes[2i] ‖ nodes[2i+1]) for i < count, where
/// `nodes` holds 2·count consecutive 32-byte digests. `out` may alias `nodes`.
void walrus_blake2b256_inner_batch(uint8_t *out, const uint8_t *nodes, size_t count);

/// Forces the portable kernel (1) or the best available (0), for tests that compare the two.
void walrus_blake2b_force_portable(int force);

/// Uses at most kernel level `max_level` (0 portable, 1 AVX2 four lanes, 2 AVX-512 eight lanes), or the
/// best this CPU has if that is lower; returns the level now in use. For tests and benchmarks that
/// compare kernels.
int walrus_blake2b_limit_kernel(int max_level);

/// The name of the kernel chosen for this CPU ("portable", "avx2", ...), for benchmarks and logs.
const char *walrus_blake2b_kernel_name(void);

#ifdef __cplusplus
}
#endif

#endif
