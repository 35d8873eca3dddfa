import ArgumentParser
import Foundation
import WalrusAPI
import WalrusClient
import WalrusCore

/// What the attribute commands print with `--json`: Walrus's `GetBlobAttributeOutput`.
struct AttributeOutput: Encodable {
    let attribute: BlobAttribute?

    func encode(to encoder: any Encoder) throws {
        enum Keys: String, CodingKey { case attribute }
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(attribute, forKey: .attribute)  // null when there is none, as Walrus writes it
    }
}

/// Prints an attribute: JSON, or one `key<TAB>value` line a pair.
func printAttribute(_ attribute: BlobAttribute?, _ global: GlobalOptions, objectID: ObjectID) {
    if global.json {
        Output.json(AttributeOutput(attribute: attribute))
    } else if let attribute, !attribute.pairs.isEmpty {
        for (key, value) in attribute.pairs { Output.result("\(key)\t\(value)") }
    } else {
        global.progress("blob object \(objectID) has no attribute")
    }
}

/// `walrus get-blob-attribute <BLOB_OBJ_ID>`.
struct GetBlobAttributeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get-blob-attribute", abstract: "Show a blob object's attribute (its key-value pairs).")
    @Argument(help: "The blob object's ID (`walrus list-blobs`).") var objectID: String
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let id = try parseObjectID(objectID)
        let (client, _) = try await connect(global)
        do { printAttribute(try await client.blobAttribute(objectID: id), global, objectID: id) } catch { throw CLIError(error) }
    }
}

/// `walrus set-blob-attribute <BLOB_OBJ_ID> --attr KEY VALUE [--attr KEY VALUE]…`.
struct SetBlobAttributeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-blob-attribute", abstract: "Set keys of a blob object's attribute (this wallet's object).",
        discussion: "The aggregator serves allowed keys (content-type, content-disposition, …) as response headers of /v1/blobs/by-object-id.")
    @Argument(help: "The blob object's ID.") var objectID: String
    @Option(name: .customLong("attr"), parsing: .upToNextOption, help: "A key and its value (repeatable): --attr content-type text/html.") var attr: [String] = []
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let id = try parseObjectID(objectID)
        guard !attr.isEmpty, attr.count % 2 == 0 else { throw CLIError.usage("--attr takes a key and a value, for example --attr content-type text/html") }
        let pairs = stride(from: 0, to: attr.count, by: 2).map { (key: attr[$0], value: attr[$0 + 1]) }
        let (client, _) = try await connect(global)
        do {
            try await client.setBlobAttribute(objectID: id, pairs: pairs)
            printAttribute(try await client.blobAttribute(objectID: id), global, objectID: id)
        } catch { throw CLIError(error) }
    }
}

/// `walrus remove-blob-attribute-fields <BLOB_OBJ_ID> --keys KEY…`.
struct RemoveBlobAttributeFieldsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove-blob-attribute-fields", abstract: "Remove keys of a blob object's attribute.")
    @Argument(help: "The blob object's ID.") var objectID: String
    @Option(parsing: .upToNextOption, help: "The keys to remove (every one must be there, or nothing changes).") var keys: [String] = []
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let id = try parseObjectID(objectID)
        guard !keys.isEmpty else { throw CLIError.usage("name the keys to remove: --keys KEY…") }
        let (client, _) = try await connect(global)
        do {
            try await client.removeBlobAttributeFields(objectID: id, keys: keys)
            printAttribute(try await client.blobAttribute(objectID: id), global, objectID: id)
        } catch { throw CLIError(error) }
    }
}

/// `walrus remove-blob-attribute <BLOB_OBJ_ID>`.
struct RemoveBlobAttributeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove-blob-attribute", abstract: "Remove a blob object's whole attribute.")
    @Argument(help: "The blob object's ID.") var objectID: String
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let id = try parseObjectID(objectID)
        let (client, _) = try await connect(global)
        do {
            try await client.removeBlobAttribute(objectID: id)
            printAttribute(nil, global, objectID: id)
        } catch { throw CLIError(error) }
    }
}

/// `walrus share --blob-obj-id ID [--amount AMOUNT]`: makes a permanent blob object shared.
struct ShareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "share", abstract: "Share a permanent blob object: anyone may then fund it and extend it from its funds.",
        discussion: "The object belongs to no one afterwards (it cannot be transferred or deleted). Prints the shared blob's object ID.")
    @Option(name: .customLong("blob-obj-id"), help: "This wallet's permanent blob object.") var objectID: String
    @Option(help: "WAL to put into the shared blob's funds: 1.5WAL, or a whole number of FROST.") var amount: String?
    @OptionGroup var global: GlobalOptions

    /// Walrus's `ShareBlobOutput`.
    struct Result: Encodable {
        let sharedBlobObjectId: ObjectID
        let amount: UInt64?
    }

    func run() async throws {
        let id = try parseObjectID(objectID)
        let funds = try amount.map(parseAmount) ?? .zero
        let (client, _) = try await connect(global)
        let shared: ObjectID
        do { shared = try await client.share(objectID: id, funds: funds) } catch { throw CLIError(error) }
        if global.json { Output.json(Result(sharedBlobObjectId: shared, amount: amount == nil ? nil : funds.rawValue)) } else { Output.result(shared.description) }
    }
}

/// `walrus fund-shared-blob --shared-blob-obj-id ID --amount AMOUNT`.
struct FundSharedBlobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fund-shared-blob", abstract: "Add WAL to a shared blob's funds (anyone may).")
    @Option(name: .customLong("shared-blob-obj-id"), help: "The shared blob's object ID.") var sharedID: String
    @Option(help: "The amount: 1.5WAL, or a whole number of FROST.") var amount: String
    @OptionGroup var global: GlobalOptions

    /// Walrus's `FundSharedBlobOutput`.
    struct Result: Encodable { let amount: UInt64 }

    func run() async throws {
        let id = try parseObjectID(sharedID)
        let funds = try parseAmount(amount)
        let (client, _) = try await connect(global)
        do { try await client.fundSharedBlob(sharedID: id, amount: funds) } catch { throw CLIError(error) }
        if global.json { Output.json(Result(amount: funds.rawValue)) } else { Output.result("funded shared blob \(id) with \(funds)") }
    }
}
