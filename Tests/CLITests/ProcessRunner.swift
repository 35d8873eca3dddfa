import Foundation

/// Runs a built executable of this package as a real process, with a time limit.
struct ProcessRunner {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The directory holding the built products (next to the test bundle).
    static let productsDirectory: URL = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while url.pathExtension == "xctest" || url.lastPathComponent == "Contents" || url.lastPathComponent == "MacOS" {
            url.deleteLastPathComponent()
        }
        return url
    }()

    static func run(_ product: String, _ arguments: [String], stdin: Data? = nil, timeoutSeconds: Double = 60) throws -> Result {
        try run(executable: productsDirectory.appendingPathComponent(product).path, arguments, stdin: stdin, timeoutSeconds: timeoutSeconds)
    }

    static func run(executable: String, _ arguments: [String], stdin: Data? = nil, timeoutSeconds: Double = 60) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        while process.isRunning {
            if Date() > deadline {
                kill(process.processIdentifier, SIGKILL)
                break
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A temporary file with the given bytes, removed when the test ends.
final class TemporaryFile {
    let url: URL
    init(_ bytes: Data) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-cli-\(UUID().uuidString)")
        try bytes.write(to: url)
    }
    var path: String { url.path }
    deinit { try? FileManager.default.removeItem(at: url) }
}
