import ArgumentParser
import ChainClient
import Foundation
import HTTPKit
import Transport
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

/// `walrus info [all|epoch|storage|size|price|bft|committee]`: the network, as Walrus's `info`
/// prints it (`InfoOutput` and its parts under `--json`).
struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show the network: epoch, prices, shards and storage nodes.",
        discussion: "With no part: epoch, storage, size and price. `all` adds the committee and the BFT thresholds.")

    enum Part: String, ExpressibleByArgument, CaseIterable {
        case all, epoch, storage, size, price, bft, committee
    }

    @Argument(help: "The part to show: all, epoch, storage, size, price, bft or committee.") var part: Part?
    @OptionGroup var global: GlobalOptions

    struct EpochOutput: Encodable {
        /// Walrus's `EpochTimeOrMessage`: `{"DateTime": …}` or `{"Message": …}`.
        enum Start: Encodable {
            case dateTime(String)
            case message(String)
            func encode(to encoder: any Encoder) throws {
                var c = encoder.singleValueContainer()
                switch self {
                case .dateTime(let text): try c.encode(["DateTime": text])
                case .message(let text): try c.encode(["Message": text])
                }
            }
        }
        let currentEpoch: UInt32
        let startOfCurrentEpoch: Start
        let epochDuration: ServiceHealthInfo.Duration
        let maxEpochsAhead: UInt32
    }

    struct StorageOutput: Encodable {
        let nShards: UInt16
        let nNodes: Int
    }

    struct SizeOutput: Encodable {
        let storageUnitSize: UInt64
        let maxBlobSize: UInt64
    }

    struct ExampleBlob: Encodable {
        let unencodedSize: UInt64
        let encodedSize: UInt64
        let price: UInt64
        let encodingType: EncodingTypeName
    }

    struct EncodingPrice: Encodable {
        let marginalSize: UInt64
        let metadataPrice: UInt64
        let marginalPrice: UInt64
        let exampleBlobs: [ExampleBlob]
        let encodingType: EncodingTypeName
    }

    struct PriceOutput: Encodable {
        let storagePricePerUnitSize: UInt64
        let writePricePerUnitSize: UInt64
        let encodingDependentPriceInfo: [EncodingPrice]
    }

    struct NodeOutput: Encodable {
        let name: String
        let networkAddress: String
        let publicKey: String
        let networkPublicKey: String
        let nShards: Int
        let shardIds: [UInt16]
        let nodeId: NodeID
        let stake: UInt64
    }

    struct CommitteeOutput: Encodable {
        let nShards: UInt16
        let nPrimarySourceSymbols: Int
        let nSecondarySourceSymbols: Int
        let maxSliverSize: UInt64
        let metadataStorageSize: UInt64
        let maxEncodedBlobSize: UInt64
        let storageNodes: [NodeOutput]
        let nextStorageNodes: [NodeOutput]?

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case nShards, nPrimarySourceSymbols, nSecondarySourceSymbols, maxSliverSize, metadataStorageSize, maxEncodedBlobSize, storageNodes, nextStorageNodes
            }
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(nShards, forKey: .nShards)
            try c.encode(nPrimarySourceSymbols, forKey: .nPrimarySourceSymbols)
            try c.encode(nSecondarySourceSymbols, forKey: .nSecondarySourceSymbols)
            try c.encode(maxSliverSize, forKey: .maxSliverSize)
            try c.encode(metadataStorageSize, forKey: .metadataStorageSize)
            try c.encode(maxEncodedBlobSize, forKey: .maxEncodedBlobSize)
            try c.encode(storageNodes, forKey: .storageNodes)
            try c.encode(nextStorageNodes, forKey: .nextStorageNodes)
        }
    }

    struct BFTOutput: Encodable {
        let maxFaultyShards: Int
        let minCorrectShards: Int
        let quorumThreshold: Int
        let minNodesAbove: Int
        let shardsAbove: Int
    }

    /// Walrus's `InfoOutput`.
    struct InfoOutput: Encodable {
        let epochInfo: EpochOutput
        let storageInfo: StorageOutput
        let sizeInfo: SizeOutput
        let priceInfo: PriceOutput
        let committeeInfo: CommitteeOutput?
        let bftInfo: BFTOutput?
    }

    func run() async throws {
        let (client, _) = try await connect(global)
        let info = try await chainCall { () async throws(ChainClientError) in try await client.chain.epochInfo() }
        let committee = try await chainCall { () async throws(ChainClientError) in try await client.chain.committee() }
        let config: EncodingConfig
        do { config = try EncodingConfig(shardCount: info.shardCount) } catch { throw CLIError(error) }
        let epoch = EpochOutput(
            currentEpoch: info.epoch.rawValue,
            startOfCurrentEpoch: info.epochStartMs.map { .dateTime(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double($0) / 1000))) }
                ?? .message("Epoch change is currently in progress"),
            epochDuration: .init(seconds: Double(info.epochDurationMs) / 1000), maxEpochsAhead: info.maxEpochsAhead)
        let storage = StorageOutput(nShards: info.shardCount, nNodes: committee.members.count)
        let size = SizeOutput(storageUnitSize: Limits.storageUnitBytes, maxBlobSize: config.maxBlobSize)
        let price = PriceOutput(
            storagePricePerUnitSize: info.storagePrice.rawValue, writePricePerUnitSize: info.writePrice.rawValue,
            encodingDependentPriceInfo: [Self.prices(config, storagePrice: info.storagePrice.rawValue)])
        var committeeOutput: CommitteeOutput?
        if part == .all || part == .committee {
            let next = try? await client.chain.committee(Epoch(info.epoch.rawValue &+ 1))
            committeeOutput = Self.committee(config, committee, next: next?.epoch.rawValue == info.epoch.rawValue &+ 1 ? next : nil)
        }
        let bft = Self.bft(config, committee)
        if global.json {
            switch part {
            case .epoch: Output.json(epoch)
            case .storage: Output.json(storage)
            case .size: Output.json(size)
            case .price: Output.json(price)
            case .bft: Output.json(bft)
            case .committee: Output.json(committeeOutput)
            case .all: Output.json(InfoOutput(epochInfo: epoch, storageInfo: storage, sizeInfo: size, priceInfo: price, committeeInfo: committeeOutput, bftInfo: bft))
            case nil: Output.json(InfoOutput(epochInfo: epoch, storageInfo: storage, sizeInfo: size, priceInfo: price, committeeInfo: nil, bftInfo: nil))
            }
            return
        }
        let show = { (p: Part) in part == nil || part == .all || part == p }
        if show(.epoch) {
            Output.result("epoch \(info.epoch.rawValue) (\(info.state)), \(info.epochDurationMs / 1000) s each; stores up to \(info.maxEpochsAhead) epochs ahead")
        }
        if show(.storage) { Output.result("\(info.shardCount) shards on \(committee.members.count) storage nodes") }
        if show(.size) { Output.result("storage unit \(Limits.storageUnitBytes) bytes; largest blob \(config.maxBlobSize) bytes") }
        if show(.price) {
            Output.result("prices per storage unit (MiB of encoded size): storage \(info.storagePrice) an epoch, write \(info.writePrice)")
            for example in price.encodingDependentPriceInfo[0].exampleBlobs {
                Output.result("  \(example.unencodedSize) bytes (\(example.encodedSize) encoded): \(FROST(example.price)) an epoch")
            }
        }
        if part == .all || part == .bft {
            Output.result("BFT: up to \(bft.maxFaultyShards) faulty shards; a quorum is \(bft.quorumThreshold) shards")
        }
        if part == .all || part == .committee {
            for m in committee.members.sorted(by: { $0.name.lowercased() < $1.name.lowercased() }) {
                Output.result("  \(m.name)\t\(m.nodeID)\t\(m.networkAddress)\t\(m.shards.count) shards\t\(FROST(m.stake)) staked")
            }
        }
    }

    /// Walrus's price table: the metadata's price, 1 MiB's, and three example blobs, an epoch each.
    static func prices(_ config: EncodingConfig, storagePrice: UInt64) -> EncodingPrice {
        let n = UInt64(config.n)
        let metadataSize = n * (64 * n + 32)
        func units(_ bytes: UInt64) -> UInt64 { Limits.storageUnits(bytes) }
        var marginal: UInt64 = 1 << 20
        while marginal > config.maxBlobSize { marginal /= 4 }
        let slivers = { (length: UInt64) -> UInt64 in
            let symbol = UInt64((try? config.symbolSize(forLength: length)) ?? 0)
            return n * UInt64(config.primarySourceSymbols + config.secondarySourceSymbols) * symbol
        }
        // The power of two at or above the largest blob, over 1024.
        let first = (config.maxBlobSize <= 1 ? 1 : UInt64(1) << (64 - (config.maxBlobSize - 1).leadingZeroBitCount)) / 1024
        let examples = [first, first &* 32, config.maxBlobSize].map { size -> ExampleBlob in
            let encoded = (try? config.encodedBlobLength(forLength: size)) ?? 0
            return ExampleBlob(unencodedSize: size, encodedSize: encoded, price: units(encoded) &* storagePrice, encodingType: .rs2)
        }
        return EncodingPrice(
            marginalSize: marginal, metadataPrice: units(metadataSize) &* storagePrice, marginalPrice: units(slivers(marginal)) &* storagePrice,
            exampleBlobs: examples, encodingType: .rs2)
    }

    static func committee(_ config: EncodingConfig, _ committee: CommitteeInfo, next: CommitteeInfo?) -> CommitteeOutput {
        func nodes(_ c: CommitteeInfo) -> [NodeOutput] {
            c.members.map { m in
                let key = Data(m.publicKey.bytes).base64EncodedString()
                return NodeOutput(
                    name: m.name, networkAddress: m.networkAddress, publicKey: key,
                    networkPublicKey: m.networkPublicKey.map { Data($0.bytes).base64EncodedString() } ?? key, nShards: m.shards.count,
                    shardIds: m.shards.map(\.rawValue), nodeId: m.nodeID, stake: m.stake)
            }.sorted { $0.name.lowercased() < $1.name.lowercased() }
        }
        let n = UInt64(config.n)
        return CommitteeOutput(
            nShards: UInt16(config.n), nPrimarySourceSymbols: config.primarySourceSymbols, nSecondarySourceSymbols: config.secondarySourceSymbols,
            maxSliverSize: UInt64(config.secondarySourceSymbols) * Limits.symbolBytesMax, metadataStorageSize: n * (64 * n + 32),
            maxEncodedBlobSize: (try? config.encodedBlobLength(forLength: config.maxBlobSize)) ?? 0, storageNodes: nodes(committee),
            nextStorageNodes: next.map(nodes))
    }

    /// f, n − f, 2f + 1, and the fewest nodes (largest first) holding more than f shards.
    static func bft(_ config: EncodingConfig, _ committee: CommitteeInfo) -> BFTOutput {
        let f = config.maxFaulty
        var nodes = 0, shards = 0
        for count in committee.members.map(\.shards.count).sorted(by: >) where shards <= f {
            nodes += 1
            shards += count
        }
        return BFTOutput(maxFaultyShards: f, minCorrectShards: config.n - f, quorumThreshold: 2 * f + 1, minNodesAbove: nodes, shardsAbove: shards)
    }
}

/// `walrus health [--committee | --node-ids ID… | --node-urls HOST:PORT…]`: each storage node's
/// health document, as Walrus's `health` prints it.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Ask storage nodes for their health (the committee's by default).")
    @Flag(help: "Ask every node of the current committee (the default).") var committee = false
    @Option(name: .customLong("node-ids"), parsing: .upToNextOption, help: "Ask these committee nodes (IDs from `walrus info committee`).") var nodeIDs: [String] = []
    @Option(name: .customLong("node-urls"), parsing: .upToNextOption, help: "Ask the nodes at these addresses (host:port).") var nodeURLs: [String] = []
    @Flag(help: "Include each shard's state.") var detail = false
    @Option(name: .customLong("sort-by"), help: "Order by status, name, id or url (default: status, then name).") var sortBy: SortKey = .status
    @Flag(help: "Reverse the order.") var desc = false
    @Option(name: .customLong("concurrent-requests"), help: "Nodes asked at once.") var concurrentRequests = 60
    @OptionGroup var global: GlobalOptions

    enum SortKey: String, ExpressibleByArgument, CaseIterable { case status, name, id, url }

    static func parseNodeID(_ text: String) throws -> NodeID {
        do { return try NodeID(parsing: text) } catch { throw CLIError.usage(error.message) }
    }

    /// Walrus's `Result<ServiceHealthInfo, String>`: `{"Ok": …}` or `{"Err": "…"}`.
    enum Outcome: Encodable {
        case ok(ServiceHealthInfo)
        case err(String)
        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case ok = "Ok"
                case err = "Err"
            }
            var c = encoder.container(keyedBy: Keys.self)
            switch self {
            case .ok(let info): try c.encode(info, forKey: .ok)
            case .err(let message): try c.encode(message, forKey: .err)
            }
        }
    }

    /// Walrus's `NodeHealthOutput`.
    struct NodeHealth: Encodable {
        let nodeId: NodeID?
        let nodeUrl: String
        let nodeName: String
        let networkPublicKey: String?
        let healthInfo: Outcome
    }

    struct HealthOutput: Encodable { let healthInfo: [NodeHealth] }

    func run() async throws {
        let selectors = [committee, !nodeIDs.isEmpty, !nodeURLs.isEmpty].filter { $0 }.count
        guard selectors <= 1 else { throw CLIError.usage("choose the nodes once: --committee, --node-ids or --node-urls") }
        guard (1...1000).contains(concurrentRequests) else { throw CLIError.usage("--concurrent-requests is from 1 to 1000") }
        let ids = try nodeIDs.map(Self.parseNodeID)
        var targets: [(id: NodeID?, url: String, name: String, key: String?, base: String?)] = []
        if nodeURLs.isEmpty {
            let (client, _) = try await connect(global)
            let members = try await chainCall { () async throws(ChainClientError) in try await client.chain.committee() }.members
            for id in ids where !members.contains(where: { $0.nodeID == id }) { throw CLIError(code: "NOT_FOUND", "node \(id) is not in the current committee", exit: .notFound) }
            for m in members where ids.isEmpty || ids.contains(m.nodeID) {
                targets.append((m.nodeID, m.networkAddress, m.name, Data(m.networkPublicKey?.bytes ?? m.publicKey.bytes).base64EncodedString(), m.httpBase))
            }
        } else {
            for url in nodeURLs {
                guard (try? NetworkAddress(parsing: url)) != nil else { throw CLIError.usage("--node-urls takes host:port, not '\(url)'") }
                targets.append((nil, url, url, nil, (try? NetworkAddress(parsing: url))?.httpBase))
            }
        }
        let timeout = min(global.timeout, 5), detailed = detail, limit = concurrentRequests
        let http = HTTPClient(security: TLSClient.shared)
        var results: [NodeHealth] = []
        await withTaskGroup(of: NodeHealth.self) { group in
            var next = 0
            func add() {
                guard next < targets.count else { return }
                let t = targets[next]
                next += 1
                group.addTask {
                    // An address that is not host:port counts as unreachable; answers are capped at 1 MiB.
                    guard let base = t.base else {
                        return NodeHealth(nodeId: t.id, nodeUrl: t.url, nodeName: t.name, networkPublicKey: t.key, healthInfo: .err("not a host:port address"))
                    }
                    let outcome: Outcome
                    do {
                        let response = try await http.request(.GET, base + "/v1/health" + (detailed ? "?detailed=true" : ""), timeoutSeconds: timeout, responseBytesMax: 1 << 20)
                        if response.status == 200, let info = try? WalrusJSON.decode(NodeSuccess<ServiceHealthInfo>.self, from: response.body).success.data {
                            outcome = .ok(info)
                        } else {
                            outcome = .err("HTTP \(response.status): not a health document")
                        }
                    } catch {
                        outcome = .err("unreachable: \(error)")
                    }
                    return NodeHealth(nodeId: t.id, nodeUrl: t.url, nodeName: t.name, networkPublicKey: t.key, healthInfo: outcome)
                }
            }
            for _ in 0..<limit { add() }
            for await result in group {
                results.append(result)
                add()
            }
        }
        results.sort { a, b in
            let key: (NodeHealth) -> String = switch sortBy {
            case .name: { $0.nodeName.lowercased() }
            case .id: { $0.nodeId?.description ?? "" }
            case .url: { $0.nodeUrl.lowercased() }
            case .status: {
                if case .ok(let info) = $0.healthInfo { return "0" + info.nodeStatus.lowercased() + " " + $0.nodeName.lowercased() }
                return "1 " + $0.nodeName.lowercased()
            }
            }
            return key(a) < key(b)
        }
        if desc { results.reverse() }
        let up = results.filter { if case .ok = $0.healthInfo { true } else { false } }.count
        if global.json {
            Output.json(HealthOutput(healthInfo: results))
        } else {
            for r in results {
                switch r.healthInfo {
                case .ok(let info):
                    Output.result("\(r.nodeName)\t\(r.nodeUrl)\t\(info.nodeStatus)\tepoch \(info.epoch)\t\(info.shardSummary.owned) shards (\(info.shardSummary.ownedShardStatus.ready) ready)")
                case .err(let message):
                    Output.result("\(r.nodeName)\t\(r.nodeUrl)\tunreachable\t\(message)")
                }
            }
        }
        if !global.quiet { Output.log("\(up) of \(results.count) storage nodes answered") }
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
