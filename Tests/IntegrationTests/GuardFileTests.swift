import Consensus
import Foundation
import Testing
@testable import ValidatorNode

/// The signing guard's own files: what was stored comes back, a torn newest slot falls back to
/// the other, and anything that cannot be trusted stops the validator instead of starting empty.
@Suite struct GuardFileTests {
    static func directory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-guard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    static func signed(_ height: UInt64) -> SigningGuard {
        var state = SigningGuard()
        state.record(height: height, round: 0, step: .prevote, signBytes: [UInt8(truncatingIfNeeded: height)], signature: [1, 2, 3])
        return state
    }

    @Test func storedStateComesBackAndATornSlotFallsBack() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/signing-guard"
        do {
            let file = try GuardFile(path: path, chainHeight: 0, legacy: nil)
            #expect(file.state == SigningGuard())
            try file.store(Self.signed(5))
            try file.store(Self.signed(6))
        }
        #expect(try GuardFile(path: path, chainHeight: 6, legacy: nil).state == Self.signed(6))
        // The newest write torn (sequence 2 went to slot a): the guard falls back to height 5,
        // which still refuses anything below it.
        let newest = path + ".a"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: newest))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: newest))
        #expect(try GuardFile(path: path, chainHeight: 6, legacy: nil).state == Self.signed(5))
        // Both spoiled: the validator does not start.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path + ".b"))
        #expect(throws: NodeError.self) { try GuardFile(path: path, chainHeight: 6, legacy: nil) }
    }

    @Test func aMissingGuardWithCommittedBlocksIsRefusedAndALegacyOneMoves() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: NodeError.self) { try GuardFile(path: dir + "/missing", chainHeight: 10, legacy: nil) }
        let moved = try GuardFile(path: dir + "/moved", chainHeight: 10, legacy: Self.signed(9))
        #expect(moved.state == Self.signed(9))
        #expect(try GuardFile(path: dir + "/moved", chainHeight: 10, legacy: nil).state == Self.signed(9))
        // Slots created and never written (a crash before the first signature) start empty.
        _ = try GuardFile(path: dir + "/fresh", chainHeight: 0, legacy: nil)
        #expect(try GuardFile(path: dir + "/fresh", chainHeight: 3, legacy: nil).state == SigningGuard())
    }
}
