#if canImport(Glibc)
import Glibc
#endif

/// A heap buffer of bytes with a stable address, zero-initialised, freed with its owner. Encoding
/// works on raw memory so that the C kernels can read and write it without copies.
final class RawBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int

    /// `count` zero bytes, 64-byte aligned.
    init(zeroedCount count: Int) {
        self.count = count
        pointer = RawBuffer.allocate(count)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
    }

    /// `count` bytes with unspecified contents, for buffers that are written in full before they
    /// are read: not touching them first halves the page faults of large encodes.
    init(uninitializedCount count: Int) {
        self.count = count
        pointer = RawBuffer.allocate(count)
    }

    /// Buffers from this size on are made of 2 MiB pages where the kernel allows it.
    static let hugePageBytes = 2 << 20

    /// 64-byte aligned memory; a large buffer is aligned to 2 MiB and, on Linux, asks for
    /// transparent huge pages: its first touches then fault once per 2 MiB instead of once per
    /// 4 KiB, which is a large part of what a big encode or read costs. Where the kernel does not
    /// give huge pages, the buffer works the same.
    private static func allocate(_ count: Int) -> UnsafeMutableRawPointer {
        guard count >= 2 * hugePageBytes else { return UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64) }
        let rounded = (count + hugePageBytes - 1) / hugePageBytes * hugePageBytes
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: hugePageBytes)
        #if os(Linux)
        _ = madvise(pointer, rounded, MADV_HUGEPAGE)
        #endif
        return pointer
    }

    deinit { pointer.deallocate() }

    var bytes: UnsafeMutablePointer<UInt8> { pointer.assumingMemoryBound(to: UInt8.self) }

    func copy(offset: Int, count: Int) -> [UInt8] {
        precondition(offset >= 0 && offset + count <= self.count, "copy within the buffer")
        return [UInt8](UnsafeRawBufferPointer(start: pointer + offset, count: count))
    }
}
