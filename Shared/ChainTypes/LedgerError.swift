public import WalrusCore

/// Why a transaction failed. Codes follow the reference contract's abort names where one exists.
public struct LedgerError: CodedError, Equatable {
    public struct Code: StableCode {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }

        public static let badSignature = Code("BAD_SIGNATURE")
        public static let badNonce = Code("BAD_NONCE")
        public static let wrongChain = Code("WRONG_CHAIN")
        public static let insufficientFunds = Code("INSUFFICIENT_FUNDS")
        public static let notFound = Code("NOT_FOUND")
        public static let notOwner = Code("NOT_OWNER")
        public static let invalidArgument = Code("INVALID_ARGUMENT")
        public static let invalidBlobID = Code("E_INVALID_BLOB_ID")
        public static let storageExpired = Code("E_RESOURCE_BOUNDS")
        public static let storageTooSmall = Code("E_RESOURCE_SIZE")
        public static let unsupportedEncoding = Code("E_UNSUPPORTED_ENCODING")
        public static let alreadyCertified = Code("E_ALREADY_CERTIFIED")
        public static let notCertified = Code("E_NOT_CERTIFIED")
        public static let wrongEpoch = Code("E_WRONG_EPOCH")
        public static let insufficientWeight = Code("E_NOT_ENOUGH_WEIGHT")
        public static let invalidCertificate = Code("E_INVALID_CERTIFICATE")
        public static let persistenceMismatch = Code("E_INVALID_PERSISTENCE")
        public static let notDeletable = Code("E_BLOB_NOT_DELETABLE")
        public static let capacityExceeded = Code("E_STORAGE_EXCEEDED")
        public static let tooManyEpochs = Code("E_INVALID_EPOCHS_AHEAD")
        public static let invalidBlob = Code("E_BLOB_INVALID")
        public static let notInCommittee = Code("E_NOT_IN_COMMITTEE")
        public static let wrongEpochState = Code("E_WRONG_EPOCH_STATE")
        public static let withdrawNotReady = Code("E_WITHDRAW_NOT_READY")
        public static let duplicate = Code("DUPLICATE")
        /// A transaction over `SignedTransaction.bytesMax` encoded bytes.
        public static let tooLarge = Code("TRANSACTION_TOO_LARGE")
        /// The mempool (or the sender's share of it) is full and the transaction pays too little
        /// per byte to displace a pending one; retry once blocks drain it.
        public static let mempoolFull = Code("MEMPOOL_FULL")
        /// Evidence of misbehaviour that proves nothing, or names no known validator.
        public static let invalidEvidence = Code("INVALID_EVIDENCE")
    }

    public let code: Code
    public let message: String
    public var isRetryable: Bool { code == .wrongEpoch || code == .mempoolFull }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public init(_ error: CoreError) { self.init(.invalidArgument, error.message) }
}
