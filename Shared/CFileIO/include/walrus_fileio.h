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

/// Process-wide malloc settings for programs that allocate and free multi-megabyte buffers all the
/// time (a sliver is 1-4 MB: request bodies, upload buffers, encoder work areas). glibc serves an
/// allocation above its mmap threshold (128 KiB at first, raised on the fly to the largest freed
/// mapping, at most 32 MiB) with a fresh mapping, and returns heap to the kernel once the top of
/// the heap has twice that free: such buffers then cost a page fault and a zeroed page per 4 KiB
/// on first touch, about a tenth of a storage node's CPU during a large store. A fixed threshold
/// of 32 MiB keeps buffers up to that size in the heap, where freed memory is reused; up to
/// `trim_threshold` bytes of free heap are kept before they are returned. No-op without glibc.
void walrus_malloc_for_large_buffers(int trim_threshold);

#endif
