public import WalrusCore

/// The error of the SDK. Codes map to the CLI's exit codes (Docs/CLI.md).
public struct ClientError: CodedError, Equatable {
    public struct Code: StableCode {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        /// Configuration missing or wrong, or the network was reset (exit 2).
        public static let config = Code("CONFIG")
        /// The blob does not exist or expired (exit 3).
        public static let notFound = Code("BLOB_NOT_FOUND")
        /// Not enough WAL (exit 4).
        public static let insufficientFunds = Code("INSUFFICIENT_FUNDS")
        /// Not enough nodes or validators answered (exit 5, retryable).
        public static let unavailable = Code("UNAVAILABLE")
        /// Storage nodes holding less than a quorum of shards confirmed a store (exit 5, retryable;
        /// the publisher's 504 INSUFFICIENT_CONFIRMATIONS).
        public static let notEnoughConfirmations = Code("NOT_ENOUGH_CONFIRMATIONS")
        /// Data or a certificate did not verify; the blob is invalid (exit 6).
        public static let verification = Code("VERIFICATION_FAILED")
        /// Bad input (exit 2).
        public static let invalidArgument = Code("INVALID_ARGUMENT")
    }

    public let code: Code
    public let message: String
    public var isRetryable: Bool { code == .unavailable || code == .notEnoughConfirmations }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
