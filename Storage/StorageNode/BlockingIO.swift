import Dispatch

/// Runs work that blocks on the disk (durable writes: the sliver file, its sync, the directory
/// entry, the index in RocksDB) on threads of its own. Request handlers run on Swift's cooperative
/// pool, one thread per core per process; a handler blocked in fsync holds one of them, and with
/// both held a node verifies nothing while its disk writes are in flight.
enum BlockingIO {
    /// A queue of our own targets the overcommitting root queue, which adds a thread when the
    /// ones it has are blocked.
    private static let queue = DispatchQueue(label: "walrus.storage.blocking-io", attributes: .concurrent)

    static func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Result { () throws(E) -> T in try body() }) }
        }
        return try result.get()
    }
}
