// The additive FFT over shards and the Leopard-style systematic encoders and erasure decoder.
//
// Positions: the high-rate code places the recovery shards at positions [0, M) and the originals
// in chunks of M from position M on (M = next power of two of the recovery count); the low-rate code
// places the originals at [0, K) and the recovery shards in chunks of K from K on. A chunk at
// position p is transformed with the skew factors of the coset at p ("skew delta").
#include "CReedSolomon.h"
#include "gf16.h"

#include <stdlib.h>
#include <string.h>

void walrus_gf_fwht(uint16_t *data, size_t truncated);

static size_t next_pow2(size_t x) {
    size_t p = 1;
    while (p < x) p <<= 1;
    return p;
}

#define SHARD(work, i) ((work) + (size_t)(i) * shard_bytes)

/// One IFFT butterfly, or only the XOR when the factor is zero.
static inline void ifft_pair(const walrus_gf_kernels *k, uint8_t *x, uint8_t *y, uint16_t log_m, size_t bytes) {
    if (log_m == GF_MODULUS) k->xor_into(y, x, bytes);
    else k->ifft_butterfly(x, y, log_m, bytes);
}

static inline void fft_pair(const walrus_gf_kernels *k, uint8_t *x, uint8_t *y, uint16_t log_m, size_t bytes) {
    if (log_m == GF_MODULUS) k->xor_into(y, x, bytes);
    else k->fft_butterfly(x, y, log_m, bytes);
}

/// Where a transform's first pass reads the shards of its span: shard j < `count` at `base + j *
/// stride` (the caller's originals, or another chunk of the work shards), the others from the span
/// itself. Reading them there in the first pass saves copying them into the span beforehand.
typedef struct {
    const uint8_t *base;
    size_t stride, count;
} span_source;

static inline int reads_out_of_place(const walrus_gf_kernels *k) {
    return k->ifft_butterfly2_from && k->fft_butterfly2_from && k->ifft_butterfly_from && k->fft_butterfly_from;
}

/// The first pass's source of shard `pos + j`, whose work shard is `self`.
static inline const uint8_t *source_of(const span_source *from, size_t j, const uint8_t *self) {
    return j < from->count ? from->base + j * from->stride : self;
}

/// Copies the sources into the span, for kernels without out-of-place butterflies and for spans
/// too small to have a pass.
static void gather(uint8_t *work, size_t shard_bytes, size_t pos, const span_source *from) {
    for (size_t j = 0; j < from->count; j++) {
        const uint8_t *src = from->base + j * from->stride;
        if (src != SHARD(work, pos + j)) memcpy(SHARD(work, pos + j), src, shard_bytes);
    }
}

/// The shards j, j + d, j + 2d and j + 3d of a two-layer block (`x`), and where the pass reads
/// them (`s`: through `from` in a first pass, else the shards themselves).
typedef struct {
    uint8_t *x[4];
    const uint8_t *s[4];
} quad;

static inline quad quad_at(uint8_t *work, size_t shard_bytes, size_t pos, size_t j, size_t d, const span_source *from) {
    quad b;
    for (size_t i = 0; i < 4; i++) {
        b.x[i] = SHARD(work, pos + j + i * d);
        b.s[i] = from ? source_of(from, j + i * d, b.x[i]) : b.x[i];
    }
    return b;
}

/// One layer of butterflies, pairs d apart in the blocks of 2d shards below `truncated`: FFT
/// butterflies when `forward`, IFFT ones otherwise. With `from` (a transform's first pass), the
/// shards are read there.
static void layer(const walrus_gf_kernels *k, uint8_t *work, size_t shard_bytes, size_t pos, size_t d, size_t truncated,
                  size_t skew_delta, const span_source *from, int forward) {
    for (size_t r = 0; r < truncated; r += 2 * d) {
        uint16_t log_m = walrus_gf_skew[r + d + skew_delta - 1];
        for (size_t j = r; j < r + d; j++) {
            uint8_t *x = SHARD(work, pos + j), *y = SHARD(work, pos + j + d);
            if (from) {
                const uint8_t *sx = source_of(from, j, x), *sy = source_of(from, j + d, y);
                if (forward) k->fft_butterfly_from(x, y, sx, sy, log_m, shard_bytes);
                else k->ifft_butterfly_from(x, y, sx, sy, log_m, shard_bytes);
            } else if (forward) {
                fft_pair(k, x, y, log_m, shard_bytes);
            } else {
                ifft_pair(k, x, y, log_m, shard_bytes);
            }
        }
    }
}

/// Inverse FFT (decimation in time) of `size` shards at `pos`, of which only the first
/// `truncated` may be non-zero. Kernels with two-layer butterflies take the layers two at a time
/// (layers d and 2d over blocks of 4d shards), which halves the passes over the shards. With
/// `from`, the first pass reads the shards there instead of from the span.
static void ifft(const walrus_gf_kernels *k, uint8_t *work, size_t shard_bytes, size_t pos, size_t size,
                 size_t truncated, size_t skew_delta, const span_source *from) {
    if (from && (!reads_out_of_place(k) || size < 2)) {
        gather(work, shard_bytes, pos, from);
        from = NULL;
    }
    size_t d = 1;
    if (k->ifft_butterfly2_from) {
        for (; 4 * d <= size; d <<= 2) {
            for (size_t r = 0; r < truncated; r += 4 * d) {
                uint16_t log_a = walrus_gf_skew[r + d + skew_delta - 1];
                uint16_t log_b = walrus_gf_skew[r + 3 * d + skew_delta - 1];
                uint16_t log_c = walrus_gf_skew[r + 2 * d + skew_delta - 1];
                int upper = r + 2 * d < truncated;  // Whether layer d reaches the block's upper half.
                for (size_t j = r; j < r + d; j++) {
                    quad b = quad_at(work, shard_bytes, pos, j, d, from);
                    if (upper) {
                        k->ifft_butterfly2_from(b.x[0], b.x[1], b.x[2], b.x[3], b.s[0], b.s[1], b.s[2], b.s[3], log_a, log_b,
                                                log_c, shard_bytes);
                    } else {
                        // The upper half is zero and lies in the span already.
                        k->ifft_butterfly_from(b.x[0], b.x[1], b.s[0], b.s[1], log_a, shard_bytes);
                        ifft_pair(k, b.x[0], b.x[2], log_c, shard_bytes);
                        ifft_pair(k, b.x[1], b.x[3], log_c, shard_bytes);
                    }
                }
            }
            from = NULL;
        }
    }
    for (; d < size; d <<= 1) {
        layer(k, work, shard_bytes, pos, d, truncated, skew_delta, from, 0);
        from = NULL;
    }
}

/// Forward FFT of `size` shards at `pos`; only the first `truncated` outputs are computed. Layers
/// 2d and d go together when the kernel can, after a single top layer if their count is odd. With
/// `from`, the first pass reads the shards there instead of from the span.
static void fft(const walrus_gf_kernels *k, uint8_t *work, size_t shard_bytes, size_t pos, size_t size,
                size_t truncated, size_t skew_delta, const span_source *from) {
    if (from && (!reads_out_of_place(k) || size < 2)) {
        gather(work, shard_bytes, pos, from);
        from = NULL;
    }
    size_t layers = 0;
    while (((size_t)1 << layers) < size) layers++;
    size_t d = size >> 1;
    if (k->fft_butterfly2_from && layers % 2 == 1) {
        // The single layer first, so that the rest pair up down to d = 1.
        layer(k, work, shard_bytes, pos, d, truncated, skew_delta, from, 1);
        d >>= 1;
        from = NULL;
    }
    if (k->fft_butterfly2_from) {
        for (; d >= 2; d >>= 2) {
            size_t q = d >> 1;  // Layers d (= 2q) and q over blocks of 4q shards.
            for (size_t r = 0; r < truncated; r += 4 * q) {
                uint16_t log_c = walrus_gf_skew[r + 2 * q + skew_delta - 1];
                uint16_t log_a = walrus_gf_skew[r + q + skew_delta - 1];
                uint16_t log_b = walrus_gf_skew[r + 3 * q + skew_delta - 1];
                int upper = r + 2 * q < truncated;
                for (size_t j = r; j < r + q; j++) {
                    quad b = quad_at(work, shard_bytes, pos, j, q, from);
                    if (upper) {
                        k->fft_butterfly2_from(b.x[0], b.x[1], b.x[2], b.x[3], b.s[0], b.s[1], b.s[2], b.s[3], log_a, log_b,
                                               log_c, shard_bytes);
                    } else {
                        // Only the lower half's outputs are wanted.
                        k->fft_butterfly_from(b.x[0], b.x[2], b.s[0], b.s[2], log_c, shard_bytes);
                        k->fft_butterfly_from(b.x[1], b.x[3], b.s[1], b.s[3], log_c, shard_bytes);
                        fft_pair(k, b.x[0], b.x[1], log_a, shard_bytes);
                    }
                }
            }
            from = NULL;
        }
    }
    for (; d > 0; d >>= 1) {
        layer(k, work, shard_bytes, pos, d, truncated, skew_delta, from, 1);
        from = NULL;
    }
}

/// Adds the IFFT of a chunk at `start` whose `count` originals fill at most half of it (the last
/// chunk of a high-rate code, such as 3 of 64 at 67 + 33) to the first chunk's coefficients at
/// `acc`, without transforming the whole chunk. Only the layers below T = next_pow2(count) mix
/// values; above them every butterfly meets a zero upper half, so it copies its input up and
/// scales it by (1 + c) down. Output p of the chunk is therefore output p mod T of the T-shard
/// transform times a product of such factors fixed by p's bits from T up, and is added with one
/// multiply-add per shard, instead of a zeroed chunk, log2(chunk / T) more layers over it and an
/// XOR per shard.
static void ifft_sparse_add(const walrus_gf_kernels *k, uint8_t *work, size_t shard_bytes, size_t start, size_t chunk,
                            size_t count, size_t skew_delta, const span_source *from, uint8_t *acc) {
    size_t t = next_pow2(count);
    ifft(k, work, shard_bytes, start, t, count, skew_delta, from);
    const uint16_t one = walrus_gf_exp[0];
    for (size_t q = 0; q < chunk / t; q++) {
        uint32_t log_factor = 0;
        int zero = 0;
        for (size_t d = t; d < chunk; d <<= 1) {
            if ((q * t) & d) continue;  // Upper half at layer d: a copy.
            uint16_t log_c = walrus_gf_skew[d + skew_delta - 1];
            uint16_t factor = one ^ (log_c == GF_MODULUS ? 0 : walrus_gf_exp[log_c]);
            if (factor == 0) {
                zero = 1;
                break;
            }
            log_factor = (log_factor + walrus_gf_log[factor]) % GF_MODULUS;
        }
        if (zero) continue;
        for (size_t i = 0; i < t; i++) {
            uint8_t *dst = SHARD(acc, q * t + i);
            const uint8_t *src = SHARD(work, start + i);
            if (log_factor == 0) k->xor_into(dst, src, shard_bytes);
            else k->mul_add(dst, src, (uint16_t)log_factor, shard_bytes);
        }
    }
}

static int counts_supported(size_t k, size_t m) {
    return k > 0 && m > 0 && k <= WALRUS_RS_MAX_SHARDS && m <= WALRUS_RS_MAX_SHARDS;
}

int walrus_rs_is_high_rate(size_t k, size_t m) {
    size_t kk = next_pow2(k), mm = next_pow2(m);
    if (kk < mm) return 0;
    if (kk > mm) return 1;
    return k <= m;
}

size_t walrus_rs_encode_work_count(size_t k, size_t m) {
    if (!counts_supported(k, m)) return 0;
    if (walrus_rs_is_high_rate(k, m)) {
        size_t chunk = next_pow2(m);
        return (k + chunk - 1) / chunk * chunk;
    }
    size_t chunk = next_pow2(k);
    return (m + chunk - 1) / chunk * chunk;
}

int walrus_rs_encode(size_t k, size_t m, size_t shard_bytes, const uint8_t *const *originals,
                     uint8_t *const *recovery, uint8_t *work) {
    if (!counts_supported(k, m) || shard_bytes == 0 || shard_bytes % 64 != 0) return -1;
    for (size_t i = 0; i < k; i++) memcpy(SHARD(work, i), originals[i], shard_bytes);
    walrus_rs_encode_in_place(k, m, shard_bytes, work);
    for (size_t i = 0; i < m; i++) memcpy(recovery[i], SHARD(work, i), shard_bytes);
    return 0;
}

int walrus_rs_encode_in_place(size_t k, size_t m, size_t shard_bytes, uint8_t *work) {
    return walrus_rs_encode_from(k, m, shard_bytes, NULL, 0, work);
}

int walrus_rs_encode_from(size_t k, size_t m, size_t shard_bytes, const uint8_t *originals, size_t stride, uint8_t *work) {
    if (!counts_supported(k, m) || shard_bytes == 0 || shard_bytes % 64 != 0) return -1;
    walrus_rs_init();
    const walrus_gf_kernels *kern = walrus_gf_active();
    size_t work_count = walrus_rs_encode_work_count(k, m);
    if (walrus_rs_is_high_rate(k, m)) {
        size_t chunk = next_pow2(m);
        // A last chunk at most half full is added in closed form (ifft_sparse_add), which reads
        // only its first next_pow2(count) shards; everything else that is read is zeroed here.
        size_t last = k > chunk ? (k - 1) / chunk * chunk : 0, last_count = k - last;
        int sparse = last > 0 && kern->mul_add && 2 * last_count <= chunk;
        size_t zeroed_end = sparse ? last + next_pow2(last_count) : work_count;
        memset(SHARD(work, k), 0, (zeroed_end - k) * shard_bytes);
        size_t first = k < chunk ? k : chunk;
        span_source from = {originals, stride, first};
        ifft(kern, work, shard_bytes, 0, chunk, first, chunk, originals ? &from : NULL);
        for (size_t start = chunk; start < k; start += chunk) {
            size_t count = k - start < chunk ? k - start : chunk;
            span_source rest = {originals ? originals + start * stride : NULL, stride, count};
            if (sparse && start == last) {
                ifft_sparse_add(kern, work, shard_bytes, start, chunk, count, start + chunk, originals ? &rest : NULL, work);
                continue;
            }
            ifft(kern, work, shard_bytes, start, chunk, count, start + chunk, originals ? &rest : NULL);
            for (size_t i = 0; i < chunk; i++) kern->xor_into(SHARD(work, i), SHARD(work, start + i), shard_bytes);
        }
        fft(kern, work, shard_bytes, 0, chunk, m, 0, NULL);
    } else {
        size_t chunk = next_pow2(k);
        memset(SHARD(work, k), 0, (chunk - k) * shard_bytes);
        span_source from = {originals, stride, k};
        ifft(kern, work, shard_bytes, 0, chunk, k, 0, originals ? &from : NULL);
        // Every chunk's FFT starts from the first chunk's coefficients: the later chunks read them
        // in their first pass, then the first chunk is transformed in place.
        span_source coefficients = {work, shard_bytes, chunk};
        for (size_t start = chunk; start < m; start += chunk) {
            size_t count = m - start < chunk ? m - start : chunk;
            fft(kern, work, shard_bytes, start, chunk, count, start + chunk, &coefficients);
        }
        fft(kern, work, shard_bytes, 0, chunk, m < chunk ? m : chunk, chunk, NULL);
    }
    return 0;
}

struct walrus_rs_decoder {
    size_t k, m;
    int high_rate;
    size_t original_base, recovery_base, end, work_count;
    uint8_t *original_present, *recovery_present;
    uint16_t erasures[GF_ORDER];
};

walrus_rs_decoder *walrus_rs_decoder_new(size_t k, size_t m, const uint8_t *original_present,
                                         const uint8_t *recovery_present) {
    if (!counts_supported(k, m)) return NULL;
    size_t present = 0;
    for (size_t i = 0; i < k; i++) present += original_present[i] != 0;
    for (size_t i = 0; i < m; i++) present += recovery_present[i] != 0;
    if (present < k) return NULL;
    walrus_rs_init();
    walrus_rs_decoder *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->k = k;
    d->m = m;
    d->high_rate = walrus_rs_is_high_rate(k, m);
    d->original_present = malloc(k);
    d->recovery_present = malloc(m);
    memcpy(d->original_present, original_present, k);
    memcpy(d->recovery_present, recovery_present, m);
    // Erasure locations: positions whose value is unknown.
    if (d->high_rate) {
        size_t chunk = next_pow2(m);
        d->recovery_base = 0;
        d->original_base = chunk;
        d->end = chunk + k;
        for (size_t i = m; i < chunk; i++) d->erasures[i] = 1;  // Recovery positions never sent.
    } else {
        size_t chunk = next_pow2(k);
        d->original_base = 0;
        d->recovery_base = chunk;
        d->end = chunk + m;
        for (size_t i = d->end; i < GF_ORDER; i++) d->erasures[i] = 1;  // Beyond the code.
    }
    d->work_count = next_pow2(d->end);
    for (size_t i = 0; i < k; i++) d->erasures[d->original_base + i] = !original_present[i];
    for (size_t i = 0; i < m; i++) d->erasures[d->recovery_base + i] = !recovery_present[i];
    // Logarithms of the erasure locator polynomial's values at every position (its formal
    // derivative at the erased ones), through two Walsh transforms.
    walrus_gf_fwht(d->erasures, d->high_rate ? d->end : GF_ORDER);
    for (size_t i = 0; i < GF_ORDER; i++) {
        uint32_t product = (uint32_t)d->erasures[i] * walrus_gf_log_walsh[i];
        d->erasures[i] = (uint16_t)(product % GF_MODULUS);
    }
    walrus_gf_fwht(d->erasures, GF_ORDER);
    return d;
}

size_t walrus_rs_decoder_work_count(const walrus_rs_decoder *d) { return d->work_count; }

void walrus_rs_decoder_free(walrus_rs_decoder *d) {
    if (!d) return;
    free(d->original_present);
    free(d->recovery_present);
    free(d);
}

void walrus_rs_decoder_run(const walrus_rs_decoder *d, size_t shard_bytes, const uint8_t *const *originals,
                           const uint8_t *const *recovery, uint8_t *const *restored, uint8_t *work) {
    const walrus_gf_kernels *kern = walrus_gf_active();
    memset(work, 0, d->work_count * shard_bytes);
    for (size_t i = 0; i < d->k; i++) {
        if (!d->original_present[i]) continue;
        size_t p = d->original_base + i;
        memcpy(SHARD(work, p), originals[i], shard_bytes);
        kern->mul(SHARD(work, p), d->erasures[p], shard_bytes);
    }
    for (size_t i = 0; i < d->m; i++) {
        if (!d->recovery_present[i]) continue;
        size_t p = d->recovery_base + i;
        memcpy(SHARD(work, p), recovery[i], shard_bytes);
        kern->mul(SHARD(work, p), d->erasures[p], shard_bytes);
    }
    ifft(kern, work, shard_bytes, 0, d->work_count, d->end, 0, NULL);
    // Formal derivative in the novel polynomial basis.
    for (size_t i = 1; i < d->work_count; i++) {
        size_t width = i & (~i + 1);
        for (size_t j = 0; j < width; j++) kern->xor_into(SHARD(work, i - width + j), SHARD(work, i + j), shard_bytes);
    }
    fft(kern, work, shard_bytes, 0, d->work_count, d->end, 0, NULL);
    for (size_t i = 0; i < d->k; i++) {
        if (d->original_present[i]) continue;
        size_t p = d->original_base + i;
        kern->mul(SHARD(work, p), (uint16_t)(GF_MODULUS - d->erasures[p]), shard_bytes);
        memcpy(restored[i], SHARD(work, p), shard_bytes);
    }
}

size_t walrus_rs_decode_work_count(size_t k, size_t m) {
    if (!counts_supported(k, m)) return 0;
    size_t end = walrus_rs_is_high_rate(k, m) ? next_pow2(m) + k : next_pow2(k) + m;
    return next_pow2(end);
}

int walrus_rs_decode(size_t k, size_t m, size_t shard_bytes, const uint8_t *const *originals,
                     const uint8_t *const *recovery, uint8_t *const *restored, uint8_t *work) {
    if (!counts_supported(k, m) || shard_bytes == 0 || shard_bytes % 64 != 0) return -1;
    uint8_t *op = malloc(k), *rp = malloc(m);
    for (size_t i = 0; i < k; i++) op[i] = originals[i] != NULL;
    for (size_t i = 0; i < m; i++) rp[i] = recovery[i] != NULL;
    walrus_rs_decoder *d = walrus_rs_decoder_new(k, m, op, rp);
    free(op);
    free(rp);
    if (!d) return -2;
    walrus_rs_decoder_run(d, shard_bytes, originals, recovery, restored, work);
    walrus_rs_decoder_free(d);
    return 0;
}

void walrus_rs_pack_symbol(uint8_t *dst, size_t lane, const uint8_t *symbol, size_t symbol_bytes) {
    size_t full = symbol_bytes / 64 * 64;
    memcpy(dst, symbol, full);
    size_t half = (symbol_bytes - full) / 2;
    if (half == 0) return;
    memcpy(dst + full + lane, symbol + full, half);
    memcpy(dst + full + 32 + lane, symbol + full + half, half);
}

void walrus_rs_unpack_symbol(uint8_t *symbol, const uint8_t *src, size_t lane, size_t symbol_bytes) {
    size_t full = symbol_bytes / 64 * 64;
    memcpy(symbol, src, full);
    size_t half = (symbol_bytes - full) / 2;
    if (half == 0) return;
    memcpy(symbol + full, src + full + lane, half);
    memcpy(symbol + full + half, src + full + 32 + lane, half);
}

static void slot_of(size_t symbol_bytes, size_t b, size_t *offset, size_t *lane) {
    if (symbol_bytes >= 64) {
        *offset = b * ((symbol_bytes + 63) / 64 * 64);
        *lane = 0;
    } else {
        size_t per_block = 64 / symbol_bytes;
        *offset = b / per_block * 64;
        *lane = b % per_block * (symbol_bytes / 2);
    }
}

size_t walrus_rs_stripe_shard_bytes(size_t symbol_bytes, size_t instances) {
    if (symbol_bytes >= 64) return instances * ((symbol_bytes + 63) / 64 * 64);
    size_t per_block = 64 / symbol_bytes;
    return (instances + per_block - 1) / per_block * 64;
}

void walrus_rs_pack_stripe(uint8_t *dst, size_t shard_bytes, size_t symbol_bytes, const uint8_t *src,
                           size_t shard_stride, size_t instance_stride, size_t shards, size_t instances) {
    for (size_t i = 0; i < shards; i++) {
        for (size_t b = 0; b < instances; b++) {
            size_t offset, lane;
            slot_of(symbol_bytes, b, &offset, &lane);
            walrus_rs_pack_symbol(dst + i * shard_bytes + offset, lane, src + i * shard_stride + b * instance_stride, symbol_bytes);
        }
    }
}

void walrus_rs_unpack_stripe(uint8_t *dst, size_t shard_stride, size_t instance_stride, const uint8_t *src,
                             size_t shard_bytes, size_t symbol_bytes, size_t shards, size_t instances) {
    for (size_t i = 0; i < shards; i++) {
        for (size_t b = 0; b < instances; b++) {
            size_t offset, lane;
            slot_of(symbol_bytes, b, &offset, &lane);
            walrus_rs_unpack_symbol(dst + i * shard_stride + b * instance_stride, src + i * shard_bytes + offset, lane, symbol_bytes);
        }
    }
}

void walrus_copy_strided(uint8_t *dst, size_t dst_i, size_t dst_b, const uint8_t *src, size_t src_i, size_t src_b,
                         size_t len, size_t ni, size_t nb) {
    for (size_t i = 0; i < ni; i++)
        for (size_t b = 0; b < nb; b++) memcpy(dst + i * dst_i + b * dst_b, src + i * src_i + b * src_b, len);
}
