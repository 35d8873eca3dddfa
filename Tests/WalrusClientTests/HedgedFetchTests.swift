import Foundation
import Synchronization
import Testing
@testable import WalrusClient

/// The read path's fetching: a hung node costs a grace period, not a request timeout; a failing
/// node is not asked again; no node gets more than its share of requests at once.
@Suite struct HedgedFetchTests {
    /// Counters shared with the fetches.
    final class Tally: Sendable {
        let calls = Mutex<[String: Int]>([:])
        let inFlight = Mutex<[String: Int]>([:])
        let peak = Mutex<[String: Int]>([:])

        func enter(_ node: String) {
            calls.withLock { $0[node, default: 0] += 1 }
            let now = inFlight.withLock { $0[node, default: 0] += 1; return $0[node]! }
            peak.withLock { $0[node] = max($0[node] ?? 0, now) }
        }

        func leave(_ node: String) { inFlight.withLock { $0[node, default: 1] -= 1 } }
    }

    static func work(_ nodes: [String], items: Int) -> [(item: Int, node: String)] {
        (0..<items).map { (item: $0, node: nodes[$0 % nodes.count]) }
    }

    @Test func healthyNodesDeliverEverythingWithinTheirShare() async {
        let work = Self.work(["a", "b", "c"], items: 30)
        let tally = Tally()
        let outcome = await HedgedFetch.run(work, perNode: 3) { _, node in
            tally.enter(node)
            try? await Task.sleep(nanoseconds: 5_000_000)
            tally.leave(node)
            return true
        }
        #expect(outcome.succeeded == Set(0..<30) && outcome.laggingNodes.isEmpty)
        #expect(tally.peak.withLock { $0.values.allSatisfy { $0 <= 3 } })
    }

    @Test func aHungNodeCostsTheGraceNotTheTimeout() async {
        let work = Self.work(["a", "b", "hung"], items: 12)
        let start = Date()
        let outcome = await HedgedFetch.run(work, minimumGrace: 0.5) { _, node in
            if node == "hung" {
                // Stands for a request that would wait out a long timeout; gives up when cancelled.
                try? await Task.sleep(nanoseconds: 600_000_000_000)
                return false
            }
            try? await Task.sleep(nanoseconds: 2_000_000)
            return true
        }
        // The grace is max(0.5 s, 4 × the time half the work took); the healthy half takes
        // milliseconds when the test runs alone (scripts/test runs this suite serially).
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(outcome.laggingNodes == ["hung"])
        #expect(outcome.succeeded == Set(work.filter { $0.node != "hung" }.map(\.item)))
    }

    /// When most of the work sits on nodes that never answer (a partition cut off the nodes that
    /// hold most systematic slivers), half the work never completes; the grace starts once what
    /// is left waits only on silent nodes.
    @Test func mostWorkOnSilentNodesCostsTheGraceNotTheTimeout() async {
        let work = Self.work(["a", "cut1", "cut2", "cut3"], items: 16)
        let start = Date()
        let outcome = await HedgedFetch.run(work, minimumGrace: 0.5) { _, node in
            if node.hasPrefix("cut") {
                try? await Task.sleep(nanoseconds: 600_000_000_000)
                return false
            }
            try? await Task.sleep(nanoseconds: 2_000_000)
            return true
        }
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(outcome.laggingNodes == ["cut1", "cut2", "cut3"])
        #expect(outcome.succeeded == Set(work.filter { $0.node == "a" }.map(\.item)))
    }

    @Test func aFailingNodeIsAskedOnceAndReported() async {
        let work = Self.work(["a", "bad"], items: 20)
        let tally = Tally()
        let outcome = await HedgedFetch.run(work, perNode: 1) { _, node in
            tally.enter(node)
            defer { tally.leave(node) }
            return node != "bad"
        }
        #expect(tally.calls.withLock { $0["bad"] } == 1)
        #expect(outcome.laggingNodes == ["bad"])
        #expect(outcome.succeeded.count == 10)
    }

    @Test func nothingToFetchReturnsAtOnce() async {
        let outcome = await HedgedFetch.run([]) { _, _ in true }
        #expect(outcome.succeeded.isEmpty && outcome.laggingNodes.isEmpty)
    }
}
