/// The error every WalrusCore parser and checked operation throws.
///
/// `code` is stable and machine-readable; `message` says what was wrong and, where there is one,
/// what to do about it. Nothing in this module is retryable: the same input fails the same way.
public struct CoreError: CodedError, Equatable {
    /// A stable error code. New codes may be added; existing ones never change meaning.
    public struct Code: StableCode {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }

        /// BCS bytes that do not decode: truncated, trailing, non-canonical or out of bounds.
        public static let malformedBCS = Code("MALFORMED_BCS")
        /// A textual identifier (blob ID, address, hex) that does not parse.
        public static let invalidIdentifier = Code("INVALID_IDENTIFIER")
        /// Arithmetic on amounts that would overflow or go negative.
        public static let amountOutOfRange = Code("AMOUNT_OUT_OF_RANGE")
        /// A value outside the protocol's limits (shard count, blob size, ...).
        /// A value naming an encoding this implementation does not support.
        public static let unsupportedEncoding = Code("UNSUPPORTED_ENCODING_TYPE")
        /// Evidence of misbehaviour that does not prove it (messages that do not conflict, or are
        /// not signed by the accused validator).
        public static let invalidEvidence = Code("INVALID_EVIDENCE")
        public static let limitExceeded = Code("LIMIT_EXCEEDED")
    }

    public let code: Code
    public let message: String
    public var isRetryable: Bool { false }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
