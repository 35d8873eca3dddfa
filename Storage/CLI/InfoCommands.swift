import ArgumentParser
import ChainClient
import Foundation
import HTTPKit
import RedStuff
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import WalrusClient
import WalrusCore
import WalrusCrypto

private func chainCall<T>(_ body: () async throws(ChainClientError) -> T) async throws -> T {
    do { return try await body() } catch {
        throw CLIError(code: error.code.rawValue, error.message, exit: error.isRetryable ? .unavailable : .internalError)
    }
}

func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    Output.result(String(decoding: data, as: UTF8.self))
}

/// `walrus blob-status <BLOB_ID>`: the blob's registrations on the chain.
struct BlobStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blob-status", abstract: "Show whether a blob is registered, certified or invalid, and until when.")
    @Argument(help: "The blob ID.") var blobID: String
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let id: BlobID
        do { id = try BlobID(parsing: blobID) } catch { throw CLIError.usage(error.message) }
        let (client, _) = try await connect(global)
        let (registrations, invalid) = try await chainCall { () async throws(ChainClientError) in try await client.chain.registrations(id) }
        let epoch = try await chainCall { () async throws(ChainClientError) in try await client.chain.epochInfo() }.epoch
        let live = registrations.filter { $0.endEpoch > epoch }
        let certified = live.filter { $0.certifiedEpoch != nil }
        let permanent = certified.filter { !$0.deletable }
        let status: String = if invalid { "invalid" }
            else if !permanent.isEmpty { "permanent" }
            else if !certified.isEmpty { "deletable" }
            else if !live.isEmpty { "registered" }
            else { "nonexistent" }
        let end = (permanent.isEmpty ? certified : permanent).map(\.endEpoch.rawValue).max()
        if global.json {
            try printJSON([
                "blobId": id.description, "status": status, "currentEpoch": epoch.rawValue,
                "endEpoch": end.map { $0 as Any } ?? NSNull(),
                "registrations": registrations.map { r -> [String: Any] in
                    ["objectId": r.objectID.description, "deletable": r.deletable, "endEpoch": r.endEpoch.rawValue,
                     "certifiedEpoch": r.certifiedEpoch.map { $0.rawValue as Any } ?? NSNull()]
                },
            ])
        } else {
            switch status {
            case "invalid": Output.result("\(id): invalid (the storage nodes proved it inconsistently encoded; it cannot be read)")
            case "permanent", "deletable": Output.result("\(id): certified, \(status), until epoch \(end ?? 0) (now \(epoch.rawValue))")
            case "registered": Output.result("\(id): registered, not certified yet")
            default: Output.result("\(id): nonexistent (never stored, expired or deleted)")
            }
        }
    }
}

/// `walrus info`: the network's epoch, prices and committee.
struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show the network: epoch, prices, shards and storage nodes.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let (client, _) = try await connect(global)
        let info = try await chainCall { () async throws(ChainClientError) in try await client.chain.epochInfo() }
        let committee = try await chainCall { () async throws(ChainClientError) in try await client.chain.committee() }
        let health = try await chainCall { () async throws(ChainClientError) in try await client.chain.health() }
        if global.json {
            try printJSON([
                "chainId": health.chainID, "height": health.height, "epoch": info.epoch.rawValue, "epochState": info.state,
                "epochDurationMs": info.epochDurationMs, "maxEpochsAhead": info.maxEpochsAhead, "nShards": Int(info.shardCount),
                "storagePricePerUnitSize": info.storagePrice.rawValue, "writePricePerUnitSize": info.writePrice.rawValue,
                "maxBlobSize": (try? EncodingConfig(shardCount: info.shardCount))?.maxBlobSize ?? 0,
                "storageNodes": committee.members.map { m -> [String: Any] in
                    ["nodeId": m.nodeID.description, "name": m.name, "networkAddress": m.networkAddress, "nShards": m.shards.count]
                },
            ])
        } else {
            Output.result("chain \(health.chainID) at height \(health.height), epoch \(info.epoch.rawValue) (\(info.state), \(info.epochDurationMs / 1000) s each, stores up to \(info.maxEpochsAhead) epochs ahead)")
            Output.result("prices per MiB of encoded size and epoch: storage \(info.storagePrice), write \(info.writePrice)")
            Output.result("\(info.shardCount) shards on \(committee.members.count) storage nodes; largest blob \((try? EncodingConfig(shardCount: info.shardCount))?.maxBlobSize ?? 0) bytes")
            for m in committee.members { Output.result("  \(m.name)\t\(m.nodeID)\t\(m.networkAddress)\t\(m.shards.count) shards") }
        }
    }
}

/// `walrus health`: asks every storage node of the committee.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "health", abstract: "Ask every storage node of the committee for its health.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let (client, _) = try await connect(global)
        let committee = try await chainCall { () async throws(ChainClientError) in try await client.chain.committee() }
        var rows: [[String: Any]] = []
        let http = HTTPClient()
        for m in committee.members {
            var row: [String: Any] = ["name": m.name, "networkAddress": m.networkAddress, "nShards": m.shards.count]
            // An address that is not host:port counts as unreachable; answers are capped at 1 MiB.
            if let base = m.httpBase,
                let response = try? await http.request(.GET, base + "/v1/health", timeoutSeconds: min(global.timeout, 5), responseBytesMax: 1 << 20),
                response.status == 200, let body = try? JSONSerialization.jsonObject(with: Data(response.body)) {
                row["healthy"] = true
                row["health"] = body
            } else {
                row["healthy"] = false
            }
            rows.append(row)
        }
        let up = rows.filter { $0["healthy"] as? Bool == true }
        if global.json {
            try printJSON(["storageNodes": rows, "healthy": up.count, "total": rows.count])
        } else {
            for row in rows { Output.result("\(row["name"]!)\t\(row["networkAddress"]!)\t\(row["nShards"]!) shards\t\(row["healthy"] as? Bool == true ? "healthy" : "unreachable")") }
        }
        if !global.quiet { Output.log("\(up.count) of \(rows.count) storage nodes answered") }
    }
}

/// `walrus wallet address|balance`.
struct WalletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wallet", abstract: "Create a wallet, or show the wallet of the client config.", subcommands: [New.self, Address.self, Balance.self])

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new wallet key file (mode 0600); prints its address.",
            discussion: "To use it, set wallet_key_file in client_config.yaml; fund it with `walrus transfer ADDRESS AMOUNT` from a funded wallet.")
        @Option(help: "Where to write the key (refuses to overwrite).") var out = "wallet.key"
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let key = Schnorr.PrivateKey.generate()
            do { try KeyFile.write(key, to: out) } catch {
                throw CLIError(code: error.code.rawValue, "\(error.message)", exit: .usage)
            }
            let address = key.publicKey.address
            if global.json { try printJSON(["address": address.description, "keyFile": out]) } else { Output.result(address.description) }
            global.progress("wrote the key of \(address) to \(out); set wallet_key_file: \(out) in client_config.yaml to use it")
        }
    }

    struct Address: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the wallet's address.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let (client, _) = try await connect(global)
            let address = client.builder.address
            if global.json { try printJSON(["address": address.description]) } else { Output.result(address.description) }
        }
    }

    struct Balance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the wallet's WAL balance.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let (client, _) = try await connect(global)
            let address = client.builder.address
            let account = try await chainCall { () async throws(ChainClientError) in try await client.chain.account(address) }
            if global.json {
                try printJSON(["address": address.description, "balanceFrost": account.balance.rawValue])
            } else {
                Output.result("\(account.balance)")
            }
        }
    }
}
