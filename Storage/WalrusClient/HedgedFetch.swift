import Foundation

/// Fetching many slivers from a committee without letting a slow or hung node hold the read up.
///
/// Each node gets at most `perNode` requests in flight, so a node that never answers only blocks
/// its own slots. Once half of the work is done, or once what is left waits only on nodes that
/// have not answered anything (down, or cut off: their connects hang), the rest gets
/// `max(minimumGrace, 4 × the time so far)` to finish (a healthy second half takes about as long
/// as the first); what is unfinished then is cancelled, and the nodes of every item not fetched
/// are reported as lagging, so that the caller asks other nodes instead of waiting out
/// per-request timeouts. A node whose request fails is not asked again in the same round.
enum HedgedFetch {
    struct Outcome {
        /// Items whose fetch succeeded.
        var succeeded: Set<Int> = []
        /// Nodes of the items not fetched: they failed or were still busy when the grace ended.
        var laggingNodes: Set<String> = []
    }

    static let minimumGrace: Double = 1.0

    /// Runs `fetch(item, node)` for every `(item, node)`; `fetch` returns whether the item was fetched.
    static func run(
        _ work: [(item: Int, node: String)], perNode: Int = 4, minimumGrace: Double = HedgedFetch.minimumGrace,
        fetch: @escaping @Sendable (_ item: Int, _ node: String) async -> Bool
    ) async -> Outcome {
        enum Event: Sendable {
            case done(item: Int, node: String, ok: Bool)
            case graceOver
        }
        var queues: [String: [Int]] = [:]
        var order: [String] = []
        for (item, node) in work {
            if queues[node] == nil { order.append(node) }
            queues[node, default: []].append(item)
        }
        let start = Date()
        var outcome = Outcome()
        var pending: [String: Int] = [:]
        var failed: Set<String> = []
        var answered: Set<String> = []
        return await withTaskGroup(of: Event.self) { group in
            func launchNext(_ node: String) {
                guard !failed.contains(node), var queue = queues[node], !queue.isEmpty else { return }
                let item = queue.removeFirst()
                queues[node] = queue
                pending[node, default: 0] += 1
                group.addTask { .done(item: item, node: node, ok: await fetch(item, node)) }
            }
            for node in order {
                for _ in 0..<perNode { launchNext(node) }
            }
            var completed = 0
            var graceStarted = false
            while let event = await group.next() {
                switch event {
                case .done(let item, let node, let ok):
                    completed += 1
                    answered.insert(node)
                    pending[node, default: 1] -= 1
                    if ok { outcome.succeeded.insert(item) } else { failed.insert(node) }
                    launchNext(node)
                    let busy = pending.values.reduce(0, +)
                    if busy == 0 {
                        group.cancelAll()  // Only the grace timer, if any, is left.
                    } else if !graceStarted && (completed * 2 >= work.count || pending.allSatisfy { $0.value == 0 || !answered.contains($0.key) }) {
                        graceStarted = true
                        let grace = max(minimumGrace, 4 * Date().timeIntervalSince(start))
                        group.addTask {
                            try? await Task.sleep(nanoseconds: UInt64(grace * 1e9))
                            return .graceOver
                        }
                    }
                case .graceOver:
                    // Nothing more is started; what is in flight is given up.
                    failed.formUnion(queues.keys)
                    group.cancelAll()
                }
            }
            outcome.laggingNodes = Set(work.filter { !outcome.succeeded.contains($0.item) }.map(\.node))
            return outcome
        }
    }
}
