import Dispatch
import Synchronization

/// A bounded pool of threads for work that is expensive (coding, hashing) or blocks (fsync): it
/// runs away from Swift's cooperative pool, whose one thread per core also answers health checks,
/// metadata and reads. At most `threadsMax` jobs run at once and at most `queuedMax` wait; a job
/// offered beyond that is refused at once (`WorkPool.Busy`), so that a flood of requests becomes
/// 503s instead of an unbounded queue of work.
public final class WorkPool: Sendable {
    /// The pool's queue is full: the caller should answer "busy, retry later".
    public struct Busy: Error, Sendable, CustomStringConvertible {
        public let pool: String
        public var description: String { "the \(pool) pool is full" }
    }

    public let name: String
    public let threadsMax: Int
    public let queuedMax: Int
    private let queue: DispatchQueue
    private let state = Mutex(State())

    private struct State: ~Copyable {
        var running = 0
        var waiting: [@Sendable () -> Void] = []
        var waitingHead = 0
        var waitingCount: Int { waiting.count - waitingHead }
    }

    /// A pool of `threadsMax` threads (at least one) with room for `queuedMax` waiting jobs.
    public init(name: String, threadsMax: Int, queuedMax: Int) {
        self.name = name
        self.threadsMax = max(1, threadsMax)
        self.queuedMax = max(0, queuedMax)
        // A queue of our own over the overcommitting root queue: it adds a thread when the ones it
        // has block, and this pool's own count is what bounds them.
        queue = DispatchQueue(label: "walrus.pool.\(name)", attributes: .concurrent)
    }

    /// Jobs running and waiting now.
    public var load: (running: Int, waiting: Int) { state.withLock { ($0.running, $0.waitingCount) } }

    /// Runs `body` on the pool and returns its result; throws `Busy` without running it when the
    /// pool's queue is full.
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws(Busy) -> T {
        let outcome: T? = await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let job: @Sendable () -> Void = { continuation.resume(returning: body()) }
            if !submit(job) { continuation.resume(returning: nil) }
        }
        guard let outcome else { throw Busy(pool: name) }
        return outcome
    }

    /// Runs `body` on the pool, waiting for room instead of refusing: for work whose callers are
    /// already bounded (uploads a server has admitted), where a refusal would lose nothing but
    /// time. Waits in slices of a millisecond up to 5 ms while the queue is full.
    public func runWaiting<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        var pause: UInt64 = 1_000_000
        while true {
            let result: Result<T, E>
            do {
                result = try await run { Result { () throws(E) -> T in try body() } }
            } catch {
                try? await Task.sleep(nanoseconds: pause)
                pause = min(pause * 2, 5_000_000)
                continue
            }
            return try result.get()
        }
    }

    /// Starts `job` now, or queues it; false when the queue is full.
    private func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        let start: Bool? = state.withLock { state in
            if state.running < threadsMax {
                state.running += 1
                return true
            }
            guard state.waitingCount < queuedMax else { return nil }
            state.waiting.append(job)
            return false
        }
        switch start {
        case nil: return false
        case false?: return true
        case true?:
            queue.async { self.drain(first: job) }
            return true
        }
    }

    /// Runs `first`, then waiting jobs on the same thread until none is left.
    private func drain(first: @escaping @Sendable () -> Void) {
        var next: (@Sendable () -> Void)? = first
        while let job = next {
            job()
            next = state.withLock { state in
                guard state.waitingCount > 0 else {
                    state.running -= 1
                    return nil
                }
                let job = state.waiting[state.waitingHead]
                state.waitingHead += 1
                if state.waitingHead > 64 && state.waitingHead * 2 > state.waiting.count {
                    state.waiting.removeFirst(state.waitingHead)
                    state.waitingHead = 0
                }
                return job
            }
        }
    }
}
