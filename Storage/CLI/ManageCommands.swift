import ArgumentParser
import ChainClient
import Foundation
import WalrusAPI
import WalrusClient
import WalrusCore

/// Parses an object ID argument as a usage error when malformed.
func parseObjectID(_ text: String) throws -> ObjectID {
    do { return try ObjectID(parsing: text) } catch { throw CLIError.usage(error.message) }
}

/// Parses a blob ID argument as a usage error when malformed.
func parseBlobID(_ text: String) throws -> BlobID {
    do { return try BlobID(parsing: text) } catch { throw CLIError.usage(error.message) }
}

/// Parses an amount: `1.5WAL` or `2 WAL` in WAL, a plain number in FROST (1 WAL = 10^9 FROST).
func parseAmount(_ text: String) throws -> FROST {
    do { return try FROST(parsing: text) } catch { throw CLIError.usage(error.message) }
}

/// `walrus verify <BLOB_ID>`: the light-client check of a blob's certification.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check a blob's certification as a light client; exits 6 when it does not verify.",
        discussion: """
            Trusts only the genesis hash pinned in the client config: checks the served genesis against it, the block with \
            the certification by its validators' commit, the certification event and transaction by their Merkle paths, and \
            the confirmation certificate against the committee the block commits to.
            """)

    @Argument(help: "The blob ID.") var blobID: String
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let id = try parseBlobID(blobID)
        let (client, _) = try await connect(global)
        let report: AvailabilityReport
        do { report = try await client.verify(id) } catch { throw CLIError(error) }
        if global.json {
            try printJSON([
                "blobId": id.description, "objectId": report.objectID.description, "verified": true, "deletable": report.deletable,
                "height": report.height, "commitPower": report.commitPower, "totalPower": report.totalPower,
                "certifiedEpoch": report.certifiedEpoch.rawValue, "endEpoch": report.endEpoch.rawValue,
                "signersWeight": report.signersWeight, "nShards": report.shardCount,
                "latestHeight": report.latestHeight, "latestEpoch": report.latestEpoch.rawValue, "available": report.isAvailable,
            ])
            return
        }
        Output.result("verified: blob \(id) was certified")
        Output.result("  genesis      matches the hash pinned by the config")
        Output.result("  commit       block \(report.height) carries precommits of \(report.commitPower) of \(report.totalPower) voting power")
        Output.result("  event        BlobCertified of registration \(report.objectID) is in that block, epoch \(report.certifiedEpoch.rawValue), until epoch \(report.endEpoch.rawValue) (\(report.deletable ? "deletable" : "permanent"))")
        Output.result("  certificate  signed by storage nodes holding \(report.signersWeight) of \(report.shardCount) shards of the committee of epoch \(report.certifiedEpoch.rawValue)")
        Output.result("  now          block \(report.latestHeight), epoch \(report.latestEpoch.rawValue): \(report.isAvailable ? "within" : "past") the certified period")
    }
}

/// `walrus extend --blob-obj-id ID --epochs-extended N` (or `walrus extend <BLOB_ID> --epochs N`).
struct ExtendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extend", abstract: "Extend the storage of a certified blob this wallet owns.",
        discussion: "Name the blob object (--blob-obj-id, as Walrus does) or a blob ID, whose owned registration that ends last is extended.")

    @Argument(help: "A blob ID (or use --blob-obj-id).") var blobID: String?
    @Option(name: .customLong("blob-obj-id"), help: "The blob object's ID (0x and 64 hex digits; `walrus list-blobs`).") var objectID: String?
    @Option(name: .customLong("epochs-extended"), help: "Epochs to add.") var epochsExtended: UInt32?
    @Option(help: ArgumentHelp("Epochs to add (the same as --epochs-extended).", visibility: .hidden)) var epochs: UInt32?
    @Flag(help: "--blob-obj-id names a shared blob: extend it from its funds (anyone may).") var shared = false
    @OptionGroup var global: GlobalOptions

    /// What `extend --json` prints.
    struct Result: Encodable {
        let blobId: BlobID
        let objectId: ObjectID
        let endEpoch: UInt32
        let epochsExtended: UInt32
        let cost: UInt64
    }

    func run() async throws {
        guard (blobID == nil) != (objectID == nil) else { throw CLIError.usage("name the blob once: --blob-obj-id ID, or a blob ID") }
        guard !shared || objectID != nil else { throw CLIError.usage("--shared extends the shared blob --blob-obj-id names") }
        guard let count = epochsExtended ?? epochs, epochsExtended == nil || epochs == nil else {
            throw CLIError.usage("give --epochs-extended N")
        }
        let object = try objectID.map(parseObjectID)
        let id = try blobID.map(parseBlobID)
        let (client, _) = try await connect(global)
        let result: (registration: BlobRegistration, endEpoch: Epoch, costFrost: UInt64)
        do {
            if let object, shared {
                result = try await client.extendShared(sharedID: object, epochs: count)
            } else if let object {
                result = try await client.extend(objectID: object, epochs: count)
            } else if let id {
                result = try await client.extend(id, epochs: count)
            } else {
                return
            }
        } catch { throw CLIError(error) }
        if global.json {
            Output.json(Result(
                blobId: result.registration.blobID, objectId: result.registration.objectID, endEpoch: result.endEpoch.rawValue, epochsExtended: count,
                cost: result.costFrost))
        } else {
            Output.result("\(result.registration.blobID) now stored until epoch \(result.endEpoch.rawValue)")
            global.progress("extended blob object \(result.registration.objectID) by \(count) epochs for \(FROST(result.costFrost))")
        }
    }
}

/// `walrus delete --blob-id ID… | --file PATH… | --object-id ID…` (or `walrus delete <BLOB_ID>`).
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete this wallet's deletable blobs.",
        discussion: "By blob ID or file, every deletable registration of the blob this wallet owns is deleted; by object ID, exactly those objects. Storage nodes remove the data once no other registration of the blob remains. The storage resources return to the wallet.")

    @Argument(help: "A blob ID (or use the options).") var positional: String?
    @Option(name: .customLong("blob-id"), help: "A blob ID (repeatable).") var blobIDs: [String] = []
    @Option(name: .customLong("file"), help: "A file whose blob ID is computed for this network (repeatable).") var files: [String] = []
    @Option(name: .customLong("object-id"), help: "A blob object's ID (repeatable).") var objectIDs: [String] = []
    @Flag(help: "Do not ask for confirmation.") var yes = false
    @OptionGroup var global: GlobalOptions

    /// One line of `delete --json`: the blob, and the objects deleted for it.
    struct Deleted: Encodable {
        let blobId: BlobID
        let file: String?
        let deleted: [ObjectID]
    }

    func run() async throws {
        let named = (positional.map { [$0] } ?? []) + blobIDs
        let kinds = [!named.isEmpty, !files.isEmpty, !objectIDs.isEmpty].filter { $0 }.count
        guard kinds == 1 else { throw CLIError.usage("name the blobs one way: blob IDs (--blob-id), files (--file) or object IDs (--object-id)") }
        let ids = try named.map(parseBlobID)
        let objects = try objectIDs.map(parseObjectID)
        if !yes {
            guard isatty(0) == 1 else { throw CLIError.usage("delete asks for confirmation; pass --yes when not at a terminal") }
            FileHandle.standardError.write(Data("delete \(ids.count + files.count + objects.count) blob(s) this wallet owns? [y/N] ".utf8))
            guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                throw CLIError(code: "ABORTED", "nothing was deleted", exit: .usage)
            }
        }
        let (client, _) = try await connect(global)
        var results: [Deleted] = []
        do {
            if !objects.isEmpty {
                let deleted: [BlobRegistration] = try await client.delete(objectIDs: objects)
                for blobID in Set(deleted.map { $0.blobID }).sorted() {
                    results.append(Deleted(blobId: blobID, file: nil, deleted: deleted.filter { $0.blobID == blobID }.map { $0.objectID }))
                }
            } else {
                var targets = ids.map { ($0, nil as String?) }
                if !files.isEmpty {
                    let shards = try await chainCall { () async throws(ChainClientError) in try await client.chain.epochInfo() }.shardCount
                    targets = try files.map { (try BlobIDCommand.blobID(ofFile: $0, shardCount: shards, global: global), $0) }
                }
                for (id, file) in targets {
                    let deleted: [BlobRegistration] = try await client.delete(id)
                    results.append(Deleted(blobId: id, file: file, deleted: deleted.map { $0.objectID }))
                }
            }
        } catch let error as ClientError { throw CLIError(error) }
        if global.json {
            Output.json(results)
        } else {
            for result in results { for object in result.deleted { Output.result("deleted \(result.blobId) (object \(object))") } }
        }
    }
}

/// `walrus list-blobs [--include-expired]`.
struct ListBlobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-blobs", abstract: "List the blob registrations this wallet owns.")

    @Flag(help: "Also list expired registrations.") var includeExpired = false
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let (client, _) = try await connect(global)
        let blobs: [BlobRegistration]
        do { blobs = try await client.ownedBlobs(includeExpired: includeExpired) } catch { throw CLIError(error) }
        if global.json {
            // As Walrus prints it: the Blob objects.
            Output.json(blobs.map(\.blobObject))
            return
        }
        for b in blobs {
            let state = b.certifiedEpoch.map { "certified in epoch \($0.rawValue)" } ?? "registered"
            Output.result("\(b.blobID)\t\(b.objectID)\t\(b.size) B\tuntil epoch \(b.endEpoch.rawValue)\t\(b.deletable ? "deletable" : "permanent")\t\(state)")
        }
        if blobs.isEmpty { global.progress("this wallet owns no \(includeExpired ? "" : "unexpired ")blob registrations") }
    }
}

/// `walrus transfer <ADDRESS> <AMOUNT>`.
struct TransferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "transfer", abstract: "Send WAL to an address.")

    @Argument(help: "The recipient's address (0x and 64 hex digits).") var address: String
    @Argument(help: "The amount: 1.5WAL, or a whole number of FROST.") var amount: String
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let recipient: Address
        do { recipient = try Address(parsing: address) } catch { throw CLIError.usage(error.message) }
        let frost = try parseAmount(amount)
        let (client, _) = try await connect(global)
        do { try await client.transfer(to: recipient, amount: frost) } catch { throw CLIError(error) }
        let balance = try? await client.balance()
        if global.json {
            try printJSON(["to": recipient.description, "amountFrost": frost.rawValue, "balanceFrost": balance?.rawValue as Any])
        } else {
            Output.result("sent \(frost) to \(recipient)")
            if let balance { global.progress("balance now \(balance)") }
        }
    }
}

/// `walrus stake [add] <NODE_ID> <AMOUNT>`, `walrus stake list`, `walrus stake withdraw <STAKE_ID>`.
struct StakeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stake", abstract: "Stake WAL with a storage node, list this wallet's stakes, and withdraw them.",
        discussion: """
            A stake counts for the committee of the next epoch if it is added before the epoch's midpoint, else for the one \
            after. A withdrawal is requested first and completes once the committee the stake counts for has served: \
            `walrus stake withdraw` does both steps, and says from which epoch to run it again if the WAL is not back yet.
            """,
        subcommands: [Add.self, List.self, Withdraw.self], defaultSubcommand: Add.self)

    static func nodeID(_ text: String) throws -> NodeID {
        do { return try NodeID(parsing: text) } catch { throw CLIError.usage(error.message) }
    }

    static func row(_ s: StakeInfo) -> [String: Any] {
        ["stakeId": s.id.description, "nodeId": s.nodeID.description, "amountFrost": s.amount.rawValue, "activationEpoch": s.activationEpoch.rawValue,
         "withdrawEpoch": s.withdrawEpoch.map { $0.rawValue as Any } ?? NSNull()]
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Stake WAL with a storage node (the default: `walrus stake NODE AMOUNT`).")

        @Argument(help: "The storage node's ID (`walrus info committee`).") var node: String
        @Argument(help: "The amount: 1.5WAL, or a whole number of FROST.") var amount: String
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let nodeID = try StakeCommand.nodeID(node)
            let frost = try parseAmount(amount)
            let (client, _) = try await connect(global)
            let result: (stake: ObjectID, activationEpoch: Epoch)
            do { result = try await client.stake(node: nodeID, amount: frost) } catch { throw CLIError(error) }
            if global.json {
                try printJSON(["stakeId": result.stake.description, "nodeId": nodeID.description, "amountFrost": frost.rawValue, "activationEpoch": result.activationEpoch.rawValue])
            } else {
                Output.result(result.stake.description)
                global.progress("staked \(frost) with \(nodeID); it counts from epoch \(result.activationEpoch.rawValue)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List this wallet's stakes.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let (client, _) = try await connect(global)
            let stakes: [StakeInfo]
            do { stakes = try await client.stakes() } catch { throw CLIError(error) }
            if global.json { return try printJSON(stakes.map(StakeCommand.row)) }
            for s in stakes {
                let state = s.withdrawEpoch.map { "withdrawable from epoch \($0.rawValue)" } ?? "active"
                Output.result("\(s.id)\t\(s.nodeID)\t\(s.amount)\tfrom epoch \(s.activationEpoch.rawValue)\t\(state)")
            }
            if stakes.isEmpty { global.progress("this wallet holds no stakes") }
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "withdraw", abstract: "Request a stake's withdrawal, and take the WAL back once the protocol's delay has passed.",
            discussion: "Exits 0 when the WAL is back; when only the request was made (or is still waiting), prints the epoch to run it again from and exits 0 with \"withdrawn\": false in --json.")

        @Argument(help: "The stake's object ID (`walrus stake list`).") var stake: String
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let id: ObjectID
            do { id = try ObjectID(parsing: stake) } catch { throw CLIError.usage(error.message) }
            let (client, _) = try await connect(global)
            let result: (stake: StakeInfo, withdrawn: Bool, epoch: Epoch)
            do { result = try await client.withdraw(stake: id) } catch { throw CLIError(error) }
            let ready = result.stake.withdrawEpoch?.rawValue ?? 0
            if global.json {
                var row = StakeCommand.row(result.stake)
                row["withdrawn"] = result.withdrawn
                row["epoch"] = result.epoch.rawValue
                return try printJSON(row)
            }
            if result.withdrawn {
                Output.result("withdrew \(result.stake.amount) of stake \(id)")
            } else {
                Output.result("withdrawal of stake \(id) requested; run `walrus stake withdraw \(id)` again from epoch \(ready) (now epoch \(result.epoch.rawValue))")
            }
        }
    }
}
