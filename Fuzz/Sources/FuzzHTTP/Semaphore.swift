import Dispatch

/// Waits for the harness's task: libFuzzer calls the entry point synchronously.
final class DispatchSemaphoreBox: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    func signal() { semaphore.signal() }
    func wait() { semaphore.wait() }
}
