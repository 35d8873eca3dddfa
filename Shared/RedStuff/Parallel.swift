import Dispatch
import Synchronization

/// Runs `body(task, worker)` for every task in `0..<count` on up to `workers` threads, each taking
/// the next task from a shared counter; `worker` (below `workers`) lets a task reuse its thread's
/// buffers. The encoder's tasks are stripes of rows or columns.
func parallelForEach(_ count: Int, workers: Int, _ body: (_ task: Int, _ worker: Int) -> Void) {
    guard count > 0 else { return }
    let next = Atomic<Int>(0)
    let threads = max(1, min(workers, count))
    if threads == 1 {
        for task in 0..<count { body(task, 0) }
        return
    }
    withoutActuallyEscaping(body) { escapable in
        // The tasks touch disjoint parts of the buffers they share, which the caller guarantees.
        nonisolated(unsafe) let run = escapable
        DispatchQueue.concurrentPerform(iterations: threads) { worker in
            while true {
                let task = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard task < count else { return }
                run(task, worker)
            }
        }
    }
}
