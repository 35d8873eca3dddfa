public import ChainTypes
import ChainClient
import Foundation
public import RedStuff
public import WalrusAPI
public import WalrusCore
import Synchronization

/// Quilts (PROTOCOL.md §7.1): many small files stored as one blob, each read back from the
/// secondary slivers of its own columns.
extension WalrusClient {
    /// The attribute Walrus puts on quilt blobs.
    public static let quiltTypeAttribute = AttributePair(key: "_walrusBlobType", value: "quilt")

    /// Which patches of a quilt to read.
    public enum QuiltSelection: Sendable {
        case identifiers([String])
        case tag(key: String, value: String)
        case all
    }

    /// Lays `files` out as a quilt for the current committee and stores it like any blob; the
    /// new object carries the attribute `_walrusBlobType = quilt`. Returns the store result and
    /// each patch's ID.
    public func storeQuilt(
        _ files: [QuiltFile], epochs: UInt32, permanent: Bool, force: Bool = false, sendTo: Address? = nil, share: Bool = false,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws(ClientError) -> QuiltStoreResult {
        let committee = try await chainCall { () async throws(ChainClientError) in try await chain.committee() }
        let quilt: Quilt
        do {
            quilt = try QuiltV1.encode(files, config: try EncodingConfig(shardCount: committee.shardCount))
        } catch let error as QuiltError {
            throw ClientError(.invalidArgument, error.message)
        } catch {
            throw ClientError(.invalidArgument, "\(error)")
        }
        progress("laid out \(files.count) files as a quilt of \(quilt.bytes.count) bytes (symbols of \(quilt.symbolSize) bytes)")
        let result = try await store(
            length: UInt64(quilt.bytes.count), epochs: epochs, permanent: permanent, force: force, sendTo: sendTo, share: share,
            attributes: [Self.quiltTypeAttribute], progress: progress
        ) { config in
            // The committee may have changed since the layout: lay out again for the new one.
            let laidOut = config == quilt.config ? quilt : try QuiltV1.encode(files, config: config)
            guard laidOut.bytes.count == quilt.bytes.count else {
                throw ClientError(.unavailable, "the committee changed during the store; store the quilt again")
            }
            return try MessageMatrix(config: config, blob: laidOut.bytes)
        }
        guard let quiltID = result.blobId else {
            throw ClientError(.verification, "the quilt's blob was not stored")
        }
        let patches = quilt.index.patches.map {
            StoredQuiltPatch(identifier: $0.identifier, quiltPatchId: QuiltPatchID(quiltID: quiltID, internalID: $0.internalID).description)
        }
        return QuiltStoreResult(blobStoreResult: result, storedQuiltBlobs: patches)
    }

    /// The layout a quilt would have for the current committee, without storing anything.
    public func layOutQuilt(_ files: [QuiltFile]) async throws(ClientError) -> Quilt {
        let committee = try await chainCall { () async throws(ChainClientError) in try await chain.committee() }
        do { return try QuiltV1.encode(files, config: try EncodingConfig(shardCount: committee.shardCount)) } catch let error as QuiltError {
            throw ClientError(.invalidArgument, error.message)
        } catch { throw ClientError(.invalidArgument, "\(error)") }
    }

    /// A certified quilt's index, read from the secondary slivers of its index columns (or, when
    /// those cannot be fetched, from the whole blob).
    public func quiltIndex(_ quiltID: BlobID) async throws(ClientError) -> QuiltIndex {
        let reader = try await QuiltReader(client: self, quiltID: quiltID)
        return try await reader.index()
    }

    /// The patches `selection` names, each read from the secondary slivers of its columns only;
    /// when some of those cannot be fetched or do not verify, from the whole blob.
    public func readQuilt(_ quiltID: BlobID, _ selection: QuiltSelection) async throws(ClientError) -> [QuiltFile] {
        let reader = try await QuiltReader(client: self, quiltID: quiltID)
        let index = try await reader.index()
        let patches: [QuiltPatch]
        switch selection {
        case .identifiers(let identifiers):
            var found: [QuiltPatch] = []
            var missing: [String] = []
            for identifier in identifiers {
                if let patch = index.patch(identifier: identifier) { found.append(patch) } else { missing.append(identifier) }
            }
            guard missing.isEmpty else {
                throw ClientError(.notFound, "quilt \(quiltID) has no patch \(missing.prefix(5).map { "'\($0.prefix(64))'" }.joined(separator: ", "))\(missing.count > 5 ? " (and \(missing.count - 5) more)" : ""); list its patches with `walrus list-patches-in-quilt \(quiltID)`")
            }
            patches = found
        case .tag(let key, let value):
            patches = index.patches(tag: key, value: value)
        case .all:
            patches = index.patches
        }
        return try await reader.patches(patches.map(\.columns))
    }

    /// The patches with these IDs (of one quilt or several), each from its columns' slivers.
    public func readQuiltPatches(_ ids: [QuiltPatchID]) async throws(ClientError) -> [QuiltFile] {
        var readers: [BlobID: QuiltReader] = [:]
        var files: [QuiltFile] = []
        for id in ids {
            let reader: QuiltReader
            if let known = readers[id.quiltID] { reader = known } else {
                reader = try await QuiltReader(client: self, quiltID: id.quiltID)
                readers[id.quiltID] = reader
            }
            guard Int(id.internalID.endColumn) <= reader.config.secondarySourceSymbols else {
                throw ClientError(.notFound, "patch ID \(id) names columns past the end of quilt \(id.quiltID)")
            }
            files += try await reader.patches([Int(id.internalID.startColumn)..<Int(id.internalID.endColumn)])
        }
        return files
    }
}

extension QuiltIndex {
    /// The patches as Walrus's `QuiltPatchItem`s (identifier, patch ID, tags), as the aggregator
    /// and `list-patches-in-quilt --json` give them.
    public func items(quiltID: BlobID) -> [QuiltPatchItem] {
        patches.map { QuiltPatchItem(identifier: $0.identifier, patchID: QuiltPatchID(quiltID: quiltID, internalID: $0.internalID).description, tags: $0.tags.dictionary) }
    }
}

/// Reads one certified quilt: its verified metadata once, then columns as secondary slivers, each
/// verified against the metadata, cached for the reader's life.
final class QuiltReader: @unchecked Sendable {
    let client: WalrusClient
    let quiltID: BlobID
    let blob: WalrusClient.CertifiedBlob
    let config: EncodingConfig
    let decoder: BlobDecoder
    let columnBytes: Int
    private let fetched = Mutex<[Int: [UInt8]]>([:])
    private let whole = Mutex<QuiltColumns?>(nil)

    init(client: WalrusClient, quiltID: BlobID) async throws(ClientError) {
        self.client = client
        self.quiltID = quiltID
        blob = try await client.certifiedBlob(quiltID)
        do {
            config = try EncodingConfig(shardCount: blob.committee.shardCount)
            decoder = try BlobDecoder(config: config, metadata: BlobMetadataWithID(blobID: quiltID, metadata: blob.metadata))
        } catch { throw ClientError(.verification, error.message) }
        let cells = UInt64(config.sourceSymbolsPerBlob)
        guard blob.length > 0, blob.length % cells == 0, (blob.length / cells) % 2 == 0 else {
            throw ClientError(.invalidArgument, "blob \(quiltID) is not a quilt: its \(blob.length) bytes are not a whole message matrix")
        }
        columnBytes = Int(blob.length / cells) * config.primarySourceSymbols
    }

    func index() async throws(ClientError) -> QuiltIndex {
        do {
            let head = try await columns([0])
            let span = try QuiltV1.indexColumns(head)
            return try QuiltV1.index(try await columns(Array(span)))
        } catch let error as QuiltError {
            throw ClientError(.invalidArgument, "blob \(quiltID) is not a readable quilt: \(error.message)")
        } catch let error as ClientError {
            throw error
        } catch {
            throw ClientError(.unavailable, "\(error)")
        }
    }

    func patches(_ ranges: [Range<Int>]) async throws(ClientError) -> [QuiltFile] {
        do {
            let view = try await columns(ranges.flatMap { Array($0) })
            return try ranges.map { (range) throws(QuiltError) in try QuiltV1.patch(view, start: range.lowerBound, end: range.upperBound) }
        } catch let error as QuiltError {
            throw ClientError(error.code == .patchNotFound ? .notFound : .invalidArgument, "quilt \(quiltID): \(error.message)")
        } catch let error as ClientError {
            throw error
        } catch {
            throw ClientError(.unavailable, "\(error)")
        }
    }

    /// A view holding at least `wanted` columns: those not yet fetched are fetched as secondary
    /// slivers from the nodes holding them; if any cannot be had, the whole blob is read instead.
    func columns(_ wanted: [Int]) async throws -> QuiltColumns {
        if let view = whole.withLock({ $0 }) { return view }
        let missing = Set(wanted).subtracting(fetched.withLock { Set($0.keys) }).filter { $0 >= 0 && $0 < config.secondarySourceSymbols }
        if !missing.isEmpty { await fetch(missing) }
        let have = fetched.withLock { $0 }
        if Set(wanted).isSubset(of: Set(have.keys)) {
            return try QuiltColumns(columns: have, columnBytes: columnBytes, columnCount: config.secondarySourceSymbols)
        }
        let bytes = try await client.read(quiltID)
        let view = try QuiltColumns(quilt: bytes, config: config)
        whole.withLock { $0 = view }
        return view
    }

    /// Fetches the secondary slivers of `columns` (column c is secondary sliver c, held in pair
    /// n-1-c) through `HedgedFetch`, keeping those that verify.
    private func fetch(_ columns: Set<Int>) async {
        let n = blob.committee.shardCount
        let offset = quiltID.rotationOffset(shardCount: n)
        let pairs = columns.map { Int(SliverIndex(UInt16($0)).pairIndex(axis: .secondary, shardCount: n).rawValue) }
        _ = await HedgedFetch.run(client.work(pairs, committee: blob.committee, offset: offset)) { pair, node in
            let url = "\(node)/v1/blobs/\(self.quiltID)/slivers/\(pair)/secondary"
            let expected = SliverPairIndex(UInt16(pair)).secondarySliverIndex(shardCount: n)
            guard let response = await self.client.nodeRequest(.GET, url, responseBytesMax: self.columnBytes + 16), response.status == 200,
                let sliver = response.withUnsafeBody({ try? SliverData(bcs: $0, axis: .secondary) }),
                sliver.index == expected, sliver.symbols.count == self.columnBytes, (try? self.decoder.verify(sliver)) != nil
            else { return false }
            self.fetched.withLock { $0[Int(expected.rawValue)] = sliver.symbols }
            return true
        }
    }
}
