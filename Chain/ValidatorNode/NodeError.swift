public import WalrusCore

/// The error of the validator node.
public struct NodeError: CodedError, Equatable {
    public struct Code: StableCode {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        /// A config or genesis file that is missing or wrong.
        public static let config = Code("CONFIG")
        /// The data directory does not fit this genesis.
        public static let wrongChain = Code("WRONG_CHAIN")
        /// Storage failed.
        public static let storage = Code("STORAGE")
        /// A network listener could not start.
        public static let network = Code("NETWORK")
        /// A decided block that cannot be committed here (its transactions are not its header's,
        /// or executing it does not give its header's results).
        public static let invalidBlock = Code("INVALID_BLOCK")
    }

    public let code: Code
    public let message: String
    public var isRetryable: Bool { code == .network }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
