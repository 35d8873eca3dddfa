import Foundation
import Testing
import WalrusCore

/// Networks whose validators and storage nodes each run on a host of their own (network
/// namespaces joined by veth links, `NetworkLab`), as across machines: members come and go while
/// a client stores and reads, and a partition cuts a minority off for 30 s under 50 ± 20 ms of
/// latency. Skipped, saying why, where namespaces cannot be made (they need root).
@Suite(.serialized, .enabled(if: NetworkLab.unavailable == nil, "network namespaces are unavailable: \(NetworkLab.unavailable ?? "")"))
struct MultiHostTests {
    static func json(_ text: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
    static func jsonList(_ text: String) -> [[String: Any]] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? [] }

    /// 4 validators and 5 storage nodes: a fifth validator starts from a snapshot (state sync),
    /// registers and enters the set at the next epoch change; a genesis validator leaves; a sixth
    /// storage node registers and receives shards at an epoch change; a genesis node withdraws its
    /// stake and hands its shards over. A client stores and reads throughout; every blob it got a
    /// certificate for stays readable, and `walrus verify` follows the set changes.
    @Test(.timeLimit(.minutes(6))) func membersJoinAndLeaveWhileAClientStoresAndReads() async throws {
        let net = try await LabNetwork(validators: 4, nodes: 5, extraHosts: ["v4", "n5"], shards: 30, epochSeconds: 15)
        defer { net.shutdown() }
        let lab = net.lab
        try lab.setLink(delayMs: 5, jitterMs: 2)
        let load = try ClientLoad(net)
        var loadStopped = false
        defer { if !loadStopped { load.stop() } }

        // The fifth validator: a key, a config that starts from a snapshot of v1, then the node.
        let home = net.dir.appendingPathComponent("validator-4")
        let initialize = try ProcessRunner.run("walrus-validator", [
            "init", "--dir", home.path, "--genesis-file", "../genesis.yaml",
            "--p2p-listen", "\(lab.address("v4")):\(LabNetwork.p2pPort)", "--rpc-listen", "\(lab.address("v4")):\(LabNetwork.rpcPort)",
        ])
        #expect(initialize.status == 0, "\(initialize.stderr)")
        let key4 = initialize.stdout.split(separator: "\n").first { $0.hasPrefix("public key: ") }.map { String($0.dropFirst(12)) } ?? ""
        try await net.waitUntil("a snapshot on v1", seconds: 90) {
            ((lab.getJSON("client", net.rpc("v1") + "/v1/snapshots")?["snapshots"] as? [Any]) ?? []).count > 0
        }
        let config4 = home.appendingPathComponent("config.yaml")
        try (String(contentsOf: config4, encoding: .utf8) + "\nstate_sync_rpc: [\"\(net.rpc("v1"))\"]\n").write(to: config4, atomically: true, encoding: .utf8)
        try net.startValidator("v4", config: config4.path)
        try await net.waitUntil("v4 to catch up from a snapshot", seconds: 90) {
            (net.height(from: "client", at: "v4") ?? 0) >= (net.height(from: "client", at: "v0") ?? .max) - 2
        }
        // Started from a snapshot: it never held the first blocks.
        let earliest = lab.getJSON("client", net.rpc("v4") + "/v1/health")?["earliestHeight"] as? Int ?? 0
        #expect(earliest > 1, "v4 replayed from genesis instead of starting from a snapshot")
        let join = try lab.run("client", "walrus-validator", [
            "join", "--config", config4.path, "--wallet", net.wallet, "--bond", "20000", "--rpc", net.rpc("v1"), "--json",
        ])
        #expect(join.status == 0, "\(join.stderr)")

        // A sixth storage node: keys and config on its host, WAL for its operator, registered with stake.
        let nodeHome = net.dir.appendingPathComponent("storage-node-5")
        let nodeInit = try ProcessRunner.run("walrus-node", [
            "init", "--dir", nodeHome.path, "--listen", "\(lab.address("n5")):\(LabNetwork.nodePort)",
        ] + net.validators.flatMap { ["--chain-rpc", net.rpc($0)] })
        #expect(nodeInit.status == 0, "\(nodeInit.stderr)")
        let operator5 = nodeInit.stdout.split(separator: "\n").first { $0.hasPrefix("operator address: ") }.map { String($0.dropFirst(18)) } ?? ""
        #expect(try net.walrus(["transfer", operator5, "30000WAL"]).status == 0)
        try net.startNode("n5", config: nodeHome.appendingPathComponent("config.yaml").path)
        let register = try lab.run("client", "walrus-node", [
            "register", "--config", nodeHome.appendingPathComponent("config.yaml").path, "--stake", "20000WAL", "--json",
        ])
        #expect(register.status == 0, "\(register.stderr)")
        let node5 = Self.json(register.stdout)["nodeId"] as? String ?? ""
        // Votes can change after registering.
        let update = try lab.run("client", "walrus-node", [
            "update", "--config", nodeHome.appendingPathComponent("config.yaml").path, "--capacity", "2TiB", "--json",
        ])
        #expect(update.status == 0 && Self.json(update.stdout)["capacityVote"] as? Int == 2 << 40, "\(update.stderr)")

        // Storage node n0 leaves: its operator requests the withdrawal of its whole stake.
        let operator0 = net.dir.appendingPathComponent("storage-node-0/operator.key").path
        let stakes0 = Self.jsonList(try net.walrus(["stake", "list", "--wallet", operator0, "--json"]).stdout)
        let stake0 = stakes0.first?["stakeId"] as? String ?? ""
        #expect(stakes0.count == 1)
        let request = try net.walrus(["stake", "withdraw", stake0, "--wallet", operator0, "--json"])
        #expect(request.status == 0 && Self.json(request.stdout)["withdrawn"] as? Bool == false, "\(request.stderr)")
        let node0 = Self.json(request.stdout)["nodeId"] as? String ?? ""

        // v4 enters the set and votes; n5 gets shards and holds them; n0 is out of the committee.
        try await net.waitUntil("v4 in the validator set", seconds: 90) {
            lab.getJSON("client", net.rpc("v4") + "/v1/health")?["validatorIndex"] as? Int != nil
        }
        try await net.waitUntil("n5 holding its shards and n0 none", seconds: 120) {
            let committee = lab.getJSON("client", net.rpc("v1") + "/v1/committee/current")?["members"] as? [[String: Any]] ?? []
            let ids = committee.compactMap { $0["nodeId"] as? String }
            let health = (lab.getJSON("client", net.nodeURL("n5") + "/v1/health")?["success"] as? [String: Any])?["data"] as? [String: Any]
            let summary = health?["shardSummary"] as? [String: Any]
            let ready = (summary?["ownedShardStatus"] as? [String: Any])?["ready"] as? Int ?? 0
            let epochState = lab.getJSON("client", net.rpc("v1") + "/v1/epoch")?["state"] as? String
            return ids.contains(node5) && !ids.contains(node0) && ready > 0 && ready == summary?["owned"] as? Int && epochState != "changeSync"
        }

        // Genesis validator v0 leaves the set (its key is its operator; it needs WAL for the fee).
        let validators = lab.getJSON("client", net.rpc("v1") + "/v1/validators")?["validators"] as? [[String: Any]] ?? []
        let v0 = validators.first { ($0["p2pAddress"] as? String) == "\(lab.address("v0")):\(LabNetwork.p2pPort)" }
        let operatorOfV0 = v0?["operator"] as? String ?? ""
        let keyOfV0 = v0?["publicKey"] as? String ?? ""
        #expect(try net.walrus(["transfer", operatorOfV0, "5WAL"]).status == 0)
        let leave = try lab.run("client", "walrus-validator", [
            "leave", "--config", net.dir.appendingPathComponent("validator-0/config.yaml").path,
            "--wallet", net.dir.appendingPathComponent("validator-0/validator.key").path, "--rpc", net.rpc("v1"),
        ])
        #expect(leave.status == 0, "\(leave.stderr)")
        try await net.waitUntil("v0 out of the set", seconds: 90) {
            let list = lab.getJSON("client", net.rpc("v1") + "/v1/validators")?["validators"] as? [[String: Any]] ?? []
            let entry = list.first { $0["publicKey"] as? String == keyOfV0 }
            return entry != nil && entry?["index"] as? Int == nil && list.contains { $0["publicKey"] as? String == key4 && $0["index"] as? Int != nil }
        }
        // n0 has handed over: stop it for good, and take its stake back once the delay has passed.
        net.stop("n0")
        net.stop("v0")
        try await net.waitUntil("n0's stake withdrawn", seconds: 60) {
            Self.json(try net.walrus(["stake", "withdraw", stake0, "--wallet", operator0, "--json"]).stdout)["withdrawn"] as? Bool == true
        }

        // A few more rounds of the client after the last change, then every blob is read back.
        let before = load.snapshot.stored.count
        try await net.waitUntil("two more stores", seconds: 90) { load.snapshot.stored.count >= before + 2 }
        load.stop()
        loadStopped = true
        let result = load.snapshot
        #expect(result.stored.count >= 6, "only \(result.stored.count) stores")
        #expect(result.readFailures.isEmpty, "\(result.readFailures.count) of \(result.reads) reads failed: \(result.readFailures.prefix(3))")
        #expect(result.storeFailures.isEmpty, "\(result.storeFailures.count) stores failed: \(result.storeFailures.prefix(3))")
        for blob in result.stored {
            let out = net.dir.appendingPathComponent("final")
            let read = try net.walrus(["read", blob.id, "--out", out.path])
            #expect(read.status == 0 && (try? Data(contentsOf: out)) == blob.bytes, "\(blob.id) unreadable: \(read.stderr.suffix(300))")
        }
        // The first blob verifies from the genesis alone, across the set changes.
        if let first = result.stored.first {
            let verify = try net.walrus(["verify", first.id, "--json"])
            #expect(verify.status == 0 && Self.json(verify.stdout)["verified"] as? Bool == true, "\(verify.stderr)")
        }
    }

    /// 4 validators and 7 storage nodes (5 shards each), 50 ± 20 ms between every two hosts. One
    /// validator and two storage nodes are cut off for 30 s: the majority (3 of 4 validators, 25
    /// of 35 shards) keeps committing and the client keeps storing and reading. After the link
    /// heals the validator catches up, and the two nodes recover their slivers of every blob
    /// stored while they were away.
    @Test(.timeLimit(.minutes(6))) func aMinorityCutOffFor30sCatchesUpAndRecoversItsSlivers() async throws {
        let net = try await LabNetwork(validators: 4, nodes: 7, shards: 35, epochSeconds: 600)
        defer { net.shutdown() }
        let lab = net.lab
        try lab.setLink(delayMs: 50, jitterMs: 20)
        let load = try ClientLoad(net)
        var loadStopped = false
        defer { if !loadStopped { load.stop() } }
        try await net.waitUntil("a first store", seconds: 90) { load.snapshot.stored.count >= 1 }

        let minority = ["v3", "n5", "n6"]
        let storedBefore = load.snapshot.stored.count
        let heightBefore = net.height(from: "client", at: "v0") ?? 0
        try lab.partition(minority)
        let cutAt = Date()
        // The isolated validator does not hear the majority; the majority does not need it.
        try await Task.sleep(nanoseconds: 30_000_000_000)
        let heightDuring = net.height(from: "client", at: "v0") ?? 0
        let isolatedHeight = net.height(from: "v3", at: "v3") ?? 0
        let storedDuring = load.snapshot.stored.count - storedBefore
        try lab.heal()
        let cutSeconds = Date().timeIntervalSince(cutAt)
        #expect(heightDuring >= heightBefore + 10, "the majority committed \(heightDuring - heightBefore) blocks in \(Int(cutSeconds)) s")
        #expect(isolatedHeight < heightDuring, "the isolated validator kept up (\(isolatedHeight) vs \(heightDuring)): was it cut off?")
        #expect(storedDuring >= 2, "only \(storedDuring) stores succeeded during the partition")

        // After healing: the validator catches up with the majority.
        try await net.waitUntil("v3 to catch up", seconds: 60) {
            (net.height(from: "client", at: "v3") ?? 0) >= heightDuring
        }
        // The two nodes recover their slivers of the blobs stored while they were cut off.
        let committee = lab.getJSON("client", net.rpc("v0") + "/v1/committee/current")?["members"] as? [[String: Any]] ?? []
        let missed = Array(load.snapshot.stored[storedBefore...].prefix(storedDuring))
        for host in ["n5", "n6"] {
            let address = "\(lab.address(host)):\(LabNetwork.nodePort)"
            let shards = (committee.first { $0["networkAddress"] as? String == address }?["shards"] as? [Int] ?? []).map { ShardIndex(UInt16($0)) }
            #expect(shards.count == 5, "\(host) holds \(shards.count) shards")
            try await net.waitUntil("\(host) to recover \(missed.count) blobs", seconds: 120) {
                for blob in missed {
                    guard let id = try? BlobID(parsing: blob.id) else { return false }
                    let offset = id.rotationOffset(shardCount: 35)
                    for shard in shards {
                        let pair = shard.pairIndex(rotationOffset: offset, shardCount: 35).rawValue
                        for axis in ["primary", "secondary"] {
                            let answer = lab.getJSON("client", net.nodeURL(host) + "/v1/blobs/\(blob.id)/slivers/\(pair)/\(axis)/status")
                            guard (answer?["success"] as? [String: Any])?["data"] as? String == "stored" else { return false }
                        }
                    }
                }
                return true
            }
        }

        load.stop()
        loadStopped = true
        let result = load.snapshot
        #expect(result.readFailures.isEmpty, "\(result.readFailures.count) of \(result.reads) reads failed: \(result.readFailures.prefix(3))")
        #expect(result.storeFailures.isEmpty, "\(result.storeFailures.count) stores failed: \(result.storeFailures.prefix(3))")
    }
}
