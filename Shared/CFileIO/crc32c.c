// CRC-32C with the reflected Castagnoli polynomial 0x82F63B78. The hardware path runs three
// independent crc32 streams over thirds of each 24 KiB block (the instruction has a latency of
// three cycles and a throughput of one), then joins them by shifting the first two over the
// lengths that follow them: a shift by a fixed length is a linear map, kept as a table per byte.
#define _GNU_SOURCE
#include "walrus_fileio.h"
#include <fcntl.h>
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static int table_ready;

static void make_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (POLY & (0u - (c & 1)));
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

static void ensure_table(void) {
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) make_table();
}

static uint32_t portable(uint32_t c, const uint8_t *p, size_t len) {
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= c;
        c = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^ table[4][(w >> 24) & 0xff] ^
            table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^ table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
    return c;
}

uint32_t walrus_crc32c_portable(uint32_t crc, const void *data, size_t len) {
    ensure_table();
    return ~portable(~crc, data, len);
}

#if defined(__x86_64__)
#include <nmmintrin.h>

// Each stream covers LANE bytes of a 3 * LANE block.
#define LANE 8192

// shift[k][b]: the CRC state contribution of byte value b in position k of a state, carried over
// LANE zero bytes; built once from the table path.
static uint32_t shift_lane[4][256];
static int shift_ready;

static uint32_t zeros_crc_state(uint32_t state, size_t n) {
    // Advances a raw (non-inverted) CRC state over n zero bytes.
    static const uint8_t zero[256];
    while (n >= sizeof zero) { state = portable(state, zero, sizeof zero); n -= sizeof zero; }
    return portable(state, zero, n);
}

static void make_shift(void) {
    ensure_table();
    for (int k = 0; k < 4; k++)
        for (uint32_t b = 0; b < 256; b++) shift_lane[k][b] = zeros_crc_state(b << (8 * k), LANE);
    __atomic_store_n(&shift_ready, 1, __ATOMIC_RELEASE);
}

static inline uint32_t shift(uint32_t s) {
    return shift_lane[0][s & 0xff] ^ shift_lane[1][(s >> 8) & 0xff] ^ shift_lane[2][(s >> 16) & 0xff] ^ shift_lane[3][s >> 24];
}

__attribute__((target("sse4.2")))
static uint32_t hardware(uint32_t c, const uint8_t *p, size_t len) {
    uint64_t c0 = c;
    while (len >= 3 * LANE) {
        uint64_t c1 = 0, c2 = 0;
        const uint8_t *p1 = p + LANE, *p2 = p + 2 * LANE;
        for (size_t i = 0; i < LANE; i += 8) {
            uint64_t w0, w1, w2;
            memcpy(&w0, p + i, 8);
            memcpy(&w1, p1 + i, 8);
            memcpy(&w2, p2 + i, 8);
            c0 = _mm_crc32_u64(c0, w0);
            c1 = _mm_crc32_u64(c1, w1);
            c2 = _mm_crc32_u64(c2, w2);
        }
        // CRC is linear: state(A ‖ B) = shift_|B|(state(A)) ^ state_from_zero(B).
        c0 = shift(shift((uint32_t)c0) ^ (uint32_t)c1) ^ (uint32_t)c2;
        p += 3 * LANE;
        len -= 3 * LANE;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c0 = _mm_crc32_u64(c0, w);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c0;
    while (len--) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}

uint32_t walrus_crc32c(uint32_t crc, const void *data, size_t len) {
    static int has_sse42 = -1;
    if (has_sse42 < 0) has_sse42 = __builtin_cpu_supports("sse4.2");
    if (has_sse42) {
        if (len >= 3 * LANE && !__atomic_load_n(&shift_ready, __ATOMIC_ACQUIRE)) make_shift();
        return ~hardware(~crc, data, len);
    }
    return walrus_crc32c_portable(crc, data, len);
}
#else
uint32_t walrus_crc32c(uint32_t crc, const void *data, size_t len) { return walrus_crc32c_portable(crc, data, len); }
#endif

int walrus_o_direct_flag(void) {
#ifdef O_DIRECT
    return O_DIRECT;
#else
    return 0;
#endif
}

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void walrus_malloc_for_large_buffers(int trim_threshold) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, trim_threshold);
#else
    (void)trim_threshold;
#endif
}
