#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// A buffer of bytes with a stable address (heap memory, a mapping of its own, or memory a caller
/// holds), freed with its owner. Encoding works on raw memory so that the C kernels can read and
/// write it without copies.
final class RawBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int
    /// Bytes mapped with `mmap` (unmapped on release), or 0 for heap memory.
    private let mappedBytes: Int
    /// The holder of external memory (which then is not freed here), or nil.
    private var owner: AnyObject?

    /// `count` zero bytes, 64-byte aligned.
    init(zeroedCount count: Int) {
        self.count = count
        (pointer, mappedBytes) = RawBuffer.allocate(count)
        // Mapped memory is zero already.
        if mappedBytes == 0 { pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1)) }
    }

    /// `count` bytes with unspecified contents, for buffers that are written in full before they
    /// are read: not touching them first halves the page faults of large encodes.
    init(uninitializedCount count: Int) {
        self.count = count
        (pointer, mappedBytes) = RawBuffer.allocate(count)
    }

    /// Buffers from this size on are mapped on their own and populated at once.
    static let populatedBytesMin = 32 << 20

    /// 64-byte aligned memory in ordinary pages; buffers from 64 KiB on start on a page, so that
    /// they can be written with direct IO. A buffer from 32 MiB on (above the heap's mmap
    /// threshold, so the heap would map it anyway; the buffers a storage node reuses stay below)
    /// is mapped on its own and populated up front, a part per core at once: its pages are zeroed
    /// in one pass instead of one page fault per 4 KiB as the code first writes them, and a
    /// client's 330 MB of encoding buffers at 128 MiB take one core 80-90 ms to populate. Returns
    /// the memory and the bytes mapped (0 for heap memory).
    ///
    /// Large buffers used to ask for transparent huge pages, but on VMs whose host takes freed
    /// memory back (free page reporting) a huge page is always memory the host must fault in
    /// again, while small pages often come from memory the guest freed recently: a 128 MiB store
    /// and read on such a VM spend 0.3-1.0 s less system time without them (Docs/BENCHMARKS.md).
    private static func allocate(_ count: Int) -> (UnsafeMutableRawPointer, Int) {
        #if os(Linux)
        if count >= populatedBytesMin {
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let bytes = (count + page - 1) / page * page
            if let base = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), base != MAP_FAILED {
                populate(base, bytes: bytes, pageSize: page)
                return (base, bytes)
            }
        }
        #endif
        return (UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: count >= 64 << 10 ? 4096 : 64), 0)
    }

    #if os(Linux)
    /// Faults in `bytes` of a fresh mapping with MADV_POPULATE_WRITE (Linux 5.14), a page-aligned
    /// part per core in parallel. Where the kernel lacks it, the pages fault in as they are
    /// written.
    private static func populate(_ base: UnsafeMutableRawPointer, bytes: Int, pageSize: Int) {
        let populateWrite: Int32 = 23  // MADV_POPULATE_WRITE
        let parts = max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), bytes / (8 << 20)))
        let partBytes = (bytes / parts + pageSize - 1) / pageSize * pageSize
        let address = UInt(bitPattern: base)  // An address, which closures may share.
        DispatchQueue.concurrentPerform(iterations: parts) { i in
            let start = i * partBytes
            guard start < bytes, let part = UnsafeMutableRawPointer(bitPattern: address + UInt(start)) else { return }
            _ = madvise(part, min(partBytes, bytes - start), populateWrite)
        }
    }
    #endif

    /// `count` bytes of memory that `owner` holds and frees: the buffer keeps the owner alive and
    /// never frees the memory itself.
    init(external pointer: UnsafeMutableRawPointer, count: Int, owner: AnyObject) {
        self.pointer = pointer
        self.count = count
        mappedBytes = 0
        self.owner = owner
    }

    deinit {
        if owner != nil { return }
        #if os(Linux)
        if mappedBytes > 0 {
            munmap(pointer, mappedBytes)
            return
        }
        #endif
        pointer.deallocate()
    }

    var bytes: UnsafeMutablePointer<UInt8> { pointer.assumingMemoryBound(to: UInt8.self) }

    func copy(offset: Int, count: Int) -> [UInt8] {
        precondition(offset >= 0 && offset + count <= self.count, "copy within the buffer")
        return [UInt8](UnsafeRawBufferPointer(start: pointer + offset, count: count))
    }
}
