import Dispatch
import Synchronization

/// Runs `body(task)` for every task in `0..<count` on all cores, each worker taking the next task
/// from a shared counter. The encoder's tasks are stripes of rows or columns.
func parallelForEach(_ count: Int, workers: Int, _ body: (Int) -> Void) {
    guard count > 0 else { return }
    let next = Atomic<Int>(0)
    let threads = max(1, min(workers, count))
    if threads == 1 {
        for task in 0..<count { body(task) }
        return
    }
    withoutActuallyEscaping(body) { escapable in
        // The tasks touch disjoint parts of the buffers they share, which the caller guarantees.
        nonisolated(unsafe) let run = escapable
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while true {
                let task = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard task < count else { return }
                run(task)
            }
        }
    }
}
