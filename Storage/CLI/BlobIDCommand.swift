import ArgumentParser
import Foundation
import RedStuff
import WalrusCore

/// `walrus blob-id <FILE|-> [--n-shards N]`: the blob ID a file would have, computed locally.
struct BlobIDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blob-id",
        abstract: "Compute the blob ID of a file locally (the same ID the reference Walrus gives).",
        discussion: "Reads FILE (or standard input for -) and prints its blob ID for a network of N shards.")

    @Argument(help: "The file, or - for standard input.")
    var file: String

    @Option(name: .customLong("n-shards"), help: "The number of shards of the network.")
    var shardCount: UInt16 = Limits.shardCountDefault

    @OptionGroup var global: GlobalOptions

    struct Result: Encodable {
        let blobId: String
        let unencodedLength: UInt64
        let nShards: UInt16
        let symbolSize: Int
        let encodedLength: UInt64
        let rootHash: String
    }

    func run() throws {
        let config: EncodingConfig
        do { config = try EncodingConfig(shardCount: shardCount) } catch { throw CLIError(error) }
        let started = ContinuousClock.now
        let matrix: MessageMatrix
        let metadata: BlobMetadataWithID
        if file == "-" {
            matrix = try BlobInput.read(file, config: config)
            metadata = BlobEncoder(config: config).computeMetadata(matrix)
        } else {
            let (fd, length) = try BlobInput.open(file)
            defer { close(fd) }
            if let mapped = MappedFile(path: file, fd: fd, length: length) {
                matrix = try mapped.matrix(config: config, json: global.json, doing: "read")
                metadata = BlobEncoder(config: config).computeMetadata(matrix)
                try mapped.checkUnchanged(during: "read")
            } else {
                matrix = try BlobInput.read(fd: fd, length: length, path: file, config: config)
                metadata = BlobEncoder(config: config).computeMetadata(matrix)
            }
        }
        if global.verbose {
            let elapsed = ContinuousClock.now - started
            global.progress(
                "\(matrix.unencodedLength) bytes, \(shardCount) shards, symbol size \(matrix.symbolSize) B: blob ID in \(elapsed.formatted(.units(allowed: [.milliseconds])))")
        }
        let result = Result(
            blobId: metadata.blobID.description, unencodedLength: matrix.unencodedLength, nShards: shardCount,
            symbolSize: matrix.symbolSize,
            encodedLength: (try? config.encodedBlobLength(forLength: matrix.unencodedLength)) ?? 0,
            rootHash: Hex.encode(metadata.metadata.rootHash.bytes))
        if global.json { Output.json(result) } else { Output.result(result.blobId) }
    }
}
