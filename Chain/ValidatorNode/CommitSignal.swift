import Foundation

/// Wakes the RPC's long polls (events, transaction status) when a block commits, instead of
/// having each of them look again every 50 ms: a storage node then sees a registration, and a
/// client its commit, as soon as it happens.
///
/// `generation` counts commits; a waiter reads it before it looks at the store and waits for a
/// later one, so a commit between its look and its wait is not missed.
final class CommitSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var current: UInt64 = 0
    private var waiters: [UInt64: (after: UInt64, continuation: CheckedContinuation<Void, Never>)] = [:]
    private var nextID: UInt64 = 0

    var generation: UInt64 { lock.withLock { current } }

    /// Called after each commit.
    func advance() {
        let woken: [CheckedContinuation<Void, Never>] = lock.withLock {
            current += 1
            let ready = waiters.filter { $0.value.after < current }
            for id in ready.keys { waiters.removeValue(forKey: id) }
            return ready.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns once a commit after `generation` has happened, or after `nanoseconds`.
    func wait(after generation: UInt64, nanoseconds: UInt64) async {
        let id: UInt64 = lock.withLock {
            nextID += 1
            return nextID
        }
        let timer = Task {
            try? await Task.sleep(nanoseconds: nanoseconds)
            self.resume(id)
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let already: Bool = lock.withLock {
                if current > generation { return true }
                waiters[id] = (generation, continuation)
                return false
            }
            if already { continuation.resume() }
        }
        timer.cancel()
    }

    /// `look`'s answer as soon as it has one: asked now and again after each commit, for at most
    /// `waitMs` milliseconds; nil when the time ran out first.
    func poll<T>(waitMs: UInt64, _ look: () -> T?) async -> T? {
        let deadline = DispatchTime.now().uptimeNanoseconds + waitMs * 1_000_000
        while true {
            let seen = generation
            if let found = look() { return found }
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return nil }
            await wait(after: seen, nanoseconds: deadline - now)
        }
    }

    private func resume(_ id: UInt64) {
        let continuation = lock.withLock { waiters.removeValue(forKey: id)?.continuation }
        continuation?.resume()
    }
}
