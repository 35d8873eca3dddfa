import ArgumentParser
import ChainClient
import Foundation
import RedStuff
import WalrusAPI
import WalrusClient
import WalrusCore

/// `walrus store-quilt (--paths P… | --blobs JSON…)`: many small files as one blob.
struct StoreQuiltCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store-quilt", abstract: "Store files as one quilt; prints the quilt ID and each file's patch ID.",
        discussion: """
            A quilt holds up to one file per column of the committee's matrix, less one (666 for 1000 shards), \
            and costs about as much as one blob of its size. Each file is read back alone with `read-quilt`.
            --paths takes files and directories (recursively); the file name is the identifier. --blobs takes \
            JSON such as '{"path":"a.pdf","identifier":"paper-v2","tags":{"author":"me"}}'.
            """)

    @Option(parsing: .upToNextOption, help: "Files or directories to store; file names are the identifiers.") var paths: [String] = []
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Files as JSON: {\"path\", \"identifier\"?, \"tags\"?: {k: v}}.", valueName: "json"))
    var blobs: [String] = []
    @Option(help: "Epochs to store for, counted from the current one (or max).") var epochs: String?
    @Option(name: .customLong("end-epoch"), help: "Store until this epoch (exclusive) instead of --epochs.") var endEpoch: UInt32?
    @Option(name: .customLong("earliest-expiry-time"), help: "Store until at least this time (RFC 3339) instead of --epochs.") var earliestExpiryTime: String?
    @Flag(help: "Store permanently (cannot be deleted before it expires).") var permanent = false
    @Flag(help: ArgumentHelp("Store as a deletable quilt (the default).", visibility: .hidden)) var deletable = false
    @Flag(help: "Make the quilt a shared blob (permanent; anyone may fund and extend it).") var share = false
    @Flag(help: "Store again even if the quilt is already certified.") var force = false
    @Flag(name: .customLong("dry-run"), help: "Only lay out and encode; print the quilt ID, encoded size and cost; spend nothing.") var dryRun = false
    @OptionGroup var global: GlobalOptions

    /// Quilt inputs read whole: each file at most the largest blob a quilt can hold, all together
    /// at most `totalBytesMax`.
    static let totalBytesMax = 8 << 30

    func run() async throws {
        guard !paths.isEmpty || !blobs.isEmpty else { throw CLIError.usage("give the files to store with --paths or --blobs") }
        guard [epochs != nil, endEpoch != nil, earliestExpiryTime != nil].filter({ $0 }).count <= 1 else {
            throw CLIError.usage("give one of --epochs, --end-epoch and --earliest-expiry-time")
        }
        guard !(deletable && permanent) else { throw CLIError.usage("a quilt is either --deletable or --permanent") }
        guard !(deletable && share) else { throw CLIError.usage("a shared quilt is permanent: --share and --deletable exclude each other") }
        let expiry = try StoreCommand.expiry(earliestExpiryTime)
        let files = try Self.collect(paths: paths, blobs: blobs)
        let (client, context) = try await connect(global)
        let count = try await StoreCommand.epochs(client, context, epochs: epochs, endEpoch: endEpoch, expiry: expiry)
        let progress: @Sendable (String) -> Void = { message in if !global.quiet { Output.log(message) } }
        if dryRun {
            let estimate: StoreEstimate
            let quilt: Quilt
            do {
                quilt = try await client.layOutQuilt(files)
                estimate = try await client.estimate(quilt.bytes, epochs: count)
            } catch { throw CLIError(error) }
            struct DryRun: Encodable {
                let quiltId: String, unencodedSize: UInt64, encodedSize: UInt64, epochs: UInt32, storageCost: UInt64, transactionFees: UInt64
                let storedQuiltBlobs: [StoredQuiltPatch]
            }
            let patches = quilt.index.patches.map {
                StoredQuiltPatch(identifier: $0.identifier, quiltPatchId: QuiltPatchID(quiltID: estimate.blobID, internalID: $0.internalID).description)
            }
            if global.json {
                Output.json(DryRun(
                    quiltId: estimate.blobID.description, unencodedSize: estimate.unencodedLength, encodedSize: estimate.encodedLength, epochs: count,
                    storageCost: estimate.costFrost, transactionFees: estimate.transactionFeesFrost, storedQuiltBlobs: patches))
            } else {
                Output.result("\(estimate.blobID)\t\(files.count) files\t\(estimate.unencodedLength) B\tencoded \(estimate.encodedLength) B\t\(count) epochs\t\(FROST(estimate.costFrost)) + fees \(FROST(estimate.transactionFeesFrost))")
            }
            return
        }
        let result: QuiltStoreResult
        do {
            result = try await client.storeQuilt(files, epochs: count, permanent: permanent || share, force: force, share: share, progress: progress)
        } catch { throw CLIError(error) }
        if global.json {
            Output.json(result)
        } else {
            Output.result(result.blobStoreResult.blobId?.description ?? "-")
            for patch in result.storedQuiltBlobs { Output.result("\(patch.quiltPatchId)\t\(patch.identifier)") }
        }
        if case .newlyCreated(let object, _, let cost, _) = result.blobStoreResult, !global.quiet {
            Output.log("stored \(files.count) files as quilt \(object.blobId) (object \(object.id)) until epoch \(object.storage.endEpoch), cost \(FROST(cost))")
        }
        if case .markedInvalid = result.blobStoreResult {
            throw CLIError(code: "VERIFICATION_FAILED", "the quilt was marked invalid on this network", exit: .verificationFailed)
        }
    }

    /// The files `--paths` and `--blobs` name, read whole.
    static func collect(paths: [String], blobs: [String]) throws -> [QuiltFile] {
        var entries: [(path: String, identifier: String, tags: [QuiltTag])] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw CLIError(code: "FILE_NOT_FOUND", "cannot read '\(path)': no such file or directory", exit: .usage)
            }
            if isDirectory.boolValue {
                guard let walker = FileManager.default.enumerator(atPath: path) else {
                    throw CLIError(code: "FILE_UNREADABLE", "cannot list directory '\(path)'", exit: .usage)
                }
                var found: [String] = []
                while let relative = walker.nextObject() as? String {
                    let full = (path as NSString).appendingPathComponent(relative)
                    var sub: ObjCBool = false
                    if FileManager.default.fileExists(atPath: full, isDirectory: &sub), !sub.boolValue { found.append(full) }
                }
                for file in found.sorted() { entries.append((file, (file as NSString).lastPathComponent, [])) }
            } else {
                entries.append((path, (path as NSString).lastPathComponent, []))
            }
        }
        struct BlobInput: Decodable {
            let path: String
            let identifier: String?
            let tags: [String: String]?
        }
        for text in blobs {
            let input: BlobInput
            do { input = try JSONDecoder().decode(BlobInput.self, from: Data(text.utf8)) } catch {
                throw CLIError.usage("--blobs takes JSON such as '{\"path\":\"a.txt\",\"identifier\":\"a\",\"tags\":{\"k\":\"v\"}}', not '\(text.prefix(80))'")
            }
            entries.append((input.path, input.identifier ?? (input.path as NSString).lastPathComponent, (input.tags ?? [:]).map { QuiltTag(key: $0.key, value: $0.value) }))
        }
        var seen: [String: String] = [:]
        var total = 0
        var files: [QuiltFile] = []
        for entry in entries {
            if let other = seen[entry.identifier] {
                throw CLIError.usage("'\(entry.path)' and '\(other)' would both be patch '\(entry.identifier)'; identifiers must be distinct (use --blobs with an \"identifier\")")
            }
            seen[entry.identifier] = entry.path
            guard let data = FileManager.default.contents(atPath: entry.path) else {
                throw CLIError(code: "FILE_UNREADABLE", "cannot read '\(entry.path)'", exit: .usage)
            }
            total += data.count
            guard total <= totalBytesMax else { throw CLIError.usage("the files add up to more than \(totalBytesMax >> 30) GiB; store them as several quilts") }
            do { files.append(try QuiltFile(identifier: entry.identifier, tags: entry.tags, data: Array(data))) } catch {
                throw CLIError.usage("'\(entry.path)': \(error.message)")
            }
        }
        return files
    }
}

/// `walrus read-quilt --quilt-id X [--identifiers …|--tag K V] | --quilt-patch-ids …`.
struct ReadQuiltCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read-quilt", abstract: "Read files of a quilt by identifier, tag or patch ID.",
        discussion: "Only the slivers of the files' columns are fetched. With --out the files are written there under their identifiers; a single file without --out goes to stdout.")

    @Option(name: .customLong("quilt-id"), help: "The quilt's blob ID.") var quiltID: String?
    @Option(parsing: .upToNextOption, help: "Identifiers of the files to read.") var identifiers: [String] = []
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Read the files with this tag key and value.", valueName: "key value")) var tag: [String] = []
    @Option(name: .customLong("quilt-patch-ids"), parsing: .upToNextOption, help: "Patch IDs of the files to read.") var patchIDs: [String] = []
    @Option(help: "Directory to write the files to.") var out: String?
    @OptionGroup var global: GlobalOptions

    struct Retrieved: Encodable {
        let identifier: String
        let tags: [String: String]
        let size: Int
        let path: String?
        let blob: String?
    }

    func run() async throws {
        let selections = [!identifiers.isEmpty, !tag.isEmpty, !patchIDs.isEmpty].filter { $0 }.count
        guard selections <= 1 else { throw CLIError.usage("give one of --identifiers, --tag and --quilt-patch-ids") }
        guard tag.isEmpty || tag.count == 2 else { throw CLIError.usage("--tag takes a key and a value") }
        if patchIDs.isEmpty {
            guard quiltID != nil else { throw CLIError.usage("give --quilt-id (or --quilt-patch-ids)") }
        } else {
            guard quiltID == nil else { throw CLIError.usage("--quilt-patch-ids name their quilt; leave out --quilt-id") }
        }
        let parsedPatchIDs: [QuiltPatchID]
        do { parsedPatchIDs = try patchIDs.map { (text) throws(QuiltError) in try QuiltPatchID(parsing: text) } } catch { throw CLIError.usage(error.message) }
        let quilt: BlobID?
        do { quilt = try quiltID.map { (text) throws(CoreError) in try BlobID(parsing: text) } } catch { throw CLIError.usage(error.message) }
        let (client, _) = try await connect(global)
        let files: [QuiltFile]
        do {
            if let quilt {
                let selection: WalrusClient.QuiltSelection =
                    !identifiers.isEmpty ? .identifiers(identifiers) : tag.count == 2 ? .tag(key: tag[0], value: tag[1]) : .all
                files = try await client.readQuilt(quilt, selection)
            } else {
                files = try await client.readQuiltPatches(parsedPatchIDs)
            }
        } catch { throw CLIError(error) }
        if !global.quiet { Output.log("read \(files.count) file(s), \(files.reduce(0) { $0 + $1.data.count }) bytes") }
        guard let out else {
            if global.json {
                Output.json(["retrievedBlobs": files.map { Retrieved(identifier: $0.identifier, tags: Self.tags($0), size: $0.data.count, path: nil, blob: Data($0.data).base64EncodedString()) }])
                return
            }
            guard files.count == 1 else {
                throw CLIError.usage("\(files.count) files were read; give --out DIR to write them (or --json for base64)")
            }
            FileHandle.standardOutput.write(Data(files[0].data))
            return
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var written: [Retrieved] = []
        for file in files {
            let name = file.identifier
            guard !name.contains("/"), name != ".", name != "..", !name.contains("\0") else {
                throw CLIError(code: "FILE_UNWRITABLE", "patch identifier '\(name.prefix(64))' is not a file name; read it with --json or to stdout", exit: .usage)
            }
            let path = (out as NSString).appendingPathComponent(name)
            guard FileManager.default.createFile(atPath: path, contents: Data(file.data)) else {
                throw CLIError(code: "FILE_UNWRITABLE", "cannot write '\(path)'", exit: .usage)
            }
            written.append(Retrieved(identifier: name, tags: Self.tags(file), size: file.data.count, path: path, blob: nil))
        }
        if global.json {
            struct Output_: Encodable { let out: String; let retrievedBlobs: [Retrieved] }
            Output.json(Output_(out: out, retrievedBlobs: written))
        } else {
            for entry in written { Output.result(entry.path ?? entry.identifier) }
        }
    }

    static func tags(_ file: QuiltFile) -> [String: String] { file.tags.dictionary }
}

/// `walrus list-patches-in-quilt <QUILT_ID>`.
struct ListPatchesInQuiltCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-patches-in-quilt", abstract: "List a quilt's files: patch ID, identifier and tags.", aliases: ["resolve-quilt"])

    @Argument(help: "The quilt's blob ID.") var quiltID: String
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let quilt: BlobID
        do { quilt = try BlobID(parsing: quiltID) } catch { throw CLIError.usage(error.message) }
        let (client, _) = try await connect(global)
        let index: QuiltIndex
        do { index = try await client.quiltIndex(quilt) } catch { throw CLIError(error) }
        let items = index.items(quiltID: quilt)
        if global.json {
            struct Listing: Encodable { let quiltId: String; let patches: [QuiltPatchItem] }
            Output.json(Listing(quiltId: quilt.description, patches: items))
        } else {
            for item in items {
                let tags = item.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                Output.result("\(item.patchID)\t\(item.identifier)" + (tags.isEmpty ? "" : "\t\(tags)"))
            }
        }
    }
}
