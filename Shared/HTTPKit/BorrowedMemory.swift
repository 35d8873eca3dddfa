import Foundation
@_spi(CustomByteBufferAllocator) import NIOCore

/// NIO buffers over memory that something else owns, so a large request body goes from where it
/// lies to the socket without a copy and without a buffer of its own. NIO frees a buffer's memory
/// through its allocator's C function, which gets only the pointer: a table keeps, per region
/// start, the owner and how many buffers refer to it, and the owner is released when the last of
/// them is. Memory the allocator hands out itself (should NIO ever copy such a buffer) is malloc's.
enum BorrowedMemory {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var owners: [UnsafeMutableRawPointer: (owner: AnyObject, buffers: Int)] = [:]

    private static let allocator = ByteBufferAllocator(
        allocate: { size in malloc(size) },
        reallocate: { pointer, oldSize, size in BorrowedMemory.reallocate(pointer, oldSize, size) },
        deallocate: { pointer in BorrowedMemory.release(pointer) },
        copy: { target, source, count in _ = memcpy(target, source, count) })

    /// A buffer whose readable bytes are `region`, which `owner` keeps alive.
    static func buffer(_ region: UnsafeRawBufferPointer, owner: AnyObject) -> ByteBuffer {
        let start = UnsafeMutableRawPointer(mutating: region.baseAddress!)
        lock.lock()
        owners[start, default: (owner, 0)].buffers += 1
        lock.unlock()
        return ByteBuffer(takingOwnershipOf: UnsafeMutableRawBufferPointer(start: start, count: region.count), allocator: allocator)
    }

    /// NIO grows a buffer only to write into it, which a request body never does; should it, a
    /// borrowed region is copied into memory of its own rather than handed to realloc.
    private static func reallocate(_ pointer: UnsafeMutableRawPointer?, _ oldSize: Int, _ size: Int) -> UnsafeMutableRawPointer? {
        guard let pointer, isBorrowed(pointer) else { return realloc(pointer, size) }
        guard let copy = malloc(size) else { return nil }
        copy.copyMemory(from: pointer, byteCount: min(oldSize, size))
        release(pointer)
        return copy
    }

    private static func isBorrowed(_ pointer: UnsafeMutableRawPointer) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return owners[pointer] != nil
    }

    private static func release(_ pointer: UnsafeMutableRawPointer) {
        lock.lock()
        guard let entry = owners[pointer] else {
            lock.unlock()
            free(pointer)
            return
        }
        if entry.buffers == 1 { owners[pointer] = nil } else { owners[pointer]!.buffers -= 1 }
        lock.unlock()
        // `entry` holds the owner until here: the last release frees it outside the lock.
        withExtendedLifetime(entry) {}
    }

    /// Regions that buffers still refer to (for tests).
    static var regionsInUse: Int {
        lock.lock()
        defer { lock.unlock() }
        return owners.count
    }
}
