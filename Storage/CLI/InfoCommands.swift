import ArgumentParser
import ChainClient
import Foundation
import HTTPKit
import RedStuff
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import WalrusAPI
import WalrusClient
import WalrusCore
import WalrusCrypto

func chainCall<T>(_ body: () async throws(ChainClientError) -> T) async throws -> T {
    do { return try await body() } catch {
        throw CLIError(code: error.code.rawValue, error.message, exit: error.isRetryable ? .unavailable : .internalError)
    }
}

func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    Output.result(String(decoding: data, as: UTF8.self))
}

/// `walrus blob-status --blob-id ID | --file PATH` (or the blob ID alone): the blob's status as
/// Walrus reports it, from its registrations on the chain.
struct BlobStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blob-status", abstract: "Show whether a blob is registered, certified or invalid, and until when.")
    @OptionGroup var blob: BlobReference
    @OptionGroup var global: GlobalOptions

    /// Walrus's `BlobStatusOutput`.
    struct StatusOutput: Encodable {
        let blobId: BlobID
        let file: String?
        let status: BlobStatus
        let estimatedExpiryTimestamp: String?
    }

    func run() async throws {
        try blob.check()
        let (client, _) = try await connect(global)
        let info = try await chainCall { () async throws(ChainClientError) in try await client.chain.epochInfo() }
        let id = try blob.resolve(shardCount: info.shardCount, global: global)
        let registrations = try await chainCall { () async throws(ChainClientError) in try await client.chain.registrations(id) }
        let status = Self.status(registrations, at: info.epoch)
        var expiry: String?
        if case let .permanent(end, _, _, _, _) = status, let start = info.epochStartMs, end > info.epoch.rawValue {
            let ms = Double(start) + Double(end - info.epoch.rawValue) * Double(info.epochDurationMs)
            expiry = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: ms / 1000))
        }
        if global.json {
            Output.json(StatusOutput(blobId: id, file: blob.file, status: status, estimatedExpiryTimestamp: expiry))
            return
        }
        let now = "(now \(info.epoch.rawValue))"
        switch status {
        case .invalid: Output.result("\(id): invalid (the storage nodes proved it inconsistently encoded; it cannot be read)")
        case let .permanent(end, true, _, _, _): Output.result("\(id): certified, permanent, until epoch \(end) \(now)\(expiry.map { ", about \($0)" } ?? "")")
        case .permanent(_, false, _, _, _): Output.result("\(id): registered, not certified yet")
        case let .deletable(initial, counts) where initial != nil && counts.countDeletableCertified > 0:
            let end = registrations.registrations.filter { $0.deletable && $0.certifiedEpoch != nil && $0.endEpoch > info.epoch }.map(\.endEpoch.rawValue).max() ?? 0
            Output.result("\(id): certified, deletable, until epoch \(end) \(now)")
        case .deletable: Output.result("\(id): registered, not certified yet")
        case .nonexistent: Output.result("\(id): nonexistent (never stored, expired or deleted)")
        }
    }

    /// Walrus's status of a blob ID from its live registrations: invalid; permanent (the
    /// registration reaching furthest, certified ones first, with the event of that status);
    /// deletable; or nonexistent.
    static func status(_ all: BlobRegistrations, at epoch: Epoch) -> BlobStatus {
        if all.invalid { return .invalid(event: all.invalidationEvent) }
        let live = all.registrations.filter { $0.endEpoch > epoch }
        let deletable = live.filter(\.deletable)
        let counts = DeletableCounts(total: UInt32(clamping: deletable.count), certified: UInt32(clamping: deletable.filter { $0.certifiedEpoch != nil }.count))
        let initial = live.compactMap(\.certifiedEpoch).min()?.rawValue
        let permanent = live.filter { !$0.deletable }
        let certified = permanent.filter { $0.certifiedEpoch != nil }
        if let furthest = certified.max(by: { $0.endEpoch < $1.endEpoch }) {
            return .permanent(endEpoch: furthest.endEpoch.rawValue, isCertified: true, statusEvent: furthest.certificationEvent, deletableCounts: counts, initialCertifiedEpoch: initial)
        }
        if let furthest = permanent.max(by: { $0.endEpoch < $1.endEpoch }) {
            return .permanent(endEpoch: furthest.endEpoch.rawValue, isCertified: false, statusEvent: furthest.registrationEvent, deletableCounts: counts, initialCertifiedEpoch: initial)
        }
        if !deletable.isEmpty { return .deletable(initialCertifiedEpoch: initial, deletableCounts: counts) }
        return .nonexistent
    }
}

/// A blob named by its ID (`--blob-id`, or the argument alone) or by a file whose blob ID is
/// computed for the network's shard count (`--file`), as Walrus's commands take it.
struct BlobReference: ParsableArguments {
    @Argument(help: "The blob ID (or use --blob-id or --file).") var positional: String?
    @Option(name: .customLong("blob-id"), help: "The blob ID.") var blobID: String?
    @Option(help: "A file: the blob ID is computed from its content for this network.") var file: String?

    func check() throws {
        guard [positional, blobID, file].compactMap({ $0 }).count == 1 else {
            throw CLIError.usage("name the blob once: a blob ID, --blob-id ID or --file PATH")
        }
    }

    /// The blob ID, given or computed from the file for `shardCount` shards.
    func resolve(shardCount: UInt16, global: GlobalOptions) throws -> BlobID {
        if let file { return try BlobIDCommand.blobID(ofFile: file, shardCount: shardCount, global: global) }
        return try parseBlobID(positional ?? blobID ?? "")
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
