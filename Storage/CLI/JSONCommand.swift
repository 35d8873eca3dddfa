import ArgumentParser
import Foundation
import WalrusAPI

/// `walrus json ['<command>']`: one command as JSON (the argument, or standard input), its result
/// as JSON on stdout, as Walrus's JSON mode takes it: `{"config"?, "context"?, "wallet"?,
/// "command": {"<name>": {<camelCase arguments>}}}`.
struct JSONCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "json", abstract: "Run one command given as JSON; print its result as JSON.",
        discussion: #"Example: walrus json '{"command":{"read":{"blobId":"…","out":"file.bin"}}}'. Keys are the command's options in camelCase; the result is what the command prints with --json."#)

    @Argument(help: "The command as JSON (standard input when absent).") var text: String?

    /// Inputs larger than this are refused before they are parsed.
    static let inputBytesMax = 1 << 20

    func run() async throws {
        let input: Data
        if let text {
            input = Data(text.utf8)
        } else {
            input = FileHandle.standardInput.readData(ofLength: Self.inputBytesMax + 1)
        }
        guard input.count <= Self.inputBytesMax else { throw CLIError.usage("the JSON command is larger than \(Self.inputBytesMax) bytes") }
        var command = try WalrusCommand.parseAsRoot(try Self.arguments(input))
        if var asyncCommand = command as? any AsyncParsableCommand {
            try await asyncCommand.run()
        } else {
            try command.run()
        }
    }

    /// Where a command's JSON argument goes when it is not an option of the same name.
    static let positional: [String: Set<String>] = [
        "store": ["files"], "read": ["blobId"], "blob-id": ["file"], "convert-blob-id": ["blobIdDecimal"],
        "verify": ["blobId"], "transfer": ["address", "amount"],
        "get-blob-attribute": ["blobObjId"], "set-blob-attribute": ["blobObjId"], "remove-blob-attribute-fields": ["blobObjId"],
        "remove-blob-attribute": ["blobObjId"],
    ]
    /// JSON names that differ from the option's long name.
    static let renamed: [String: [String: String]] = [
        "delete": ["blobIds": "blob-id", "files": "file", "objectIds": "object-id"],
        "blob-status": ["blobId": "blob-id"],
        "extend": ["blobObjId": "blob-obj-id"],
    ]

    /// The command line a JSON command stands for, with `--json` added.
    static func arguments(_ input: Data) throws -> [String] {
        guard case .object(let root)? = try? WalrusJSON.decode(JSONValue.self, from: Array(input)) else {
            throw CLIError.usage("the input is not a JSON object; see `walrus json --help`")
        }
        let known: Set<String> = ["command", "config", "context", "wallet", "timeout", "gasBudget"]
        if let unknown = root.keys.sorted().first(where: { !known.contains($0) }) { throw CLIError.usage("unknown top-level key '\(unknown)'") }
        guard case .object(let command)? = root["command"], command.count == 1, let (name, body) = command.first else {
            throw CLIError.usage(#"the input needs "command": {"<name>": {…}} with one command"#)
        }
        if root["gasBudget"] != nil {
            Output.log("note: gasBudget has no meaning on this chain (each transaction pays a fixed fee schedule); it is not used")
        }
        let subcommand = kebab(name)
        guard subcommand != "json", WalrusCommand.configuration.subcommands.contains(where: { $0.configuration.commandName == subcommand }) else {
            throw CLIError.usage("unknown command '\(name)'")
        }
        guard case .object(let fields) = body else { throw CLIError.usage("the arguments of '\(name)' are a JSON object") }
        var options: [String] = []
        var positionals: [String] = []
        for key in fields.keys.sorted() {
            let values: [JSONValue]
            if case .array(let items)? = fields[key] { values = items } else { values = fields[key].map { [$0] } ?? [] }
            if positional[subcommand]?.contains(key) == true {
                positionals += try values.map { try scalar($0, key) }
                continue
            }
            let option = "--" + (renamed[subcommand]?[key] ?? kebab(key))
            for item in values {
                switch item {
                case .bool(true): options.append(option)
                case .bool(false), .null: break
                default: options += [option, try scalar(item, key)]
                }
            }
        }
        var global: [String] = ["--json"]
        for key in ["config", "context", "wallet", "timeout"] {
            if let value = root[key] { global += ["--\(key)", try scalar(value, key)] }
        }
        return [subcommand] + options + global + (positionals.isEmpty ? [] : ["--"] + positionals)
    }

    static func scalar(_ value: JSONValue, _ key: String) throws -> String {
        switch value {
        case .string(let text): return text
        case .integer(let number): return String(number)
        case .number(let number): return String(number)
        default: throw CLIError.usage("'\(key)' is a string, a number or a list of them")
        }
    }

    /// camelCase to kebab-case: `blobStatus` → `blob-status`.
    static func kebab(_ name: String) -> String {
        var result = ""
        for c in name {
            if c.isUppercase {
                result += "-" + c.lowercased()
            } else {
                result.append(c)
            }
        }
        return result
    }
}
