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

    #if os(Linux)
    /// A matrix over the first `length` bytes of the regular file `fd`, mapped from the page cache
    /// instead of read into fresh memory (a large blob's matrix is most of what an encode would
    /// otherwise allocate). The matrix reflects the file as it is while it lives: the caller must
    /// handle SIGBUS (the file was truncated) and should check that the file did not change while
    /// it was being stored. Nil when the file cannot be mapped; read it into a matrix instead.
    public init?(config: EncodingConfig, mapping fd: Int32, length: UInt64) throws(RedStuffError) {
        self.config = config
        unencodedLength = length
        symbolSize = try config.symbolSize(forLength: length)
        guard let mapped = RawBuffer(mapping: fd, length: Int(length), count: config.sourceSymbolsPerBlob * symbolSize) else { return nil }
        buffer = mapped
    }
    #endif

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
