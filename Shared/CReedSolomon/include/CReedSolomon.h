// Reed-Solomon erasure coding over GF(2^16) in the additive-FFT construction of Lin, Chung and Han
// (2014) as laid out by Leopard-RS: field polynomial 0x1002D, Cantor basis, per-chunk skew factors,
// high-rate and low-rate encoders. Output is bit-identical to reed-solomon-simd 3.x, which Walrus
// uses, so blob IDs match the reference.
//
// Data layout. A "shard" here is a whole number of 64-byte blocks; in each block bytes 0..31 are the
// low bytes and bytes 32..63 the high bytes of 32 field elements. The code works on each element
// position independently, so callers may pack several independent symbols into one shard (see
// walrus_rs_pack_symbol), and run many codes in one call.
#ifndef WALRUS_CREEDSOLOMON_H
#define WALRUS_CREEDSOLOMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Largest original or recovery count per code.
#define WALRUS_RS_MAX_SHARDS 32768

/// Builds the field tables once (thread-safe; every entry point calls it too).
void walrus_rs_init(void);

/// The kernel chosen for this CPU: "portable", "avx2", "avx512" or "avx512gfni".
const char *walrus_rs_kernel_name(void);

/// Forces the portable kernel (1) or the best available (0). For tests that compare the two.
void walrus_rs_force_portable(int force);

/// Uses at most kernel level `max_level` (0 portable, 1 AVX2, 2 AVX-512, 3 AVX-512 with GFNI), or the best this CPU has if
/// that is lower; returns the level now in use. For tests and benchmarks that compare kernels.
int walrus_rs_limit_kernel(int max_level);

/// Whether (k, m) uses the high-rate construction (reed-solomon-simd's DefaultRate rule).
int walrus_rs_is_high_rate(size_t original_count, size_t recovery_count);

/// Number of work shards `walrus_rs_encode` needs. 0 if the counts are unsupported.
size_t walrus_rs_encode_work_count(size_t original_count, size_t recovery_count);

/// Number of work shards `walrus_rs_decode` needs. 0 if the counts are unsupported.
size_t walrus_rs_decode_work_count(size_t original_count, size_t recovery_count);

/// Encodes `original_count` shards of `shard_bytes` (a multiple of 64) into `recovery_count`
/// recovery shards. `work` holds `walrus_rs_encode_work_count(...) * shard_bytes` bytes, 64-byte
/// aligned. Recovery shard i is written to `recovery[i]`. Returns 0, or -1 for unsupported counts.
int walrus_rs_encode(size_t original_count, size_t recovery_count, size_t shard_bytes,
                     const uint8_t *const *originals, uint8_t *const *recovery, uint8_t *work);

/// The same encoding in place: the originals are already in work shards [0, original_count) and
/// the recovery shards are left in work shards [0, recovery_count). Saves two copies per call.
int walrus_rs_encode_in_place(size_t original_count, size_t recovery_count, size_t shard_bytes, uint8_t *work);

/// The same encoding with original i read at `originals + i * stride` (each a whole shard in the
/// block layout) by the first pass of the transform instead of being copied into the work shards
/// first; `originals` NULL means they are in place. Recovery shards are left in work shards
/// [0, recovery_count). The originals are not modified.
int walrus_rs_encode_from(size_t original_count, size_t recovery_count, size_t shard_bytes, const uint8_t *originals,
                          size_t stride, uint8_t *work);

/// Restores missing originals from any `original_count` received shards. `originals[i]` and
/// `recovery[i]` are NULL for missing shards. For each missing original i, the restored shard is
/// written to `restored[i]` (entries for present originals are ignored). `work` holds
/// `walrus_rs_decode_work_count(...) * shard_bytes` bytes. Returns 0, -1 for unsupported counts,
/// -2 when fewer than `original_count` shards are present.
int walrus_rs_decode(size_t original_count, size_t recovery_count, size_t shard_bytes,
                     const uint8_t *const *originals, const uint8_t *const *recovery,
                     uint8_t *const *restored, uint8_t *work);

/// A decoding plan for one pattern of present shards: the erasure locator, computed once and
/// reusable (read-only, so from several threads at once) for any number of shard stripes.
typedef struct walrus_rs_decoder walrus_rs_decoder;

/// Plans decoding with `original_present[i]` / `recovery_present[i]` non-zero for present shards.
/// Returns NULL for unsupported counts or fewer than `original_count` present shards.
walrus_rs_decoder *walrus_rs_decoder_new(size_t original_count, size_t recovery_count,
                                         const uint8_t *original_present, const uint8_t *recovery_present);

/// Work shards `walrus_rs_decoder_run` needs.
size_t walrus_rs_decoder_work_count(const walrus_rs_decoder *decoder);

/// Runs the plan on one stripe; arguments as for walrus_rs_decode.
void walrus_rs_decoder_run(const walrus_rs_decoder *decoder, size_t shard_bytes, const uint8_t *const *originals,
                           const uint8_t *const *recovery, uint8_t *const *restored, uint8_t *work);

void walrus_rs_decoder_free(walrus_rs_decoder *decoder);

/// Copies one symbol of `symbol_bytes` (even) in the reference's shard byte layout into the
/// internal layout: its full 64-byte blocks to `dst`, and its tail of t = symbol_bytes % 64 bytes
/// (t/2 low bytes, then t/2 high bytes) to element lanes [lane, lane + t/2) of the block that
/// follows. `lane + t/2` must not exceed 32.
void walrus_rs_pack_symbol(uint8_t *dst, size_t lane, const uint8_t *symbol, size_t symbol_bytes);

/// The inverse of walrus_rs_pack_symbol.
void walrus_rs_unpack_symbol(uint8_t *symbol, const uint8_t *src, size_t lane, size_t symbol_bytes);

/// Packs `shards × instances` symbols of `symbol_bytes` into work shards of `shard_bytes`: symbol
/// (i, b) is read from `src + i * shard_stride + b * instance_stride` and placed in shard i
/// (`dst + i * shard_bytes`) at instance slot b. Slots: for symbols of 64 bytes or more, slot b
/// starts at byte b * ceil(symbol_bytes / 64) * 64; smaller symbols share blocks, floor(64 /
/// symbol_bytes) per block, at lanes (b % per_block) * symbol_bytes / 2 of block b / per_block.
/// Unused bytes of the shards are not touched (zero them first).
void walrus_rs_pack_stripe(uint8_t *dst, size_t shard_bytes, size_t symbol_bytes, const uint8_t *src,
                           size_t shard_stride, size_t instance_stride, size_t shards, size_t instances);

/// The inverse of walrus_rs_pack_stripe: symbol (i, b) of the work shards is written to
/// `dst + i * shard_stride + b * instance_stride`.
void walrus_rs_unpack_stripe(uint8_t *dst, size_t shard_stride, size_t instance_stride, const uint8_t *src,
                             size_t shard_bytes, size_t symbol_bytes, size_t shards, size_t instances);

/// Bytes of work shard (a multiple of 64) needed for `instances` symbols of `symbol_bytes`.
size_t walrus_rs_stripe_shard_bytes(size_t symbol_bytes, size_t instances);

/// Copies `ni × nb` blocks of `len` bytes: block (i, b) from `src + i*src_i + b*src_b` to
/// `dst + i*dst_i + b*dst_b` (gathering sliver columns out of the message matrix).
void walrus_copy_strided(uint8_t *dst, size_t dst_i, size_t dst_b, const uint8_t *src, size_t src_i, size_t src_b,
                         size_t len, size_t ni, size_t nb);

/// Field multiplication in the Cantor-basis representation, for tests: a · b.
uint16_t walrus_gf16_mul(uint16_t a, uint16_t b);

#ifdef __cplusplus
}
#endif

#endif
