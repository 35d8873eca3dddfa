public import WalrusCore

/// The error of WalrusCrypto: bad keys, signatures, intents and key files.
public struct CryptoError: CodedError, Equatable {
    /// A stable error code.
    public struct Code: StableCode {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }

        public static let invalidKey = Code("INVALID_KEY")
        public static let invalidSignature = Code("INVALID_SIGNATURE")
        public static let wrongIntent = Code("WRONG_INTENT")
        public static let keyFileInsecure = Code("KEY_FILE_INSECURE")
        public static let keyFileUnreadable = Code("KEY_FILE_UNREADABLE")
        public static let keyFileExists = Code("KEY_FILE_EXISTS")
    }

    public let code: Code
    public let message: String
    public var isRetryable: Bool { false }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
