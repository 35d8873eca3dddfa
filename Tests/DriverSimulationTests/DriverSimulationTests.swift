import Foundation
@_spi(Byzantine) import ValidatorNode
import Testing

/// Seeds of the driver simulation (`DriverWorld`). CI runs `SIMULATION_SEEDS` seeds (default
/// below) split over parallel test cases; `scripts/simulate --seeds N [--from S]` runs more, and
/// a failure names its seed and faults to replay with `--from S --seeds 1`.
@Suite struct DriverSimulationTests {
    static let groups = 8
    static var seedCount: Int { Int(ProcessInfo.processInfo.environment["SIMULATION_SEEDS"] ?? "") ?? 1000 }
    static var firstSeed: UInt64 { UInt64(ProcessInfo.processInfo.environment["SIMULATION_FROM"] ?? "") ?? 1 }

    @Test(arguments: 0..<groups)
    func seedsKeepAgreementValidityAndLiveness(group: Int) async throws {
        var seed = Self.firstSeed + UInt64(group)
        var runs = 0, heights: UInt64 = 0
        while seed < Self.firstSeed + UInt64(Self.seedCount) {
            let t0 = Date()
            let world = try DriverWorld(seed: seed)
            let t1 = Date()
            let (height, _) = try await world.simulate()
            if ProcessInfo.processInfo.environment["SIMULATION_TIMING"] != nil { print("seed \(seed): init \(t1.timeIntervalSince(t0)) s, run \(Date().timeIntervalSince(t1)) s") }
            heights += height
            runs += 1
            #expect(world.violations.isEmpty, "seed \(seed) (\(world.faults)): \(world.violations.prefix(5).joined(separator: "; "))")
            seed += UInt64(Self.groups)
        }
        #expect(runs > 0 || Self.seedCount < Self.groups)
        print("driver simulation group \(group): \(runs) seeds, \(heights) heights committed in all")
    }

    /// The checks can fail: counted as honest, the equivocating validator is caught double-signing;
    /// and the honest ones still agree and commit around it.
    @Test func theDoubleSignCheckCatchesAnEquivocator() async throws {
        let world = try DriverWorld(seed: 7, forcing: .equivocate)
        world.checksByzantine = true
        _ = try await world.simulate()
        #expect(world.violations.contains { $0.hasPrefix("double sign at 3/") }, "\(world.violations.prefix(3))")
        #expect(!world.violations.contains { $0.hasPrefix("disagreement") || $0.hasPrefix("double sign at 0") || $0.hasPrefix("double sign at 1") || $0.hasPrefix("double sign at 2") })
    }

    /// A validator sending signed headers with altered bodies gets nothing committed that its
    /// header does not commit to, and the chain goes on.
    @Test func alteredBodiesAreNeverCommitted() async throws {
        for seed in UInt64(11)...13 {
            let world = try DriverWorld(seed: seed, forcing: .alterBodies)
            let (heights, _) = try await world.simulate()
            #expect(world.violations.isEmpty, "seed \(seed): \(world.violations.prefix(3))")
            #expect(heights >= 5)
        }
    }

    /// A validator stamping its votes an hour ahead gets its lies into commits, yet block times
    /// stay within the correct validators' clocks: each is the median of a commit.
    @Test func aLyingClockCannotPullBlockTimeForward() async throws {
        for seed in UInt64(21)...23 {
            let world = try DriverWorld(seed: seed, forcing: .lieAboutTime)
            let (heights, _) = try await world.simulate()
            #expect(world.violations.isEmpty, "seed \(seed): \(world.violations.prefix(3))")
            #expect(heights >= 5)
            let store = try #require(world.nodes.first { $0.alive && $0.misbehaviour == .none }?.store)
            let lies = (1...store.height()).compactMap { store.block($0)?.lastCommit }.flatMap(\.precommits)
                .filter { $0.timeMs > world.now + 3_000_000 }
            #expect(!lies.isEmpty, "seed \(seed): the lying validator's votes made it into commits")
        }
    }

    /// At the first epoch change the set is chosen from stake (genesis gives each validator power
    /// 1, its bond of 1,000 WAL makes it 1,000): the header of that block names the new set, the
    /// next block is committed by it, and the chain goes on through the faults.
    @Test func theSetChangesAtAnEpochChange() async throws {
        for seed in UInt64(31)...32 {
            let world = try DriverWorld(seed: seed)
            let (heights, _) = try await world.simulate()
            #expect(world.violations.isEmpty, "seed \(seed): \(world.violations.prefix(3))")
            let store = try #require(world.nodes.first { $0.alive && $0.misbehaviour == .none }?.store)
            let handOvers = (1...store.height()).compactMap { store.block($0) }.filter { $0.header.nextValidatorsHash != $0.header.validatorsHash }
            let first = try #require(handOvers.first, "seed \(seed): no hand-over in \(heights) heights")
            let after = try #require(store.block(first.header.height + 1))
            #expect(after.header.validatorsHash == first.header.nextValidatorsHash)
            #expect(try store.ledger.consensusSets().entries.last?.validators.allSatisfy { $0.power == 1_000 } == true)
            #expect(heights > first.header.height + 2)
        }
    }
}
