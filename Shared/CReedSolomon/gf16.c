// GF(2^16) tables in the Cantor-basis representation (Lin-Chung-Han / Leopard), the FFT skew
// factors, the Walsh transform of the log table used by the decoder's error locator, and the
// per-multiplier tables of the SIMD kernels (nibble lookups, or GFNI bit matrices), built only for
// the kernel in use.
#include "CReedSolomon.h"
#include "gf16.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

uint16_t walrus_gf_log[GF_ORDER];
uint16_t walrus_gf_exp[GF_ORDER];
uint16_t walrus_gf_skew[GF_MODULUS];
uint16_t walrus_gf_log_walsh[GF_ORDER];
uint8_t (*walrus_gf_nibble)[4][2][16];
uint64_t (*walrus_gf_affine)[4];

static const uint16_t cantor_basis[GF_BITS] = {
    0x0001, 0xACCA, 0x3C0E, 0x163E, 0xC582, 0xED2E, 0x914C, 0x4012,
    0x6C98, 0x10D8, 0x6A72, 0xB900, 0xFDB8, 0xFB34, 0xFF38, 0x991E,
};

static void build_log_exp(void) {
    // Logarithms in the polynomial basis from the LFSR of x^16 + x^5 + x^3 + x^2 + 1 (0x1002D),
    // kept temporarily in the exp table.
    uint32_t state = 1;
    for (uint32_t i = 0; i < GF_MODULUS; i++) {
        walrus_gf_exp[state] = (uint16_t)i;
        state <<= 1;
        if (state >= GF_ORDER) state ^= 0x1002D;
    }
    walrus_gf_exp[0] = GF_MODULUS;
    // Element j of the Cantor basis representation is the XOR of the basis vectors of its set bits.
    walrus_gf_log[0] = 0;
    for (unsigned i = 0; i < GF_BITS; i++) {
        unsigned width = 1u << i;
        for (unsigned j = 0; j < width; j++) walrus_gf_log[j + width] = walrus_gf_log[j] ^ cantor_basis[i];
    }
    for (uint32_t i = 0; i < GF_ORDER; i++) walrus_gf_log[i] = walrus_gf_exp[walrus_gf_log[i]];
    for (uint32_t i = 0; i < GF_ORDER; i++) walrus_gf_exp[walrus_gf_log[i]] = (uint16_t)i;
    walrus_gf_exp[GF_MODULUS] = walrus_gf_exp[0];
}

// Fast Walsh-Hadamard transform over Z/65535, on the first `truncated` entries (the rest are zero).
void walrus_gf_fwht(uint16_t *data, size_t truncated) {
    for (size_t dist = 1; dist < GF_ORDER; dist <<= 1) {
        for (size_t r = 0; r < truncated; r += 2 * dist) {
            for (size_t i = r; i < r + dist; i++) {
                uint16_t a = data[i], b = data[i + dist];
                uint32_t sum = (uint32_t)a + b;
                uint32_t dif = (uint32_t)a + GF_MODULUS - b;
                data[i] = (uint16_t)(sum % GF_MODULUS);
                data[i + dist] = (uint16_t)(dif % GF_MODULUS);
            }
        }
    }
}

static void build_skew(void) {
    // The skew of position j is the value at j of the subspace polynomials W_i normalised so that
    // W_i(2^i) = 1, accumulated over the bits of j (Lin-Chung-Han §III); stored as logarithms.
    uint16_t temp[GF_BITS - 1];
    for (unsigned i = 1; i < GF_BITS; i++) temp[i - 1] = (uint16_t)(1u << i);
    for (unsigned m = 0; m < GF_BITS - 1; m++) {
        size_t step = (size_t)1 << (m + 1);
        walrus_gf_skew[((size_t)1 << m) - 1] = 0;
        for (unsigned i = m; i < GF_BITS - 1; i++) {
            size_t s = (size_t)1 << (i + 1);
            for (size_t j = ((size_t)1 << m) - 1; j < s; j += step) walrus_gf_skew[j + s] = walrus_gf_skew[j] ^ temp[i];
        }
        temp[m] = (uint16_t)(GF_MODULUS - walrus_gf_log[gf_mul_log(temp[m], walrus_gf_log[temp[m] ^ 1])]);
        for (unsigned i = m + 1; i < GF_BITS - 1; i++) {
            uint16_t sum = gf_add_mod(walrus_gf_log[temp[i] ^ 1], temp[m]);
            temp[i] = gf_mul_log(temp[i], sum);
        }
    }
    for (uint32_t i = 0; i < GF_MODULUS; i++) walrus_gf_skew[i] = walrus_gf_log[walrus_gf_skew[i]];
}

static void build_log_walsh(void) {
    memcpy(walrus_gf_log_walsh, walrus_gf_log, sizeof walrus_gf_log_walsh);
    walrus_gf_log_walsh[0] = 0;
    walrus_gf_fwht(walrus_gf_log_walsh, GF_ORDER);
}

static void build_nibble_tables(void) {
    uint8_t (*tables)[4][2][16] = aligned_alloc(64, (size_t)GF_ORDER * sizeof *tables);
    if (!tables) abort();
    for (uint32_t m = 0; m < GF_ORDER; m++) {
        for (unsigned q = 0; q < 4; q++) {
            for (unsigned v = 0; v < 16; v++) {
                uint16_t product = gf_mul_log((uint16_t)(v << (4 * q)), (uint16_t)m);
                tables[m][q][0][v] = (uint8_t)product;
                tables[m][q][1][v] = (uint8_t)(product >> 8);
            }
        }
    }
    walrus_gf_nibble = tables;
}

/// Transposes an 8×8 bit matrix held as bit c of byte r (Hacker's Delight, transpose8rS64).
static uint64_t transpose8(uint64_t x) {
    uint64_t t;
    t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAull;
    x = x ^ t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCull;
    x = x ^ t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ull;
    return x ^ t ^ (t << 28);
}

/// The `vgf2p8affineqb` operand for an 8×8 block whose column k (input bit k) is byte k of
/// `columns`: the instruction takes output bit j's row from byte 7 - j.
static uint64_t affine_operand(uint64_t columns) { return __builtin_bswap64(transpose8(columns)); }

static void build_affine_tables(void) {
    uint64_t (*tables)[4] = aligned_alloc(64, (size_t)GF_ORDER * sizeof *tables);
    if (!tables) abort();
    for (uint32_t m = 0; m < GF_ORDER; m++) {
        // Column k of the 16×16 matrix is the product of the element with only bit k set.
        uint64_t low_from_low = 0, high_from_high = 0, high_from_low = 0, low_from_high = 0;
        for (unsigned k = 0; k < 8; k++) {
            uint16_t from_low = gf_mul_log((uint16_t)(1u << k), (uint16_t)m);
            uint16_t from_high = gf_mul_log((uint16_t)(1u << (k + 8)), (uint16_t)m);
            low_from_low |= (uint64_t)(from_low & 0xff) << (8 * k);
            high_from_low |= (uint64_t)(from_low >> 8) << (8 * k);
            low_from_high |= (uint64_t)(from_high & 0xff) << (8 * k);
            high_from_high |= (uint64_t)(from_high >> 8) << (8 * k);
        }
        tables[m][0] = affine_operand(low_from_low);
        tables[m][1] = affine_operand(high_from_high);
        tables[m][2] = affine_operand(high_from_low);
        tables[m][3] = affine_operand(low_from_high);
    }
    walrus_gf_affine = tables;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_once_t nibble_once = PTHREAD_ONCE_INIT;
static pthread_once_t affine_once = PTHREAD_ONCE_INIT;
/// The widest kernel allowed: 0 portable, 1 AVX2, 2 AVX-512, 3 AVX-512 with GFNI.
static int kernel_limit = 3;

static void init_tables(void) {
    build_log_exp();
    build_skew();
    build_log_walsh();
}

void walrus_rs_init(void) { pthread_once(&init_once, init_tables); }

static const walrus_gf_kernels *kernels_up_to(int limit) {
    const walrus_gf_kernels *k = 0;
    if (limit >= 3) k = walrus_gf_gfni_kernels();
    if (!k && limit >= 2) k = walrus_gf_avx512_kernels();
    if (!k && limit >= 1) k = walrus_gf_avx2_kernels();
    return k ? k : &walrus_gf_portable_kernels;
}

static int level_of(const walrus_gf_kernels *k) {
    if (k == &walrus_gf_portable_kernels) return 0;
    if (k == walrus_gf_avx2_kernels()) return 1;
    if (k == walrus_gf_avx512_kernels()) return 2;
    return 3;
}

const walrus_gf_kernels *walrus_gf_active(void) {
    walrus_rs_init();
    const walrus_gf_kernels *k = kernels_up_to(kernel_limit);
    if (k->tables == WALRUS_GF_NIBBLE_TABLES) pthread_once(&nibble_once, build_nibble_tables);
    if (k->tables == WALRUS_GF_AFFINE_TABLES) pthread_once(&affine_once, build_affine_tables);
    return k;
}

int walrus_rs_limit_kernel(int max_level) {
    kernel_limit = max_level < 0 ? 0 : max_level;
    return level_of(kernels_up_to(kernel_limit));
}

const char *walrus_rs_kernel_name(void) { return walrus_gf_active()->name; }

void walrus_rs_force_portable(int force) { kernel_limit = force ? 0 : 3; }

uint16_t walrus_gf16_mul(uint16_t a, uint16_t b) {
    walrus_rs_init();
    if (b == 0) return 0;
    return gf_mul_log(a, walrus_gf_log[b]);
}
