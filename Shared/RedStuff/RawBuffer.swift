/// A heap buffer of bytes with a stable address, zero-initialised, freed with its owner. Encoding
/// works on raw memory so that the C kernels can read and write it without copies.
final class RawBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int

    /// `count` zero bytes, 64-byte aligned.
    init(zeroedCount count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
    }

    /// `count` bytes with unspecified contents, for buffers that are written in full before they
    /// are read: not touching them first halves the page faults of large encodes.
    init(uninitializedCount count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
    }

    deinit { pointer.deallocate() }

    var bytes: UnsafeMutablePointer<UInt8> { pointer.assumingMemoryBound(to: UInt8.self) }

    func copy(offset: Int, count: Int) -> [UInt8] {
        precondition(offset >= 0 && offset + count <= self.count, "copy within the buffer")
        return [UInt8](UnsafeRawBufferPointer(start: pointer + offset, count: count))
    }
}
