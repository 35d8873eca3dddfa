import Foundation

/// The output contract: the result alone on stdout (text, or one JSON document with `--json`);
/// progress, logs and warnings on stderr.
enum Output {
    static func result(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func json<T: Encodable>(_ value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    static func log(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Reports a failure in the requested format and returns its exit code.
    static func failure(_ error: CLIError, json: Bool) -> Int32 {
        if json {
            struct Body: Encodable {
                struct Inner: Encodable {
                    let code: String
                    let message: String
                    let retryable: Bool
                }
                let error: Inner
            }
            Output.json(Body(error: .init(code: error.code, message: error.message, retryable: error.retryable)))
        } else {
            log("error: \(error.message)")
        }
        return error.exit.rawValue
    }
}
