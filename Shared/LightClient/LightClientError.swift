public import WalrusCore

/// Why a light-client check failed. Every failure means the data a server returned does not prove
/// what it claims; none is retryable against the same data.
public struct LightClientError: CodedError, Equatable {
    /// A stable error code.
    public struct Code: StableCode {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }

        /// A block's commit is not a valid quorum of the trusted validators.
        public static let invalidCommit = Code("INVALID_COMMIT")
        /// A header is of another chain or names a validator set that was never handed over to.
        public static let untrustedHeader = Code("UNTRUSTED_HEADER")
        /// An item's Merkle path does not lead to the header's root.
        public static let notIncluded = Code("NOT_INCLUDED")
        /// The committee does not hash to the header's committee hash, or is of another epoch.
        public static let wrongCommittee = Code("WRONG_COMMITTEE")
        /// The certificate is forged, of another epoch or message, or below a quorum.
        public static let invalidCertificate = Code("INVALID_CERTIFICATE")
    }

    public let code: Code
    public let message: String
    public var isRetryable: Bool { false }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
