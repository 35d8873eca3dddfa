import HTTPKit

/// Runs work that blocks on the disk (durable writes: the sliver file, its sync, the directory
/// entry, the index in RocksDB) on threads of its own. Request handlers run on Swift's cooperative
/// pool, one thread per core per process; a handler blocked in fsync holds one of them, and with
/// both held a node verifies nothing while its disk writes are in flight.
///
/// The pool is bounded: at most `threadsMax` writes run at once and the rest wait their turn (the
/// server's in-flight cap bounds how many can wait), so a burst of uploads cannot make the node
/// spawn a thread per upload.
enum BlockingIO {
    static let threadsMax = 16
    static let pool = WorkPool(name: "blocking-io", threadsMax: threadsMax, queuedMax: 1024)

    static func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        try await pool.runWaiting(body)
    }
}

/// CPU-heavy work a node does for others or for itself in the background: serving recovery
/// symbols (coding a sliver's expansion and hashing its tree) and rebuilding slivers. One thread,
/// a short queue: beyond it, recovery-symbol requests are answered 503 with Retry-After, and the
/// cooperative threads that answer health, metadata, reads and uploads never run this work.
enum RecoveryCPU {
    static let pool = WorkPool(name: "recovery", threadsMax: 1, queuedMax: 8)
}
