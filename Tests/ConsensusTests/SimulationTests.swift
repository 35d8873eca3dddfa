import ChainTypes
import Consensus
import Foundation
import Testing

/// Seeded simulations of 4 and 7 validators with message loss, delay, reordering, partitions and
/// crash-restarts: after every event no two validators decided different values at one height, and
/// after the faults end every honest validator keeps deciding. A failing seed prints its replay.
@Suite struct SimulationTests {
    static let seedCount = Int(ProcessInfo.processInfo.environment["WALRUS_SIM_SEEDS"] ?? "") ?? 120

    @Test func fourValidatorsWithFaults() {
        for seed in 1...UInt64(Self.seedCount) {
            let violations = Simulation(SimulationConfig(validators: 4, seed: seed)).run()
            #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
            if !violations.isEmpty { return }
        }
    }

    @Test func sevenValidatorsWithFaults() {
        for seed in 1...UInt64(Self.seedCount / 2) {
            let violations = Simulation(SimulationConfig(validators: 7, seed: 1000 + seed)).run()
            #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
            if !violations.isEmpty { return }
        }
    }

    /// One equivocating validator holding less than a third of the power never breaks agreement,
    /// and the others keep deciding.
    @Test func anEquivocatingValidatorCannotBreakAgreement() {
        for seed in 1...UInt64(Self.seedCount / 2) {
            for n in [4, 7] {
                var config = SimulationConfig(validators: n, seed: 5000 + seed)
                // Powers alternate 1, 2, 1, 2...: with n = 4 only a power-1 validator is tolerable.
                let tolerable = (0..<n).filter { 3 * (1 + $0 % 2) < (0..<n).reduce(0) { $0 + 1 + $1 % 2 } }
                config.byzantine = tolerable[Int(seed % UInt64(tolerable.count))]
                let violations = Simulation(config).run()
                #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
                if !violations.isEmpty { return }
            }
        }
    }

    @Test func theSameSeedReplaysTheSameRun() {
        let a = Simulation(SimulationConfig(validators: 4, seed: 42))
        let b = Simulation(SimulationConfig(validators: 4, seed: 42))
        _ = a.run()
        _ = b.run()
        #expect(a.decisions == b.decisions)
        #expect(a.decisions.count > 5)
    }

    /// The checker can fail: a fault-free run where one validator's decisions are tampered with
    /// is reported.
    @Test func disagreementIsDetected() {
        var config = SimulationConfig(validators: 4, seed: 7)
        config.partitionsPerRun = 0
        config.crashesPerRun = 0
        let simulation = Simulation(config)
        simulation.decisions[1] = ValueID([UInt8](repeating: 0xee, count: 32))
        #expect(simulation.run().contains { $0.hasPrefix("agreement") })
    }
}
