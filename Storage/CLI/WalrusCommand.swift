import ArgumentParser
import CFileIO
import Foundation

/// The `walrus` command: store, read and inspect blobs.
struct WalrusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "walrus",
        abstract: "Store, read and verify blobs on a Walrus-compatible network.",
        subcommands: [
            StoreCommand.self, ReadCommand.self, BlobStatusCommand.self, BlobIDCommand.self, VerifyCommand.self, ExtendCommand.self,
            DeleteCommand.self, ListBlobsCommand.self, InfoCommand.self, HealthCommand.self, WalletCommand.self, TransferCommand.self,
            StakeCommand.self, DaemonCommand.self, PublisherCommand.self, AggregatorCommand.self, DevnetCommand.self,
            ShareCommand.self, FundSharedBlobCommand.self, GetBlobAttributeCommand.self, SetBlobAttributeCommand.self, RemoveBlobAttributeFieldsCommand.self, RemoveBlobAttributeCommand.self,
            ConvertBlobIDCommand.self, JSONCommand.self, StoreQuiltCommand.self, ReadQuiltCommand.self, ListPatchesInQuiltCommand.self,
        ])
}

@main
enum WalrusMain {
    /// A blob ID is URL-safe base64 and may start with '-' (say `-hX…`), which the parser would take
    /// for options. Such arguments move behind a `--`, where only positional arguments are parsed.
    static func protectingBlobIDs(_ arguments: [String]) -> [String] {
        guard !arguments.contains("--") else { return arguments }
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let isBlobID = { (a: String) in a.count == 43 && a.hasPrefix("-") && a.allSatisfy(alphabet.contains) }
        let ids = arguments.filter(isBlobID)
        return ids.isEmpty ? arguments : arguments.filter { !isBlobID($0) } + ["--"] + ids
    }

    /// Options every command takes, as Walrus writes them before the command
    /// (`walrus --config C --json store F`): the parser wants them after it, so they move to the end
    /// (before a `--`), where the command's own parser takes them.
    static let globalFlags: Set<String> = ["--json", "--quiet", "-q", "--verbose", "-v"]
    static let globalOptions: Set<String> = ["--config", "--context", "--wallet", "--timeout"]

    static func hoistingGlobalOptions(_ arguments: [String]) -> [String] {
        var hoisted: [String] = []
        var i = 0
        while i < arguments.count, arguments[i].hasPrefix("-"), arguments[i] != "--" {
            let argument = arguments[i]
            if globalFlags.contains(argument) {
                hoisted.append(argument)
                i += 1
            } else if let equals = argument.firstIndex(of: "="), globalOptions.contains(String(argument[..<equals])) {
                hoisted.append(argument)
                i += 1
            } else if globalOptions.contains(argument), i + 1 < arguments.count {
                hoisted += [argument, arguments[i + 1]]
                i += 2
            } else {
                break
            }
        }
        guard !hoisted.isEmpty, i < arguments.count else { return arguments }
        let rest = Array(arguments[i...])
        if let separator = rest.firstIndex(of: "--") { return Array(rest[..<separator]) + hoisted + Array(rest[separator...]) }
        return rest + hoisted
    }

    static func main() async {
        walrus_malloc_for_large_buffers(128 << 20)
        let arguments = Array(CommandLine.arguments.dropFirst())
        let json = arguments.contains("--json") || arguments.first(where: { !$0.hasPrefix("-") }) == "json"
        do {
            var command = try WalrusCommand.parseAsRoot(WalrusMain.protectingBlobIDs(WalrusMain.hoistingGlobalOptions(arguments)))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            exit(Output.failure(error, json: json))
        } catch {
            let code = WalrusCommand.exitCode(for: error)
            if code == .success {
                Output.result(WalrusCommand.fullMessage(for: error))
                exit(0)
            }
            let message = WalrusCommand.message(for: error)
            if code.rawValue == ExitCode.validationFailure.rawValue || code.rawValue == 64 {
                let usage = CLIError.usage("\(message)\nRun `walrus --help` for usage.")
                exit(Output.failure(usage, json: json))
            }
            exit(Output.failure(CLIError(code: "INTERNAL", message, exit: .internalError), json: json))
        }
    }
}
