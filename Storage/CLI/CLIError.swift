import RedStuff
import WalrusClient
import WalrusCore

/// A failure the CLI reports to the user: a stable code (JSON `error.code`), a message that says
/// what to do, and the exit code of the output contract (Docs/CLI.md).
struct CLIError: Error, CustomStringConvertible {
    /// Exit codes: 0 ok, 1 internal, 2 usage/config, 3 not found/expired, 4 insufficient funds,
    /// 5 unavailable/timeout (retryable), 6 verification failed.
    enum Exit: Int32 {
        case internalError = 1
        case usage = 2
        case notFound = 3
        case insufficientFunds = 4
        case unavailable = 5
        case verificationFailed = 6
    }

    let code: String
    let message: String
    let exit: Exit
    var retryable: Bool { exit == .unavailable }
    var description: String { message }

    init(code: String, _ message: String, exit: Exit) {
        self.code = code
        self.message = message
        self.exit = exit
    }

    static func usage(_ message: String) -> CLIError { CLIError(code: "INVALID_ARGUMENT", message, exit: .usage) }

    init(_ error: ClientError) {
        let exit: Exit = switch error.code {
        case .config, .invalidArgument: .usage
        case .notFound: .notFound
        case .insufficientFunds: .insufficientFunds
        case .unavailable, .notEnoughConfirmations: .unavailable
        case .verification: .verificationFailed
        default: .internalError
        }
        self.init(code: error.code.rawValue, error.message, exit: exit)
    }

    init(_ error: RedStuffError) {
        switch error.code {
        case .blobTooLarge: self.init(code: "BLOB_TOO_LARGE", error.message, exit: .usage)
        case .unsupportedShardCount: self.init(code: "INVALID_ARGUMENT", error.message, exit: .usage)
        case .inconsistentBlob, .invalidSliver, .invalidMetadata, .invalidSymbol, .invalidProof:
            self.init(code: error.code.rawValue, error.message, exit: .verificationFailed)
        case .notEnoughData: self.init(code: error.code.rawValue, error.message, exit: .unavailable)
        default: self.init(code: error.code.rawValue, error.message, exit: .internalError)
        }
    }
}
