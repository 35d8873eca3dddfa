#ifndef WALRUS_FILEIO_H
#define WALRUS_FILEIO_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli, as in iSCSI and ext4) of `len` bytes, continuing from `crc` (0 to start).
/// Uses the SSE4.2 crc32 instruction where the CPU has it, a table otherwise; both agree bit for bit.
uint32_t walrus_crc32c(uint32_t crc, const void *data, size_t len);

/// The same through the table only (for tests: the hardware path must match it).
uint32_t walrus_crc32c_portable(uint32_t crc, const void *data, size_t len);

/// The open(2) flag for direct IO (O_DIRECT, whose value differs between architectures), or 0 where
/// the platform has none.
int walrus_o_direct_flag(void);

#endif
