public import WalrusCore

// Quilts, version 1 (PROTOCOL.md §7.1): many small files ("patches") laid out in one blob's message
// matrix so that the blob's fixed cost (its metadata, a registration, a certificate) is paid once.
// Each patch takes a run of whole columns of the matrix, so one patch is read from the secondary
// slivers of its columns alone. The layout is Walrus's, byte for byte: the same files, identifiers
// and tags give the same quilt blob and so the same quilt ID and patch IDs.
//
// Column 0 (and up to 9 more) holds the index: the version byte 1, a u32 LE length, and the BCS
// `QuiltIndexV1` (per patch: end column u16, identifier, tags). Patches follow, sorted by the UTF-8
// bytes of their identifiers; each is a 6-byte header (version 1, u32 LE length of what follows,
// mask with bit 0 = has tags), a u16 LE length and the BCS identifier, optionally a u16 LE length
// and the BCS tags, then the data. Bytes run down a column symbol by symbol (row 0, row 1, ...),
// then on to the next column.

/// The error of building or reading a quilt.
public struct QuiltError: CodedError, Equatable {
    public struct Code: StableCode {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }

        /// An identifier that is empty, too long, has trailing whitespace or a control character.
        public static let invalidIdentifier = Code("INVALID_IDENTIFIER")
        /// Two patches with the same identifier.
        public static let duplicateIdentifier = Code("DUPLICATE_IDENTIFIER")
        /// Tags that do not fit the format (too large, a key twice).
        public static let invalidTags = Code("INVALID_TAGS")
        /// More patches than the committee's matrix has columns for, or no patch at all.
        public static let tooManyPatches = Code("TOO_MANY_PATCHES")
        /// The patches need symbols larger than the largest symbol.
        public static let quiltTooLarge = Code("QUILT_TOO_LARGE")
        /// Bytes that are not a version-1 quilt where they should be.
        public static let malformed = Code("MALFORMED_QUILT")
        /// A patch ID of another quilt version or of the wrong length.
        public static let invalidPatchID = Code("INVALID_QUILT_PATCH_ID")
        /// No patch with the identifier (or patch ID) asked for.
        public static let patchNotFound = Code("QUILT_PATCH_NOT_FOUND")
        /// Columns needed for the read that the reader was not given.
        public static let missingColumns = Code("MISSING_COLUMNS")
    }

    public let code: Code
    public let message: String
    /// For `missingColumns`: the columns to fetch.
    public let columns: [Int]
    public var isRetryable: Bool { false }

    public init(_ code: Code, _ message: String, columns: [Int] = []) {
        self.code = code
        self.message = message
        self.columns = columns
    }
}

/// One tag of a patch: a key and its value.
public struct QuiltTag: Hashable, Sendable {
    public let key: String
    public let value: String
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

extension [QuiltTag] {
    /// The tags as a dictionary (keys are distinct in a file's or patch's tags).
    public var dictionary: [String: String] { Dictionary(map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first }) }
}

/// A file to put in a quilt, or one read back: its identifier, tags and bytes.
public struct QuiltFile: Hashable, Sendable {
    public let identifier: String
    /// In BCS map order (by the serialized key: length first, then bytes), each key once.
    public let tags: [QuiltTag]
    public let data: [UInt8]

    /// A file with `tags` in any order; throws for an invalid identifier or a key given twice.
    public init(identifier: String, tags: [QuiltTag] = [], data: [UInt8]) throws(QuiltError) {
        try QuiltV1.validate(identifier: identifier)
        self.identifier = identifier
        self.tags = try QuiltV1.canonicalTags(tags)
        self.data = data
    }

    /// The value of tag `key`, if present.
    public func tag(_ key: String) -> String? { tags.first { Array($0.key.utf8) == Array(key.utf8) }?.value }
}

/// A patch as the index lists it: identifier, tags, and its columns `startColumn..<endColumn`.
public struct QuiltPatch: Hashable, Sendable {
    public let identifier: String
    public let tags: [QuiltTag]
    public let startColumn: UInt16
    public let endColumn: UInt16

    public var internalID: QuiltPatchInternalID { QuiltPatchInternalID(startColumn: startColumn, endColumn: endColumn) }
    public var columns: Range<Int> { Int(startColumn)..<Int(endColumn) }

    public func hasTag(_ key: String, _ value: String) -> Bool {
        tags.contains { Array($0.key.utf8) == Array(key.utf8) && Array($0.value.utf8) == Array(value.utf8) }
    }
}

/// A patch's place in its quilt (Walrus's `QuiltPatchInternalIdV1`): version byte 1, the start and
/// end columns as u16 LE.
public struct QuiltPatchInternalID: Hashable, Sendable {
    public let startColumn: UInt16
    public let endColumn: UInt16

    public init(startColumn: UInt16, endColumn: UInt16) {
        self.startColumn = startColumn
        self.endColumn = endColumn
    }

    public var bytes: [UInt8] {
        [QuiltV1.versionByte, UInt8(startColumn & 0xff), UInt8(startColumn >> 8), UInt8(endColumn & 0xff), UInt8(endColumn >> 8)]
    }

    public init(bytes: [UInt8]) throws(QuiltError) {
        guard bytes.count == 5 else { throw QuiltError(.invalidPatchID, "a version-1 patch ID ends in 5 bytes, got \(bytes.count)") }
        guard bytes[0] == QuiltV1.versionByte else {
            throw QuiltError(.invalidPatchID, "quilt version \(bytes[0]) is not supported; the only version is 1")
        }
        startColumn = UInt16(bytes[1]) | UInt16(bytes[2]) << 8
        endColumn = UInt16(bytes[3]) | UInt16(bytes[4]) << 8
        guard startColumn < endColumn else {
            throw QuiltError(.invalidPatchID, "a patch ID names columns \(startColumn)..<\(endColumn), which hold nothing")
        }
    }
}

/// A patch's ID: the quilt's blob ID and the patch's internal ID, as 50 characters of URL-safe
/// base64. It names the patch by place, so it changes with any other patch of the quilt.
public struct QuiltPatchID: Hashable, Sendable, LosslessStringConvertible {
    public let quiltID: BlobID
    public let internalID: QuiltPatchInternalID

    public init(quiltID: BlobID, internalID: QuiltPatchInternalID) {
        self.quiltID = quiltID
        self.internalID = internalID
    }

    public var description: String { Base64URL.encode(quiltID.bytes + internalID.bytes) }

    public init(parsing text: String) throws(QuiltError) {
        guard text.utf8.count == 50 else {
            throw QuiltError(.invalidPatchID, "a quilt patch ID has 50 base64url characters, got \(text.utf8.count)")
        }
        let bytes: [UInt8]
        do { bytes = try Base64URL.decode(text) } catch { throw QuiltError(.invalidPatchID, "not a quilt patch ID '\(text)': \(error.message)") }
        guard bytes.count == 37 else { throw QuiltError(.invalidPatchID, "a quilt patch ID is 37 bytes, got \(bytes.count)") }
        quiltID = BlobID(unchecked: Array(bytes[0..<32]))
        internalID = try QuiltPatchInternalID(bytes: Array(bytes[32...]))
    }

    public init?(_ description: String) { try? self.init(parsing: description) }
}

/// The index of a quilt: its patches in column order.
public struct QuiltIndex: Hashable, Sendable {
    public let patches: [QuiltPatch]

    public init(patches: [QuiltPatch]) { self.patches = patches }

    /// The first patch with `identifier` (compared as UTF-8 bytes).
    public func patch(identifier: String) -> QuiltPatch? {
        let wanted = Array(identifier.utf8)
        return patches.first { Array($0.identifier.utf8) == wanted }
    }

    public func patches(tag key: String, value: String) -> [QuiltPatch] { patches.filter { $0.hasTag(key, value) } }

    /// The BCS `QuiltIndexV1`: per patch the end column, the identifier and the tags.
    public var bcsBytes: [UInt8] {
        var writer = BCSWriter(capacity: 64 * patches.count + 8)
        writer.writeLength(patches.count)
        for patch in patches {
            writer.write(patch.endColumn)
            writer.writeString(patch.identifier)
            QuiltV1.write(tags: patch.tags, to: &writer)
        }
        return writer.bytes
    }

    /// Decodes a BCS `QuiltIndexV1` whose first patch starts at `firstColumn`, checking that the
    /// patches lie in order in `firstColumn..<columnCount`, that identifiers are valid and distinct
    /// and that tags are canonical.
    public init(bcs bytes: [UInt8], firstColumn: Int, columnCount: Int) throws(QuiltError) {
        var reader = BCSReader(bytes)
        var patches: [QuiltPatch] = []
        var start = firstColumn
        var seen = Set<[UInt8]>()
        do {
            // A patch takes at least 4 bytes (end, an identifier of one byte... and an empty map).
            let count = try reader.readLength(max: max(0, columnCount - firstColumn), minElementBytes: 4)
            patches.reserveCapacity(count)
            for _ in 0..<count {
                let end = Int(try reader.readU16())
                let identifier = try reader.readString(max: QuiltV1.identifierBytesMax)
                let tags = try QuiltV1.readTags(&reader)
                guard end > start, end <= columnCount else {
                    throw QuiltError(.malformed, "the quilt index puts patch '\(identifier.prefix(64))' in columns \(start)..<\(end) of \(columnCount)")
                }
                try QuiltV1.validate(identifier: identifier)
                guard seen.insert(Array(identifier.utf8)).inserted else {
                    throw QuiltError(.malformed, "the quilt index lists '\(identifier.prefix(64))' twice")
                }
                patches.append(QuiltPatch(identifier: identifier, tags: tags, startColumn: UInt16(start), endColumn: UInt16(end)))
                start = end
            }
            try reader.finish()
        } catch let error as QuiltError {
            throw error
        } catch {
            throw QuiltError(.malformed, "the quilt index does not decode: \(error)")
        }
        self.patches = patches
    }
}

/// A quilt as its writer builds it: the blob's bytes (the whole message matrix) and its index.
public struct Quilt: Sendable {
    /// The blob to store: `n_P · n_S · symbolSize` bytes, row-major.
    public let bytes: [UInt8]
    public let symbolSize: Int
    public let index: QuiltIndex
    public let config: EncodingConfig
}

/// Reads bytes of a quilt column by column: from the whole quilt blob, or from the secondary
/// slivers of the columns a read fetched.
public struct QuiltColumns: Sendable {
    /// Bytes in one column: `n_P` symbols.
    public let columnBytes: Int
    /// Columns in the matrix: `n_S`.
    public let columnCount: Int
    private let columnsByIndex: [Int: [UInt8]]
    private let whole: (bytes: [UInt8], symbolSize: Int, rows: Int)?

    /// Columns given as their bytes (a secondary sliver's symbols), each `columnBytes` long.
    public init(columns: [Int: [UInt8]], columnBytes: Int, columnCount: Int) throws(QuiltError) {
        guard columnBytes > 0, columns.values.allSatisfy({ $0.count == columnBytes }), columns.keys.allSatisfy({ $0 >= 0 && $0 < columnCount }) else {
            throw QuiltError(.malformed, "quilt columns must each hold \(columnBytes) bytes and lie below column \(columnCount)")
        }
        columnsByIndex = columns
        self.columnBytes = columnBytes
        self.columnCount = columnCount
        whole = nil
    }

    /// The columns of a whole quilt blob laid out for `config`.
    public init(quilt bytes: [UInt8], config: EncodingConfig) throws(QuiltError) {
        let cells = config.sourceSymbolsPerBlob
        guard !bytes.isEmpty, bytes.count % cells == 0, (bytes.count / cells) % 2 == 0 else {
            throw QuiltError(.malformed, "a quilt of \(bytes.count) bytes is not a whole message matrix for \(config.n) shards")
        }
        let symbolSize = bytes.count / cells
        whole = (bytes, symbolSize, config.primarySourceSymbols)
        columnBytes = symbolSize * config.primarySourceSymbols
        columnCount = config.secondarySourceSymbols
        columnsByIndex = [:]
    }

    func has(_ column: Int) -> Bool { whole != nil ? column < columnCount : columnsByIndex[column] != nil }

    /// `count` bytes from byte `skip` of the run of columns that starts at `startColumn`.
    func read(startColumn: Int, skip: Int, count: Int) throws(QuiltError) -> [UInt8] {
        guard count > 0 else { return [] }
        let (end, overflow) = skip.addingReportingOverflow(count)
        guard !overflow else { throw QuiltError(.malformed, "a read of \(count) bytes past byte \(skip) overflows") }
        let firstColumn = startColumn + skip / columnBytes
        let lastColumn = startColumn + (end - 1) / columnBytes
        guard lastColumn < columnCount else {
            throw QuiltError(.malformed, "the quilt says to read past its last column (\(lastColumn) of \(columnCount))")
        }
        let missing = (firstColumn...lastColumn).filter { !has($0) }
        guard missing.isEmpty else { throw QuiltError(.missingColumns, "columns \(missing) are needed", columns: missing) }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var position = skip
        while position < end {
            let column = startColumn + position / columnBytes
            let within = position % columnBytes
            let take = min(columnBytes - within, end - position)
            if let whole {
                // Down the column: symbol by symbol, each in its row of the row-major matrix.
                var offset = within
                var left = take
                let rowBytes = whole.symbolSize * columnCount
                while left > 0 {
                    let row = offset / whole.symbolSize, inSymbol = offset % whole.symbolSize
                    let chunk = min(whole.symbolSize - inSymbol, left)
                    let at = row * rowBytes + column * whole.symbolSize + inSymbol
                    out += whole.bytes[at..<at + chunk]
                    offset += chunk
                    left -= chunk
                }
            } else if let bytes = columnsByIndex[column] {
                out += bytes[within..<within + take]
            }
            position += take
        }
        return out
    }
}

/// Building and reading version-1 quilts.
public enum QuiltV1 {
    public static let versionByte: UInt8 = 1
    /// The most columns the index may take.
    public static let indexColumnsMax = 10
    /// A BCS identifier (length prefix included) must be shorter than this.
    static let identifierBytesMax = 65_535
    static let headerBytes = 6
    static let indexPrefixBytes = 5
    static let hasTagsMask: UInt8 = 1

    /// Walrus's identifier rules: not empty, its BCS form shorter than 65,535 bytes, no trailing
    /// whitespace, no control character.
    public static func validate(identifier: String) throws(QuiltError) {
        let bytes = identifier.utf8.count
        guard bytes > 0 else { throw QuiltError(.invalidIdentifier, "a patch identifier cannot be empty") }
        guard bcsSize(ofString: bytes) < identifierBytesMax else {
            throw QuiltError(.invalidIdentifier, "a patch identifier of \(bytes) bytes is too long; the limit is 65,531 bytes")
        }
        if let last = identifier.unicodeScalars.last, last.properties.isWhitespace {
            throw QuiltError(.invalidIdentifier, "patch identifier '\(identifier.prefix(64))' ends in whitespace")
        }
        if identifier.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) }) {
            throw QuiltError(.invalidIdentifier, "patch identifier '\(identifier.prefix(64).debugDescription)' contains a control character")
        }
    }

    /// Tags in BCS map order, refusing a key given twice and tags whose BCS form exceeds u16.
    static func canonicalTags(_ tags: [QuiltTag]) throws(QuiltError) -> [QuiltTag] {
        let keyed = tags.map { (key: bcsString($0.key), tag: $0) }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        for (a, b) in zip(keyed, keyed.dropFirst()) where a.key == b.key {
            throw QuiltError(.invalidTags, "tag '\(a.tag.key.prefix(64))' is given twice")
        }
        let sorted = keyed.map(\.tag)
        var writer = BCSWriter()
        write(tags: sorted, to: &writer)
        guard writer.bytes.count <= Int(UInt16.max) else {
            throw QuiltError(.invalidTags, "the tags take \(writer.bytes.count) bytes; a patch's tags are limited to 65,535 bytes")
        }
        return sorted
    }

    static func bcsString(_ string: String) -> [UInt8] {
        var writer = BCSWriter()
        writer.writeString(string)
        return writer.bytes
    }

    static func bcsSize(ofString bytes: Int) -> Int {
        var prefix = 1
        var rest = bytes >> 7
        while rest > 0 { prefix += 1; rest >>= 7 }
        return prefix + bytes
    }

    static func write(tags: [QuiltTag], to writer: inout BCSWriter) {
        writer.writeLength(tags.count)
        for tag in tags {
            writer.writeString(tag.key)
            writer.writeString(tag.value)
        }
    }

    /// A BCS map of strings, whose keys must come in canonical order, each once.
    static func readTags(_ reader: inout BCSReader) throws -> [QuiltTag] {
        let count = try reader.readLength(max: Int(UInt16.max), minElementBytes: 2)
        var tags: [QuiltTag] = []
        var previous: [UInt8]?
        for _ in 0..<count {
            let key = try reader.readString(max: Int(UInt16.max))
            let value = try reader.readString(max: Int(UInt16.max))
            let serialized = bcsString(key)
            if let previous, !previous.lexicographicallyPrecedes(serialized) {
                throw QuiltError(.malformed, "tag keys are not in canonical order (or '\(key.prefix(64))' is given twice)")
            }
            previous = serialized
            tags.append(QuiltTag(key: key, value: value))
        }
        return tags
    }

    /// A patch's bytes before its data: header, identifier and, when there are tags, the tags.
    static func prefix(of file: QuiltFile) throws(QuiltError) -> [UInt8] {
        let identifier = bcsString(file.identifier)
        var sections = [UInt8(identifier.count & 0xff), UInt8(identifier.count >> 8)] + identifier
        var mask: UInt8 = 0
        if !file.tags.isEmpty {
            var writer = BCSWriter()
            write(tags: file.tags, to: &writer)
            sections += [UInt8(writer.bytes.count & 0xff), UInt8(writer.bytes.count >> 8)] + writer.bytes
            mask |= hasTagsMask
        }
        let (length, overflow) = sections.count.addingReportingOverflow(file.data.count)
        guard !overflow, length <= Int(UInt32.max) else {
            throw QuiltError(.quiltTooLarge, "patch '\(file.identifier.prefix(64))' is \(file.data.count) bytes; a patch must be under 4 GiB")
        }
        let l = UInt32(length)
        return [versionByte, UInt8(l & 0xff), UInt8(l >> 8 & 0xff), UInt8(l >> 16 & 0xff), UInt8(l >> 24), mask] + sections
    }

    /// The smallest even symbol size at which every item (the index first, then each patch) fits
    /// its own run of whole columns, the index in at most `indexColumnsMax` of them: Walrus's
    /// binary search, with its bounds, so that the result is the same.
    public static func symbolSize(sizes: [Int], columns: Int, rows: Int, indexColumnsMax: Int = QuiltV1.indexColumnsMax) throws(QuiltError) -> Int {
        guard !sizes.isEmpty else { throw QuiltError(.tooManyPatches, "a quilt needs at least one patch") }
        guard sizes.count <= columns else {
            throw QuiltError(.tooManyPatches, "\(sizes.count - 1) patches do not fit: this committee's quilts hold at most \(columns - 1) (one column each, one for the index); store the files as several quilts")
        }
        guard rows > 0, indexColumnsMax > 0, sizes.allSatisfy({ $0 >= 0 }) else { throw QuiltError(.malformed, "bad quilt dimensions") }
        let total = sizes.reduce(0) { $0.addingReportingOverflow($1).partialValue }
        func divCeil(_ a: Int, _ b: Int) -> Int { a / b + (a % b == 0 ? 0 : 1) }
        var low = max(divCeil(total, columns * rows), divCeil(sizes[0], rows * indexColumnsMax), divCeil(indexPrefixBytes, rows))
        var high = divCeil(sizes.max() ?? 0, (columns / sizes.count) * rows)
        func fits(_ symbol: Int) -> Bool {
            let columnBytes = symbol * rows
            var used = 0
            for size in sizes {
                used += divCeil(size, columnBytes)
                if used > columns { return false }
            }
            return true
        }
        while low < high {
            let mid = (low + high) / 2
            if fits(mid) { high = mid } else { low = mid + 1 }
        }
        let symbol = low + low % Int(Limits.symbolAlignmentBytes)
        guard symbol <= Int(Limits.symbolBytesMax) else {
            throw QuiltError(.quiltTooLarge, "these patches need symbols of \(symbol) bytes, more than the largest (\(Limits.symbolBytesMax)); store fewer or smaller files per quilt")
        }
        guard fits(symbol), divCeil(sizes[0], symbol * rows) <= indexColumnsMax else {
            throw QuiltError(.quiltTooLarge, "the patches do not fit the quilt's columns")
        }
        return symbol
    }

    /// Lays out `files` as a quilt for `config`: sorted by identifier (UTF-8 bytes), each in its
    /// own run of columns, the index first.
    public static func encode(_ files: [QuiltFile], config: EncodingConfig) throws(QuiltError) -> Quilt {
        let sorted = files.map { (key: Array($0.identifier.utf8), file: $0) }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.key == b.key {
            throw QuiltError(.duplicateIdentifier, "identifier '\(a.file.identifier.prefix(64))' is given twice; identifiers in a quilt must be distinct")
        }
        let ordered = sorted.map(\.file)
        guard !ordered.isEmpty else { throw QuiltError(.tooManyPatches, "a quilt needs at least one file") }
        let rows = config.primarySourceSymbols, columns = config.secondarySourceSymbols
        guard ordered.count < columns else {
            throw QuiltError(.tooManyPatches, "\(ordered.count) files do not fit: a quilt for \(config.n) shards holds at most \(columns - 1) (one column each, one for the index); store them as several quilts")
        }
        let prefixes = try ordered.map { (file) throws(QuiltError) in try prefix(of: file) }
        // The index's size does not depend on the end columns (fixed u16s), so it is known now.
        let placeholder = QuiltIndex(patches: ordered.map { QuiltPatch(identifier: $0.identifier, tags: $0.tags, startColumn: 0, endColumn: 0) })
        let indexSize = placeholder.bcsBytes.count
        guard indexSize <= Int(UInt32.max) else { throw QuiltError(.quiltTooLarge, "the quilt index is too large") }
        var sizes = [indexPrefixBytes + indexSize]
        for (file, prefix) in zip(ordered, prefixes) {
            let (size, overflow) = prefix.count.addingReportingOverflow(file.data.count)
            guard !overflow else { throw QuiltError(.quiltTooLarge, "patch sizes overflow") }
            sizes.append(size)
        }
        let symbol = try symbolSize(sizes: sizes, columns: columns, rows: rows)
        let columnBytes = symbol * rows
        let (total, overflow) = symbol.multipliedReportingOverflow(by: config.sourceSymbolsPerBlob)
        guard !overflow, UInt64(total) <= config.maxBlobSize else { throw QuiltError(.quiltTooLarge, "the quilt would exceed the largest blob") }
        var bytes = [UInt8](repeating: 0, count: total)
        let rowBytes = symbol * columns
        /// Writes `data` from byte `skip` of the run of columns that starts at `startColumn`.
        func place(_ data: [UInt8], startColumn: Int, skip: Int) {
            var position = 0
            while position < data.count {
                let offset = skip + position
                let column = startColumn + offset / columnBytes
                let within = offset % columnBytes
                let row = within / symbol, inSymbol = within % symbol
                let chunk = min(symbol - inSymbol, data.count - position)
                let at = row * rowBytes + column * symbol + inSymbol
                bytes.replaceSubrange(at..<at + chunk, with: data[position..<position + chunk])
                position += chunk
            }
        }
        var column = (sizes[0] + columnBytes - 1) / columnBytes
        var patches: [QuiltPatch] = []
        for (i, file) in ordered.enumerated() {
            let used = (sizes[i + 1] + columnBytes - 1) / columnBytes
            place(prefixes[i], startColumn: column, skip: 0)
            place(file.data, startColumn: column, skip: prefixes[i].count)
            patches.append(QuiltPatch(identifier: file.identifier, tags: file.tags, startColumn: UInt16(column), endColumn: UInt16(column + used)))
            column += used
        }
        let index = QuiltIndex(patches: patches)
        let indexBytes = index.bcsBytes
        let length = UInt32(indexBytes.count)
        place([versionByte, UInt8(length & 0xff), UInt8(length >> 8 & 0xff), UInt8(length >> 16 & 0xff), UInt8(length >> 24)] + indexBytes, startColumn: 0, skip: 0)
        return Quilt(bytes: bytes, symbolSize: symbol, index: index, config: config)
    }

    /// The columns the index takes, known from column 0 alone (its first bytes give the length).
    public static func indexColumns(_ columns: QuiltColumns) throws(QuiltError) -> Range<Int> {
        let head = try columns.read(startColumn: 0, skip: 0, count: indexPrefixBytes)
        guard head[0] == versionByte else {
            throw QuiltError(.malformed, "this blob is not a version-1 quilt (its first byte is \(head[0]))")
        }
        let length = Int(UInt32(head[1]) | UInt32(head[2]) << 8 | UInt32(head[3]) << 16 | UInt32(head[4]) << 24)
        let needed = (indexPrefixBytes + length + columns.columnBytes - 1) / columns.columnBytes
        guard needed <= indexColumnsMax, needed < columns.columnCount else {
            throw QuiltError(.malformed, "the quilt index claims \(length) bytes, more than \(indexColumnsMax) columns hold")
        }
        return 0..<needed
    }

    /// The quilt's index, from its index columns.
    public static func index(_ columns: QuiltColumns) throws(QuiltError) -> QuiltIndex {
        let span = try indexColumns(columns)
        let head = try columns.read(startColumn: 0, skip: 1, count: 4)
        let length = Int(UInt32(head[0]) | UInt32(head[1]) << 8 | UInt32(head[2]) << 16 | UInt32(head[3]) << 24)
        let bytes = try columns.read(startColumn: 0, skip: indexPrefixBytes, count: length)
        return try QuiltIndex(bcs: bytes, firstColumn: span.upperBound, columnCount: columns.columnCount)
    }

    /// The patch in columns `start..<end`, checked against its header: version, a length that
    /// fits its columns, a valid identifier and canonical tags.
    public static func patch(_ columns: QuiltColumns, start: Int, end: Int) throws(QuiltError) -> QuiltFile {
        guard start >= 0, start < end, end <= columns.columnCount else {
            throw QuiltError(.malformed, "columns \(start)..<\(end) are not a patch of a quilt with \(columns.columnCount) columns")
        }
        let capacity = (end - start) * columns.columnBytes
        let header = try columns.read(startColumn: start, skip: 0, count: headerBytes)
        guard header[0] == versionByte else { throw QuiltError(.malformed, "the patch at column \(start) has version \(header[0]), not 1") }
        let length = Int(UInt32(header[1]) | UInt32(header[2]) << 8 | UInt32(header[3]) << 16 | UInt32(header[4]) << 24)
        guard headerBytes + length <= capacity else {
            throw QuiltError(.malformed, "the patch at column \(start) claims \(length) bytes; its \(end - start) column(s) hold \(capacity - headerBytes)")
        }
        var offset = headerBytes
        func u16(at skip: Int) throws(QuiltError) -> Int {
            let b = try columns.read(startColumn: start, skip: skip, count: 2)
            return Int(b[0]) | Int(b[1]) << 8
        }
        func section(_ what: String) throws(QuiltError) -> [UInt8] {
            guard offset + 2 <= headerBytes + length else { throw QuiltError(.malformed, "the patch at column \(start) is too short for its \(what)") }
            let size = try u16(at: offset)
            guard offset + 2 + size <= headerBytes + length else { throw QuiltError(.malformed, "the patch at column \(start) has a \(what) longer than the patch") }
            let bytes = try columns.read(startColumn: start, skip: offset + 2, count: size)
            offset += 2 + size
            return bytes
        }
        let identifierBytes = try section("identifier")
        let identifier: String
        do {
            var reader = BCSReader(identifierBytes)
            identifier = try reader.readString(max: identifierBytesMax)
            try reader.finish()
        } catch { throw QuiltError(.malformed, "the patch at column \(start) has an identifier that does not decode: \(error)") }
        var tags: [QuiltTag] = []
        if header[5] & hasTagsMask != 0 {
            let tagBytes = try section("tags")
            do {
                var reader = BCSReader(tagBytes)
                tags = try readTags(&reader)
                try reader.finish()
            } catch let error as QuiltError {
                throw error
            } catch { throw QuiltError(.malformed, "the patch at column \(start) has tags that do not decode: \(error)") }
        }
        let data = try columns.read(startColumn: start, skip: offset, count: headerBytes + length - offset)
        try validate(identifier: identifier)
        return try QuiltFile(identifier: identifier, tags: tags, data: data)
    }
}
