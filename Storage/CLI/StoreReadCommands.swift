import ArgumentParser
import CFileIO
import Foundation
import RedStuff
import ChainClient
import WalrusAPI
import WalrusClient
import WalrusCore

/// Connects the SDK with the global options.
func connect(_ global: GlobalOptions) async throws -> (WalrusClient, ClientConfig.Context) {
    do {
        let (config, _) = try ClientConfig.load(explicit: global.config)
        var context = try config.context(global.context)
        if let wallet = global.wallet { context.walletKeyFile = wallet }
        return (try await WalrusClient.connect(context, timeoutSeconds: global.timeout), context)
    } catch { throw CLIError(error) }
}

/// `walrus store <FILE|-> [FILE…]`.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Store files as blobs; prints each blob ID.",
        discussion: "Blobs are deletable unless --permanent is given. Progress goes to stderr, blob IDs to stdout.")

    @Argument(help: "Files to store, or - for standard input.") var files: [String]
    @Option(help: "Epochs to store for, counted from the current one (or max).") var epochs: String?
    @Option(name: .customLong("end-epoch"), help: "Store until this epoch (exclusive) instead of --epochs.") var endEpoch: UInt32?
    @Option(name: .customLong("earliest-expiry-time"), help: "Store until at least this time (RFC 3339, say 2027-01-31T12:00:00Z) instead of --epochs.")
    var earliestExpiryTime: String?
    @Flag(help: "Store permanently (cannot be deleted before it expires).") var permanent = false
    @Flag(help: ArgumentHelp("Store as a deletable blob (the default).", visibility: .hidden)) var deletable = false
    @Flag(help: "Make each new blob a shared blob (permanent; anyone may fund and extend it).") var share = false
    @Flag(help: "Store again even if the blob is already certified.") var force = false
    @Flag(name: .customLong("dry-run"), help: "Only encode and print the blob ID, encoded size and cost; spend nothing.") var dryRun = false
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        guard [epochs != nil, endEpoch != nil, earliestExpiryTime != nil].filter({ $0 }).count <= 1 else {
            throw CLIError.usage("give one of --epochs, --end-epoch and --earliest-expiry-time")
        }
        guard !(deletable && permanent) else { throw CLIError.usage("a blob is either --deletable or --permanent") }
        guard !(deletable && share) else { throw CLIError.usage("a shared blob is permanent: --share and --deletable exclude each other") }
        let permanent = permanent || share
        let expiry = try StoreCommand.expiry(earliestExpiryTime)
        let (client, context) = try await connect(global)
        let count = try await StoreCommand.epochs(client, context, epochs: epochs, endEpoch: endEpoch, expiry: expiry)
        var results: [Any] = []
        var failure: CLIError?
        for file in files {
            // A file is read when the encoder asks for it, straight into the encoder's matrix;
            // standard input (of unknown length) is read first.
            var bytes: [UInt8] = []
            var input: (fd: Int32, length: UInt64)?
            if file == "-" {
                bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
            } else {
                input = try BlobInput.open(file)
            }
            defer { if let input { close(input.fd) } }
            if dryRun, let input {
                bytes = [UInt8](repeating: 0, count: Int(input.length))
                let failure: CLIError? = bytes.withUnsafeMutableBytes { target in
                    do throws(CLIError) { try BlobInput.readFully(input.fd, into: target, path: file) } catch { return error }
                    return nil
                }
                if let failure { throw failure }
            }
            if dryRun {
                let estimate: StoreEstimate
                do { estimate = try await client.estimate(bytes, epochs: count) } catch { throw CLIError(error) }
                results.append([
                    "path": file, "blobId": estimate.blobID.description, "encodingType": EncodingTypeName.rs2.rawValue, "unencodedSize": estimate.unencodedLength,
                    "encodedSize": estimate.encodedLength, "epochs": estimate.epochs, "storageCost": estimate.costFrost,
                    "transactionFees": estimate.transactionFeesFrost,
                ])
                if !global.json {
                    Output.result(
                        "\(estimate.blobID)\t\(estimate.unencodedLength) B\tencoded \(estimate.encodedLength) B\t\(count) epochs\t\(FROST(estimate.costFrost)) + fees \(FROST(estimate.transactionFeesFrost))")
                }
                continue
            }
            let result: BlobStoreResult
            do {
                let progress: @Sendable (String) -> Void = { message in if !global.quiet { Output.log(message) } }
                if let input, let mapped = MappedFile(path: file, fd: input.fd, length: input.length) {
                    var inputError: CLIError?
                    do {
                        result = try await client.store(length: input.length, epochs: count, permanent: permanent, force: force, share: share, progress: progress) { config in
                            do { return try mapped.matrix(config: config, json: global.json, doing: "stored") } catch let error as CLIError {
                                inputError = error
                                throw error
                            }
                        }
                    } catch {
                        // The file's own error (too large, changed while read), or a store that
                        // failed because the file changed under it, is reported as such.
                        if let inputError { throw inputError }
                        try mapped.checkUnchanged(during: "stored")
                        throw error
                    }
                    // Certified: the nodes verified every sliver against the blob ID, so the blob
                    // holds the file's bytes as they were encoded, whatever happened to it since.
                    if (try? mapped.checkUnchanged(during: "stored")) == nil {
                        Output.log("warning: '\(file)' changed while it was being stored; blob \(result.blobId.map { $0.description } ?? "-") holds its content from before the change")
                    }
                } else if let input {
                    result = try await client.store(length: input.length, epochs: count, permanent: permanent, force: force, share: share, progress: progress) { target in
                        try BlobInput.readForStore(input.fd, into: target, path: file)
                    }
                } else {
                    result = try await client.store(bytes, epochs: count, permanent: permanent, force: force, share: share, progress: progress)
                }
            } catch let error as ClientError {
                throw CLIError(error)
            }
            // As Walrus's `BlobStoreResultWithPath`: the result and the file it came from.
            results.append(try JSONSerialization.jsonObject(with: Data(WalrusJSON.encode(result))))
            results[results.count - 1] = ["blobStoreResult": results[results.count - 1], "path": file]
            let blobID = result.blobId?.description ?? "-"
            if !global.json { Output.result(blobID) }
            switch result {
            case let .newlyCreated(object, operation, cost, _):
                if !global.quiet { Output.log("stored \(file) as \(blobID) (object \(object.id), \(operation.name)) until epoch \(object.storage.endEpoch), cost \(FROST(cost))") }
            case let .alreadyCertified(_, endEpoch, _):
                if !global.quiet { Output.log("\(file) is already stored as \(blobID) until epoch \(endEpoch)") }
            case .markedInvalid:
                // Printed with the others, then the command fails: a partial failure never exits 0.
                failure = CLIError(code: "VERIFICATION_FAILED", "\(file) is blob \(blobID), which was marked invalid on this network: it cannot be stored", exit: .verificationFailed)
                Output.log(failure?.message ?? "")
            case let .error(_, phase, message):
                failure = CLIError(code: "INTERNAL", "\(file) was not stored (\(phase)): \(message)", exit: .internalError)
            }
        }
        if global.json {
            let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys, .withoutEscapingSlashes])
            Output.result(String(decoding: data, as: UTF8.self))
        }
        if let failure { throw failure }
    }

    /// `--earliest-expiry-time` parsed (RFC 3339), checked before anything connects.
    static func expiry(_ text: String?) throws -> Date? {
        guard let text else { return nil }
        guard let date = ISO8601DateFormatter().date(from: text) else {
            throw CLIError.usage("--earliest-expiry-time is an RFC 3339 time such as 2027-01-31T12:00:00Z, not '\(text)'")
        }
        return date
    }

    /// The epochs a store (or quilt store) runs for: the context's default, or what the epoch
    /// options ask for against the chain's current epoch.
    static func epochs(_ client: WalrusClient, _ context: ClientConfig.Context, epochs: String?, endEpoch: UInt32?, expiry: Date?) async throws -> UInt32 {
        guard epochs != nil || endEpoch != nil || expiry != nil else { return context.defaultEpochs }
        let info = try await chainCall { () async throws(ChainClientError) in try await client.chain.epochInfo() }
        return try epochCount(epochs: epochs, endEpoch: endEpoch, expiry: expiry, info: info, now: Date())
    }

    /// The epochs a store asks for: `--epochs N|max`, `--end-epoch E` (exclusive, after the
    /// current epoch), or `--earliest-expiry-time T` (the fewest epochs whose end starts at or
    /// after T, counted from the current epoch's start).
    static func epochCount(epochs: String?, endEpoch: UInt32?, expiry: Date?, info: EpochInfo, now: Date) throws -> UInt32 {
        let current = info.epoch.rawValue
        let count: UInt32
        if let epochs {
            if epochs == "max" {
                count = info.maxEpochsAhead
            } else {
                guard let value = UInt32(epochs), value > 0 else { throw CLIError.usage("--epochs is a positive number or max, not '\(epochs)'") }
                count = value
            }
        } else if let endEpoch {
            guard endEpoch > current else { throw CLIError.usage("--end-epoch \(endEpoch) is not after the current epoch \(current)") }
            count = endEpoch - current
        } else if let expiry {
            let startMs = Double(info.epochStartMs ?? UInt64(max(0, now.timeIntervalSince1970 * 1000)))
            let neededMs = expiry.timeIntervalSince1970 * 1000 - startMs
            let duration = Double(max(info.epochDurationMs, 1))
            let epochs = max(1, (neededMs / duration).rounded(.up))
            guard epochs <= Double(info.maxEpochsAhead) else {
                throw CLIError.usage("--earliest-expiry-time is \(Int(epochs)) epochs away; this network stores at most \(info.maxEpochsAhead) epochs ahead")
            }
            count = UInt32(epochs)
        } else {
            throw CLIError.usage("no epochs given")
        }
        guard count <= info.maxEpochsAhead else {
            throw CLIError.usage("\(count) epochs is more than this network's limit of \(info.maxEpochsAhead) epochs ahead")
        }
        return count
    }
}

/// `walrus read <BLOB_ID> [--out PATH|-]`.
struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read", abstract: "Read a blob; writes its bytes to stdout or --out.")

    @Argument(help: "The blob ID.") var blobID: String
    @Option(help: "Write the blob to this file (- for stdout).") var out: String?
    @Flag(name: .customLong("strict-consistency-check"), help: "Re-encode the blob and check the blob ID.") var strict = false
    @Flag(name: .customLong("skip-consistency-check"), help: "Skip the check after decoding (trusted writers only).") var skip = false
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        guard !(strict && skip) else { throw CLIError.usage("--strict-consistency-check and --skip-consistency-check exclude each other") }
        let id: BlobID
        do { id = try BlobID(parsing: blobID) } catch { throw CLIError.usage(error.message) }
        guard !(global.json && out == "-") else { throw CLIError.usage("--json prints the blob in base64 on stdout; it cannot also write it there (--out -)") }
        let (client, _) = try await connect(global)
        let target = out.flatMap { $0 == "-" ? nil : $0 }
        // The blob is written from where the SDK holds it (no copy); a failed write is an errno.
        // With --json and no file, it is printed in base64 in Walrus's `ReadOutput`.
        let failure: Int32?
        var base64: String?
        do {
            failure = try await client.read(id, check: strict ? .strict : skip ? .skip : .default, progress: { message in
                if global.verbose { Output.log(message) }
            }) { blob in
                if global.json && target == nil {
                    base64 = Data(blob).base64EncodedString()
                    return nil
                }
                guard let target else { return Self.writeAll(STDOUT_FILENO, blob) ? nil : errno }
                // Written beside the target and renamed, so that a failed read never leaves half a file.
                let partial = target + ".partial-\(getpid())"
                let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                guard fd >= 0, Self.writeFile(fd, blob), close(fd) == 0, rename(partial, target) == 0 else {
                    let error = errno
                    if fd >= 0 { unlink(partial) }
                    return error
                }
                if !global.quiet { Output.log("wrote \(blob.count) bytes to \(target)") }
                return nil
            }
        } catch { throw CLIError(error) }
        if let failure {
            let what = target.map { "'\($0)'" } ?? "the blob to stdout"
            throw CLIError(code: "FILE_UNWRITABLE", "cannot write \(what): \(String(cString: strerror(failure)))", exit: .usage)
        }
        if global.json { Output.json(ReadOutput(out: target, blobId: id, blob: base64)) }
    }

    /// Walrus's `ReadOutput`: the file written, or the blob in base64 when there is none.
    struct ReadOutput: Encodable {
        let out: String?
        let blobId: BlobID
        let blob: String?
    }

    /// Writes a blob into the new file `fd`. A large blob whose memory starts on a page goes with
    /// direct IO, from its memory to the disk, except for its last partial block: written through
    /// the page cache, 128 MiB would first take that much fresh memory and a copy, which on a VM
    /// whose host takes freed memory back costs more than the write itself (Docs/BENCHMARKS.md).
    /// Where the file system has no direct IO, or refuses it, the blob is written as usual.
    static func writeFile(_ fd: Int32, _ blob: UnsafeRawBufferPointer) -> Bool {
        let block = 4096
        let direct = walrus_o_direct_flag()
        let aligned = blob.count / block * block
        guard direct != 0, aligned >= directWriteBytesMin, Int(bitPattern: blob.baseAddress) % block == 0 else { return writeAll(fd, blob) }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | direct) == 0 else { return writeAll(fd, blob) }
        var offset = 0
        while offset < aligned {
            let written = write(fd, blob.baseAddress! + offset, aligned - offset)
            if written < 0 && errno == EINTR { continue }
            // A refusal (EINVAL: no direct IO here) leaves the rest to the page cache.
            guard written > 0, written % block == 0 else { break }
            offset += written
        }
        guard fcntl(fd, F_SETFL, flags) == 0, lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else { return false }
        return writeAll(fd, UnsafeRawBufferPointer(rebasing: blob[offset...]))
    }

    static let directWriteBytesMin = 1 << 20

    /// Writes every byte of `buffer` to `fd` (a blob can be large; no copy).
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < buffer.count {
            let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}
