import WalrusCore
import Synchronization

/// A reader's message matrix filled straight from the wire: the systematic primary slivers
/// 0..<n_P are the matrix's rows, so each received sliver's symbols are written into its row as
/// they arrive (`SliverWireSink`), verified there against the metadata (`accept`), and the blob is
/// the matrix's first bytes once every row verified. No sliver is held a second time.
///
/// An assembly may hold a window of the rows only (`window`): a streamed read assembles the blob a
/// window at a time, so its memory is bounded by the window, not by the blob.
public final class SystematicAssembly: @unchecked Sendable {
    public let decoder: BlobDecoder
    let buffer: RawBuffer
    /// Bytes of one row (a primary sliver's symbols).
    public let rowBytes: Int
    /// Rows of the whole matrix.
    public let rows: Int
    /// The rows this assembly holds.
    public let window: Range<Int>
    let symbolSize: Int
    /// Per row of the window, whether it verified.
    private let verified: Mutex<[Bool]>

    /// An assembly of every row (the whole blob), or of the rows in `window` (clamped to the matrix).
    public init(decoder: BlobDecoder, window: Range<Int>? = nil) throws(RedStuffError) {
        self.decoder = decoder
        let config = decoder.config
        symbolSize = try config.symbolSize(forLength: decoder.metadata.metadata.unencodedLength)
        rows = config.primarySourceSymbols
        rowBytes = config.secondarySourceSymbols * symbolSize
        let all = 0..<rows
        self.window = window?.clamped(to: all) ?? all
        buffer = RawBuffer(uninitializedCount: self.window.count * rowBytes)
        verified = Mutex([Bool](repeating: false, count: self.window.count))
    }

    /// A sink for the wire form of primary sliver `row` (in the window), writing its symbols into
    /// the row. Each row takes one sink at a time.
    public func sink(row: Int) -> SliverWireSink {
        precondition(window.contains(row), "a systematic row of the window")
        return SliverWireSink(row: row, destination: UnsafeMutableRawBufferPointer(start: buffer.pointer + (row - window.lowerBound) * rowBytes, count: rowBytes))
    }

    /// Checks a sink's sliver (complete wire form, its index, symbol size and the Merkle root of
    /// the row it wrote) and marks the row verified. A row that fails stays missing.
    public func accept(_ sink: SliverWireSink) throws(RedStuffError) {
        let (symbolSize, index) = try sink.finish()
        guard Int(index.rawValue) == sink.row else {
            throw RedStuffError(.invalidSliver, "the body is primary sliver \(index.rawValue), not \(sink.row)")
        }
        guard Int(symbolSize) == self.symbolSize else {
            throw RedStuffError(.invalidSliver, "primary sliver \(sink.row) has symbol size \(symbolSize), expected \(self.symbolSize)")
        }
        let root = SliverData.merkleRoot(
            symbols: UnsafeBufferPointer(start: sink.destination.baseAddress!.assumingMemoryBound(to: UInt8.self), count: rowBytes),
            symbolSize: self.symbolSize, config: decoder.config)
        guard root == decoder.metadata.metadata.hashes[sink.row].primaryHash else {
            throw RedStuffError(.invalidSliver, "primary sliver \(sink.row) does not match the metadata's Merkle root")
        }
        let slot = sink.row - window.lowerBound
        verified.withLock { $0[slot] = true }
    }

    /// Rows of the window not verified yet.
    public var missingRows: [Int] { verified.withLock { flags in flags.indices.filter { !flags[$0] }.map { $0 + window.lowerBound } } }

    /// Whether every row of the window verified.
    public var isComplete: Bool { verified.withLock { !$0.contains(false) } }

    /// The blob, in place, once every row verified: what `BlobDecoder.decode` gives with the skip
    /// or default check.
    public func withBlob<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(window == 0..<rows && isComplete, "every systematic row verified")
        return try body(UnsafeRawBufferPointer(start: buffer.pointer, count: Int(decoder.metadata.metadata.unencodedLength)))
    }

    /// The blob bytes the window's rows hold (clamped to the blob's length).
    public var windowBytes: Range<UInt64> {
        let length = decoder.metadata.metadata.unencodedLength
        let start = min(UInt64(window.lowerBound) * UInt64(rowBytes), length)
        return start..<min(UInt64(window.upperBound) * UInt64(rowBytes), length)
    }

    /// The rows that hold blob bytes `range` (clamped to the blob).
    public func rows(holding range: Range<UInt64>) -> Range<Int> {
        let length = decoder.metadata.metadata.unencodedLength
        let start = min(range.lowerBound, length), end = min(range.upperBound, length)
        guard start < end, rowBytes > 0 else { return 0..<0 }
        return Int(start / UInt64(rowBytes))..<Int((end - 1) / UInt64(rowBytes) + 1)
    }

    /// Blob bytes `range` (clamped to the blob), in place, when every row holding them is in the
    /// window and verified; nil otherwise. A range needs only its rows: the rest of the blob is
    /// never fetched.
    public func withBytes<R>(_ range: Range<UInt64>, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        let length = decoder.metadata.metadata.unencodedLength
        let start = min(range.lowerBound, length), end = min(range.upperBound, length)
        let done = verified.withLock { $0 }
        let needed = rows(holding: start..<end)
        guard needed.isEmpty || (window.contains(needed.lowerBound) && needed.upperBound <= window.upperBound) else { return nil }
        guard needed.allSatisfy({ done[$0 - window.lowerBound] }) else { return nil }
        let base = UInt64(window.lowerBound) * UInt64(rowBytes)
        guard start >= base || start == end else { return nil }
        return try body(UnsafeRawBufferPointer(start: buffer.pointer + Int(start &- min(start, base)), count: Int(end - start)))
    }

    /// The verified rows as slivers (copies), for decoding together with repair slivers.
    public func verifiedSlivers() -> [VerifiedSliver] {
        let done = verified.withLock { $0 }
        return done.indices.filter { done[$0] }.map { slot in
            let row = slot + window.lowerBound
            let sliver = SliverData(
                axis: .primary, index: SliverIndex(UInt16(row)), symbolSize: UInt16(symbolSize), symbols: buffer.copy(offset: slot * rowBytes, count: rowBytes))
            return VerifiedSliver(sliver, blobID: decoder.metadata.blobID)
        }
    }
}

/// Takes a primary sliver's wire form (`Vec<u8>` symbols ‖ symbol size u16 ‖ index u16) in chunks
/// as they come off the network and writes the symbols into a fixed destination. It refuses (returns
/// false) as soon as the bytes cannot be the sliver it expects: a length other than the destination's
/// or bytes past the end. Used from one request at a time.
public final class SliverWireSink: @unchecked Sendable {
    public let row: Int
    let destination: UnsafeMutableRawBufferPointer
    private var header: [UInt8] = []
    private var length: Int?
    private var written = 0
    private var trailer: [UInt8] = []
    private var problem: String?

    init(row: Int, destination: UnsafeMutableRawBufferPointer) {
        self.row = row
        self.destination = destination
    }

    /// Takes the next chunk; false when the bytes are not the expected sliver.
    public func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard problem == nil else { return false }
        var rest = chunk[...]
        while !rest.isEmpty {
            guard let length else {
                header.append(rest.removeFirst())
                do {
                    var reader = BCSReader(header)
                    let value = Int(try reader.readULEB128())
                    guard value == destination.count else {
                        problem = "the sliver holds \(value) symbol bytes, expected \(destination.count)"
                        return false
                    }
                    self.length = value
                } catch {
                    // An incomplete ULEB128 so far; at most five bytes make one.
                    if header.count >= 5 || header.last.map({ $0 & 0x80 == 0 }) == true {
                        problem = "the sliver's length is malformed: \(error.message)"
                        return false
                    }
                }
                continue
            }
            if written < length {
                let take = min(length - written, rest.count)
                UnsafeMutableRawBufferPointer(rebasing: destination[written..<written + take]).copyMemory(from: UnsafeRawBufferPointer(rebasing: rest.prefix(take)))
                written += take
                rest = rest.dropFirst(take)
            } else {
                guard trailer.count + rest.count <= 4 else {
                    problem = "bytes past the end of the sliver"
                    return false
                }
                trailer += rest
                rest = rest.dropFirst(rest.count)
            }
        }
        return true
    }

    /// The sliver's symbol size and index, when the whole wire form arrived.
    func finish() throws(RedStuffError) -> (UInt16, SliverIndex) {
        if let problem { throw RedStuffError(.malformed, problem) }
        guard let length, written == length, trailer.count == 4 else {
            throw RedStuffError(.malformed, "truncated: the sliver's wire form ended early")
        }
        return (UInt16(trailer[0]) | UInt16(trailer[1]) << 8, SliverIndex(UInt16(trailer[2]) | UInt16(trailer[3]) << 8))
    }
}
