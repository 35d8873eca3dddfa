import Foundation

/// The output contract: the result alone on stdout (text, or one JSON document with `--json`);
/// progress, logs and warnings on stderr.
enum Output {
    static func result(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func json<T: Encodable>(_ value: T) {
        FileHandle.standardOutput.write(Data(jsonLine(value).utf8))
    }

    /// One JSON document on a line: sorted keys, slashes unescaped.
    static func jsonLine<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func log(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Reports a failure in the requested format and returns its exit code.
    static func failure(_ error: CLIError, json: Bool) -> Int32 {
        let (fd, text) = failureReport(error, json: json)
        (fd == STDOUT_FILENO ? FileHandle.standardOutput : FileHandle.standardError).write(Data(text.utf8))
        return error.exit.rawValue
    }

    /// Where a failure goes and what it says: the JSON error document on stdout with `--json`,
    /// else `error: …` on stderr (a newline included).
    static func failureReport(_ error: CLIError, json: Bool) -> (fd: Int32, text: String) {
        guard json else { return (STDERR_FILENO, "error: \(error.message)\n") }
        struct Body: Encodable {
            struct Inner: Encodable {
                let code: String
                let message: String
                let retryable: Bool
            }
            let error: Inner
        }
        return (STDOUT_FILENO, jsonLine(Body(error: .init(code: error.code, message: error.message, retryable: error.retryable))))
    }
}
