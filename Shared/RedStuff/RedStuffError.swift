public import WalrusCore

/// The error of the Red Stuff encoding: sizes out of range, data that does not verify against its
/// metadata, too few slivers or symbols, and blobs whose writer encoded them inconsistently.
public struct RedStuffError: CodedError, Equatable {
    /// A stable error code.
    public struct Code: StableCode {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }

        /// The blob is larger than the largest blob this shard count can encode.
        public static let blobTooLarge = Code("BLOB_TOO_LARGE")
        /// The shard count is outside what the code supports.
        public static let unsupportedShardCount = Code("UNSUPPORTED_SHARD_COUNT")
        /// An encoding type other than RS2.
        public static let unsupportedEncodingType = Code("UNSUPPORTED_ENCODING_TYPE")
        /// Metadata that is malformed or whose blob ID does not recompute.
        public static let invalidMetadata = Code("INVALID_METADATA")
        /// A sliver whose index, length, symbol size or Merkle root does not match the metadata.
        public static let invalidSliver = Code("INVALID_SLIVER")
        /// A recovery symbol whose size, index or proof does not verify.
        public static let invalidSymbol = Code("INVALID_SYMBOL")
        /// An inconsistency proof that does not prove an inconsistency.
        public static let invalidProof = Code("INVALID_PROOF")
        /// Fewer slivers or symbols than decoding needs.
        public static let notEnoughData = Code("NOT_ENOUGH_DATA")
        /// The decoded blob does not match its blob ID: its writer encoded it inconsistently.
        public static let inconsistentBlob = Code("INCONSISTENT_BLOB")
        /// Bytes that do not decode (BCS).
        public static let malformed = Code("MALFORMED")
    }

    public let code: Code
    public let message: String
    public var isRetryable: Bool { code == .notEnoughData }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    init(_ error: CoreError) { self.init(.malformed, error.message) }
}
