import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import Testing
import WalrusCore

/// Recovery at production scale: ten storage nodes share 1000 shards; three of them miss a store
/// and come back. While they rebuild every sliver they missed from the others' recovery symbols,
/// the seven others answer health within a second and reads of both blobs succeed; afterwards
/// the three hold both slivers of every pair they own, and a read succeeds with four of the
/// others stopped (so that it needs the rebuilt slivers).
@Suite(.serialized) struct RecoveryAtScaleTests {
    struct Member {
        let name: String
        let address: String
        let shards: [UInt16]
    }

    static func committee(_ rpc: String) async throws -> [Member] {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://\(rpc)/v1/committee/current")!)
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return (object["members"] as? [[String: Any]] ?? []).map { entry in
            Member(
                name: entry["name"] as? String ?? "", address: entry["networkAddress"] as? String ?? "",
                shards: (entry["shards"] as? [Int] ?? []).map { UInt16($0) })
        }
    }

    static func get(_ url: String, timeout: Double = 5) async -> (Int, Data)? {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = timeout
        guard let (data, response) = try? await URLSession.shared.data(for: request) else { return nil }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// A metric's value from a node's admin endpoint (`/metrics`).
    static func metric(_ address: String, _ name: String) async -> Double? {
        guard let (_, data) = await get("http://\(address)/metrics") else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }

    /// Health checks of the nodes that stayed up, every 200 ms with a one-second limit, until stopped.
    final class HealthWatch: Sendable {
        let failures = Atomic<Int>(0), checks = Atomic<Int>(0), slowestMs = Atomic<Int>(0)
        let running = Atomic<Bool>(true)
    }

    @Test(.timeLimit(.minutes(6))) func threeNodesRebuildEverythingTheyMissed() async throws {
        let devnet = try TestDevnet(validators: 1, nodes: 10, shards: 1000, plainHTTP: true)
        defer { devnet.down() }
        #expect(devnet.up.status == 0, "stderr: \(devnet.up.stderr)")
        let state = try HostileInputTests.processes(devnet.dir)
        let rpc = try #require(state.first { $0["kind"] as? String == "validator" }?["address"] as? String)
        let members = try await Self.committee(rpc)
        #expect(members.count == 10 && members.reduce(0) { $0 + $1.shards.count } == 1000)

        let fileA = devnet.dir.appendingPathComponent("a"), fileB = devnet.dir.appendingPathComponent("b")
        try Data((0..<2_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 11)) }).write(to: fileA)
        try Data((0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ ($0 >> 9)) }).write(to: fileB)
        let storeA = try ProcessRunner.run("walrus", ["store", fileA.path, "--epochs", "3"] + devnet.config, timeoutSeconds: 120)
        #expect(storeA.status == 0, "stderr: \(storeA.stderr)")
        let idA = storeA.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        // Three nodes holding at most f = 333 shards go down and miss blob B.
        let sorted = members.sorted { $0.shards.count < $1.shards.count }
        let missing = Array(sorted.prefix(3)), stayed = Array(sorted.dropFirst(3))
        #expect(missing.reduce(0) { $0 + $1.shards.count } <= 333)
        for member in missing { #expect(try ProcessRunner.run("walrus", ["devnet", "kill", member.name] + devnet.net).status == 0) }
        let storeB = try ProcessRunner.run("walrus", ["store", fileB.path, "--epochs", "3"] + devnet.config, timeoutSeconds: 120)
        #expect(storeB.status == 0, "stderr: \(storeB.stderr)")
        let idB = storeB.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let blobB = try BlobID(parsing: idB)

        // They come back; the others are watched while they recover.
        let watch = HealthWatch()
        let watcher = Task {
            while watch.running.load(ordering: .relaxed) {
                for member in stayed {
                    let started = Date()
                    let answer = await Self.get("http://\(member.address)/v1/health", timeout: 1)
                    let ms = Int(Date().timeIntervalSince(started) * 1000)
                    watch.checks.add(1, ordering: .relaxed)
                    _ = watch.slowestMs.max(ms, ordering: .relaxed)
                    if answer?.0 != 200 || ms >= 1000 { watch.failures.add(1, ordering: .relaxed) }
                }
                try? await Task.sleep(nanoseconds: 200_000_000)
            }
        }
        let started = Date()
        for member in missing {
            let restart = try ProcessRunner.run("walrus", ["devnet", "restart", member.name] + devnet.net, timeoutSeconds: 90)
            #expect(restart.status == 0, "stderr: \(restart.stderr)")
        }
        // Reads of both blobs succeed while they recover.
        for (id, file) in [(idA, fileA), (idB, fileB)] {
            let out = devnet.dir.appendingPathComponent("during-\(id)")
            let read = try ProcessRunner.run("walrus", ["read", id, "--out", out.path] + devnet.config, timeoutSeconds: 60)
            #expect(read.status == 0, "read during recovery: \(read.stderr)")
            #expect(FileManager.default.contents(atPath: out.path) == (try Data(contentsOf: file)))
        }
        // Each rebuilds both slivers of every pair it owns (blob B), bounded in time.
        let admins = Dictionary(try HostileInputTests.processes(devnet.dir).compactMap { row in
            (row["name"] as? String).flatMap { name in (row["admin"] as? String).map { (name, $0) } }
        }, uniquingKeysWith: { a, _ in a })
        for member in missing {
            let admin = try #require(admins[member.name], "\(member.name) has an admin endpoint")
            let deadline = Date().addingTimeInterval(180)
            var rebuilt = 0.0
            while Date() < deadline {
                rebuilt = await Self.metric(admin, "walrus_storage_recovered_slivers_total") ?? 0
                let pending = await Self.metric(admin, "walrus_storage_recovery_pending") ?? 1
                if rebuilt >= Double(2 * member.shards.count) && pending == 0 { break }
                try await Task.sleep(nanoseconds: 500_000_000)
            }
            #expect(rebuilt >= Double(2 * member.shards.count), "\(member.name) rebuilt \(rebuilt) of \(2 * member.shards.count) slivers")
        }
        let seconds = Date().timeIntervalSince(started)
        watch.running.store(false, ordering: .relaxed)
        await watcher.value
        #expect(watch.failures.load(ordering: .relaxed) == 0, "\(watch.failures.load(ordering: .relaxed)) of \(watch.checks.load(ordering: .relaxed)) health checks failed or took a second")
        print("recovery at n = 1000: \(String(format: "%.1f", seconds)) s; \(watch.checks.load(ordering: .relaxed)) health checks, slowest \(watch.slowestMs.load(ordering: .relaxed)) ms")

        // Every pair they own holds both slivers of B.
        let offset = blobB.rotationOffset(shardCount: 1000)
        for member in missing {
            var absent = 0
            for shard in member.shards {
                let pair = ShardIndex(shard).pairIndex(rotationOffset: offset, shardCount: 1000).rawValue
                for axis in ["primary", "secondary"] {
                    let answer = await Self.get("http://\(member.address)/v1/blobs/\(idB)/slivers/\(pair)/\(axis)/status")
                    if answer.map({ String(decoding: $0.1, as: UTF8.self).contains("stored") }) != true { absent += 1 }
                }
            }
            #expect(absent == 0, "\(member.name) lacks \(absent) slivers of blob B")
        }
        // With four of the others stopped (the rest hold too few shards to read alone), B reads.
        let remaining = stayed.dropLast(4).reduce(0) { $0 + $1.shards.count }
        #expect(remaining < 334, "the nodes left up hold \(remaining) shards: enough to read without the rebuilt slivers")
        for member in stayed.suffix(4) { #expect(try ProcessRunner.run("walrus", ["devnet", "kill", member.name] + devnet.net).status == 0) }
        let out = devnet.dir.appendingPathComponent("after")
        let read = try ProcessRunner.run("walrus", ["read", idB, "--out", out.path] + devnet.config, timeoutSeconds: 90)
        #expect(read.status == 0, "read with the recovered nodes: \(read.stderr)")
        #expect(FileManager.default.contents(atPath: out.path) == (try Data(contentsOf: fileB)))
    }
}
