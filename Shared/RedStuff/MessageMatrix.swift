import WalrusCore

/// A blob laid out as the Red Stuff message matrix: `n_P` rows of `n_S` symbols, row-major, padded
/// with zeros (PROTOCOL.md §1.3). Row `r < n_P` is also primary sliver `r`.
public final class MessageMatrix: @unchecked Sendable {
    public let config: EncodingConfig
    public let unencodedLength: UInt64
    public let symbolSize: Int
    let buffer: RawBuffer

    /// A matrix for a blob of `length` bytes whose bytes `fill` writes into the first `length`
    /// bytes of the buffer it is given (the rest stays zero). Reading a file straight into the
    /// matrix avoids a copy of the blob.
    public init<E: Error>(
        config: EncodingConfig, length: UInt64, fill: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(RedStuffError) {
        self.config = config
        unencodedLength = length
        symbolSize = try config.symbolSize(forLength: length)
        let total = config.sourceSymbolsPerBlob * symbolSize
        buffer = RawBuffer(uninitializedCount: total)
        (buffer.pointer + Int(length)).initializeMemory(as: UInt8.self, repeating: 0, count: total - Int(length))
        do { try fill(UnsafeMutableRawBufferPointer(start: buffer.pointer, count: Int(length))) } catch {
            throw RedStuffError(.malformed, "could not read the blob: \(error)")
        }
    }

    /// The bytes a matrix for a blob of `length` bytes takes: the memory that
    /// `init(config:length:memory:owner:)` wants.
    public static func byteCount(config: EncodingConfig, length: UInt64) throws(RedStuffError) -> Int {
        config.sourceSymbolsPerBlob * (try config.symbolSize(forLength: length))
    }

    /// A matrix over memory the caller holds (`owner` keeps it valid and frees it; the matrix keeps
    /// the owner): the blob's `length` bytes, then zeros up to `byteCount(config:length:)`, as in a
    /// file mapped from the page cache instead of read into fresh memory. The memory must not change
    /// while the matrix is in use; the encoder only reads it. Zeros past the blob are checked.
    public init(config: EncodingConfig, length: UInt64, memory: UnsafeRawBufferPointer, owner: AnyObject) throws(RedStuffError) {
        self.config = config
        unencodedLength = length
        symbolSize = try config.symbolSize(forLength: length)
        let total = config.sourceSymbolsPerBlob * symbolSize
        guard let base = memory.baseAddress, memory.count >= total else {
            throw RedStuffError(.malformed, "the matrix needs \(total) bytes of memory, got \(memory.count)")
        }
        guard UnsafeRawBufferPointer(rebasing: memory[Int(length)..<total]).allSatisfy({ $0 == 0 }) else {
            throw RedStuffError(.malformed, "the matrix's memory past the blob's \(length) bytes is not zero")
        }
        buffer = RawBuffer(external: UnsafeMutableRawPointer(mutating: base), count: total, owner: owner)
    }

    /// A matrix holding a copy of `blob`.
    public convenience init(config: EncodingConfig, blob: UnsafeRawBufferPointer) throws(RedStuffError) {
        try self.init(config: config, length: UInt64(blob.count)) { (target: UnsafeMutableRawBufferPointer) throws(RedStuffError) in
            if blob.count > 0 { target.copyMemory(from: blob) }
        }
    }

    public convenience init(config: EncodingConfig, blob: [UInt8]) throws(RedStuffError) {
        try self.init(config: config, length: UInt64(blob.count)) { (target: UnsafeMutableRawBufferPointer) throws(RedStuffError) in
            blob.withUnsafeBytes { if $0.count > 0 { target.copyMemory(from: $0) } }
        }
    }

    /// Bytes of one row (a primary sliver).
    var rowBytes: Int { config.secondarySourceSymbols * symbolSize }

    /// The blob's bytes (without padding).
    public var blob: [UInt8] { buffer.copy(offset: 0, count: Int(unencodedLength)) }
}
