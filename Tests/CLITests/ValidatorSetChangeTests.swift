import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The consensus set changes while the network runs: a validator that was not in genesis starts as
/// a follower, registers with `walrus-validator join` and enters the set at an epoch change; a
/// genesis validator leaves with `walrus-validator leave`; a delegation moves voting power. Through
/// at least three hand-overs the chain keeps committing, stores keep working, and `walrus verify`
/// checks a blob certified before all of them and one certified after, trusting only the genesis.
@Suite(.serialized) struct ValidatorSetChangeTests {
    static func json(_ text: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }

    static func get(_ url: String) async -> [String: Any]? {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 3
        guard let (data, _) = try? await URLSession.shared.data(for: request) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// The validators as `/v1/validators` lists them, by public key.
    static func validators(_ rpc: String) async -> [String: [String: Any]] {
        let list = (await get(rpc + "/v1/validators"))?["validators"] as? [[String: Any]] ?? []
        return Dictionary(list.compactMap { entry in (entry["publicKey"] as? String).map { ($0, entry) } }, uniquingKeysWith: { a, _ in a })
    }

    static func waitUntil(_ what: String, seconds: Double, _ condition: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await condition() { return }
            try await Task.sleep(nanoseconds: 250_000_000)
        }
        Issue.record("timed out after \(seconds) s waiting for \(what)")
        throw CancellationError()
    }

    @Test(.timeLimit(.minutes(4))) func validatorsJoinLeaveAndVerifyFollows() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-sets-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = DevnetTests.freeBasePort()
        let net = ["--dir", dir.path]
        let up = try ProcessRunner.run("walrus", ["devnet", "up", "--validators", "4", "--nodes", "4", "--shards", "20",
                                                  "--epoch-duration", "6s", "--base-port", "\(base)"] + net, timeoutSeconds: 120)
        defer { _ = try? ProcessRunner.run("walrus", ["devnet", "down"] + net) }
        #expect(up.status == 0, "stderr: \(up.stderr)")
        let config = ["--config", dir.appendingPathComponent("client_config.yaml").path]
        let rpc = "http://127.0.0.1:\(base + 100)"

        // A blob certified by the genesis set.
        let early = dir.appendingPathComponent("early")
        try Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: early)
        let storeEarly = try ProcessRunner.run("walrus", ["store", early.path, "--epochs", "30", "--permanent"] + config, timeoutSeconds: 120)
        #expect(storeEarly.status == 0, "stderr: \(storeEarly.stderr)")
        let earlyID = storeEarly.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        // A fifth validator: its own key and config, started as a follower, then registered.
        let home = dir.appendingPathComponent("candidate")
        let initialize = try ProcessRunner.run("walrus-validator", [
            "init", "--dir", home.path, "--genesis-file", "../genesis.yaml",
            "--p2p-listen", "127.0.0.1:\(base + 9)", "--rpc-listen", "127.0.0.1:\(base + 109)",
        ])
        #expect(initialize.status == 0, "stderr: \(initialize.stderr)")
        let candidateKey = initialize.stdout.split(separator: "\n").first { $0.hasPrefix("public key: ") }.map { String($0.dropFirst(12)) } ?? ""
        let candidate = Process()
        candidate.executableURL = ProcessRunner.productsDirectory.appendingPathComponent("walrus-validator")
        candidate.arguments = ["run", "--config", home.appendingPathComponent("config.yaml").path]
        let log = home.appendingPathComponent("validator.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        candidate.standardError = try FileHandle(forWritingTo: log)
        candidate.standardOutput = FileHandle.nullDevice
        try candidate.run()
        defer {
            kill(candidate.processIdentifier, SIGKILL)
            candidate.waitUntilExit()
        }
        // Not registered yet, it catches up as a follower: validators answer its sync requests.
        let candidateRPC = "http://127.0.0.1:\(base + 109)"
        let target = (await Self.get(rpc + "/v1/health"))?["height"] as? Int ?? 1
        try await Self.waitUntil("the unregistered candidate to catch up", seconds: 60) {
            ((await Self.get(candidateRPC + "/v1/health"))?["height"] as? Int ?? 0) >= target
        }
        #expect((await Self.get(candidateRPC + "/v1/health"))?["validatorIndex"] is NSNull)
        let wallet = dir.appendingPathComponent("client/wallet.key").path
        let join = try ProcessRunner.run("walrus-validator", [
            "join", "--config", home.appendingPathComponent("config.yaml").path, "--wallet", wallet, "--bond", "20000", "--json",
            "--rpc", rpc,
        ], timeoutSeconds: 60)
        #expect(join.status == 0, "stderr: \(join.stderr)")
        #expect(Self.json(join.stdout)["validator"] as? String == candidateKey)
        // Registering twice is refused, with the ledger's code, and exit 1.
        let again = try ProcessRunner.run("walrus-validator", [
            "join", "--config", home.appendingPathComponent("config.yaml").path, "--wallet", wallet, "--bond", "1", "--rpc", rpc,
        ], timeoutSeconds: 60)
        #expect(again.status == 1 && again.stderr.contains("DUPLICATE"), "\(again.stderr)")

        // At an epoch change the candidate, with the most stake, enters the set; it catches up as a
        // follower and then votes: its own RPC reports its index.
        try await Self.waitUntil("the candidate in the set", seconds: 60) {
            (await Self.validators(rpc))[candidateKey]?["index"] as? Int != nil
        }
        try await Self.waitUntil("the candidate reporting its index", seconds: 30) {
            (await Self.get(candidateRPC + "/v1/health"))?["validatorIndex"] as? Int != nil
        }

        // Validator 0 leaves: its operator is its own key, which needs WAL for the fee.
        let validator0 = dir.appendingPathComponent("validator-0")
        let key0 = (await Self.validators(rpc)).first { ($0.value["p2pAddress"] as? String) == "127.0.0.1:\(base)" }?.key ?? ""
        let operator0 = (await Self.validators(rpc))[key0]?["operator"] as? String ?? ""
        #expect(try ProcessRunner.run("walrus", ["transfer", operator0, "5WAL"] + config, timeoutSeconds: 60).status == 0)
        let leave = try ProcessRunner.run("walrus-validator", [
            "leave", "--config", validator0.appendingPathComponent("config.yaml").path, "--wallet", validator0.appendingPathComponent("validator.key").path,
            "--rpc", rpc,
        ], timeoutSeconds: 60)
        #expect(leave.status == 0, "stderr: \(leave.stderr)")
        try await Self.waitUntil("validator 0 out of the set", seconds: 60) {
            let entry = (await Self.validators(rpc))[key0]
            return entry != nil && entry?["index"] as? Int == nil && (entry?["bondFrost"] as? Int) == 0
        }

        // A delegation to validator 1 changes the powers once more.
        let key1 = (await Self.validators(rpc)).first { ($0.value["p2pAddress"] as? String) == "127.0.0.1:\(base + 1)" }?.key ?? ""
        let delegate = try ProcessRunner.run("walrus-validator", [
            "delegate", "--validator", key1, "--amount", "5000", "--wallet", wallet, "--rpc", rpc, "--chain-id", "walrus-devnet",
        ], timeoutSeconds: 60)
        #expect(delegate.status == 0, "stderr: \(delegate.stderr)")
        try await Self.waitUntil("validator 1's power to include the delegation", seconds: 60) {
            (await Self.validators(rpc))[key1]?["power"] as? Int == 15_000
        }

        // At least three hand-overs, each recorded with its block.
        let events = (await Self.get(rpc + "/v1/events?limit=1000"))?["events"] as? [[String: Any]] ?? []
        let changes = events.filter { $0["type"] as? String == "ValidatorSetChanged" }
        #expect(changes.count >= 3, "\(changes.count) set changes")

        // A blob stored after the changes, and both blobs verified from the genesis alone.
        let late = dir.appendingPathComponent("late")
        try Data((0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }).write(to: late)
        let storeLate = try ProcessRunner.run("walrus", ["store", late.path, "--epochs", "30", "--permanent"] + config, timeoutSeconds: 120)
        #expect(storeLate.status == 0, "stderr: \(storeLate.stderr)")
        let lateID = storeLate.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for id in [earlyID, lateID] {
            let verify = try ProcessRunner.run("walrus", ["verify", id, "--json"] + config, timeoutSeconds: 60)
            #expect(verify.status == 0, "\(id): \(verify.stderr)")
            #expect(Self.json(verify.stdout)["verified"] as? Bool == true)
            let read = try ProcessRunner.run("walrus", ["read", id] + config, timeoutSeconds: 60)
            #expect(read.status == 0 && !read.stdout.isEmpty, "\(id): \(read.stderr)")
        }
        // The chain goes on under the last set.
        let before = (await Self.get(rpc + "/v1/health"))?["height"] as? Int ?? 0
        try await Self.waitUntil("three more blocks", seconds: 30) { ((await Self.get(rpc + "/v1/health"))?["height"] as? Int ?? 0) >= before + 3 }
    }
}
