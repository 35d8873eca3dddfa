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

    /// Walrus's `BlobIdOutput` (`blobId`, `file`, `unencodedLength`, `encodingType`) and this
    /// project's details of the encoding.
    struct Result: Encodable {
        let blobId: String
        let file: String
        let encodingType = "RS2"
        let unencodedLength: UInt64
        let nShards: UInt16
        let symbolSize: Int
        let encodedLength: UInt64
        let rootHash: String
    }

    func run() throws {
        let (matrix, metadata) = try Self.metadata(ofFile: file, shardCount: shardCount, global: global)
        let config = matrix.config
        let result = Result(
            blobId: metadata.blobID.description, file: file, unencodedLength: matrix.unencodedLength, nShards: shardCount,
            symbolSize: matrix.symbolSize,
            encodedLength: (try? config.encodedBlobLength(forLength: matrix.unencodedLength)) ?? 0,
            rootHash: Hex.encode(metadata.metadata.rootHash.bytes))
        if global.json { Output.json(result) } else { Output.result(result.blobId) }
    }

    /// The blob ID `file` (or standard input for -) has on a network of `shardCount` shards.
    static func blobID(ofFile file: String, shardCount: UInt16, global: GlobalOptions) throws -> BlobID {
        try metadata(ofFile: file, shardCount: shardCount, global: global).1.blobID
    }

    static func metadata(ofFile file: String, shardCount: UInt16, global: GlobalOptions) throws -> (MessageMatrix, BlobMetadataWithID) {
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
        return (matrix, metadata)
    }
}

/// `walrus convert-blob-id <DECIMAL>`: a blob ID written as Sui writes a u256 (decimal, the 32
/// bytes little-endian) in the usual URL-safe base64.
struct ConvertBlobIDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert-blob-id", abstract: "Convert a blob ID from its decimal form (as Sui events show it) to base64.")

    @Argument(help: "The blob ID as a decimal number (a u256, little-endian bytes).") var decimal: String
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let id = try Self.blobID(decimal: decimal)
        if global.json { Output.json(id.description) } else { Output.result(id.description) }
    }

    /// The 32 little-endian bytes of a decimal number below 2^256.
    static func blobID(decimal: String) throws -> BlobID {
        guard !decimal.isEmpty, decimal.count <= 78, decimal.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw CLIError.usage("a decimal blob ID is up to 78 digits, not '\(decimal.prefix(80))'")
        }
        var bytes = [UInt8](repeating: 0, count: 32)  // little-endian
        for digit in decimal.utf8 {
            var carry = UInt32(digit - UInt8(ascii: "0"))
            for i in 0..<32 {
                let value = UInt32(bytes[i]) * 10 + carry
                bytes[i] = UInt8(value & 0xff)
                carry = value >> 8
            }
            guard carry == 0 else { throw CLIError.usage("\(decimal.prefix(80)) is 2^256 or more: not a blob ID") }
        }
        return BlobID(unchecked: bytes)
    }
}
