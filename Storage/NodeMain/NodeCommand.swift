import ArgumentParser
import CFileIO
import HTTPKit
import Foundation
import Logging
import Operations
import StorageNode
import WalrusCore
import WalrusCrypto

func log(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

func fail(_ message: String, code: Int32 = 2) -> Never {
    log("error: \(message)")
    exit(code)
}

/// `walrus-node`: run a storage node.
@main
struct WalrusNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "walrus-node", abstract: "Run a Walrus-compatible storage node.", subcommands: [Init.self, Run.self, Register.self, Update.self, Show.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the node and operator keys (unless present) and a config; prints the keys for registering the node.")

        @Option(help: "The node's directory.") var dir: String
        @Option(name: .customLong("genesis-file"), help: "The chain's genesis file, relative to the directory.") var genesisFile = "../genesis.yaml"
        @Option(help: "host:port of the REST API.") var listen = "127.0.0.1:9185"
        @Option(name: .customLong("chain-rpc"), help: "A validator RPC URL (repeatable).") var chainRPC: [String] = ["http://127.0.0.1:26700"]
        @Option(name: .customLong("admin-listen"), help: "host:port of the admin endpoint (/metrics, /v1/health); keep it private.") var adminListen: String?
        @Flag(name: .customLong("plain-http"), help: "Serve plain HTTP, without a network key (only for a node registered without one).") var plainHTTP = false

        func run() throws {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch { fail("cannot create \(dir)") }
            if FileManager.default.fileExists(atPath: "\(dir)/config.yaml") { fail("\(dir)/config.yaml exists; edit it or choose another directory") }
            func key(_ name: String) -> Schnorr.PrivateKey {
                let path = "\(dir)/\(name)"
                if FileManager.default.fileExists(atPath: path) {
                    do { return try KeyFile.load(from: path) } catch { fail(error.message) }
                }
                let key = Schnorr.PrivateKey.generate()
                do { try KeyFile.write(key, to: path) } catch { fail(error.message) }
                return key
            }
            let node = key("node.key"), operatorKey = key("operator.key")
            var config = StorageConfig(keyFile: "node.key", operatorKeyFile: "operator.key", dataDir: "data", genesisFile: genesisFile, listen: listen, chainRPC: chainRPC)
            config.adminListen = adminListen
            var networkKey: NetworkPrivateKey?
            if !plainHTTP {
                let path = "\(dir)/network.key"
                if FileManager.default.fileExists(atPath: path) {
                    do { networkKey = try KeyFile.loadNetworkKey(from: path) } catch { fail(error.message) }
                } else {
                    let fresh = NetworkPrivateKey.generate()
                    do { try KeyFile.write(fresh, to: path) } catch { fail(error.message) }
                    networkKey = fresh
                }
                config.networkKeyFile = "network.key"
            }
            do { try config.write(to: "\(dir)/config.yaml") } catch { fail(error.message) }
            print("node public key: \(Hex.encode(node.publicKey.bytes))")
            if let networkKey { print("network public key: \(networkKey.publicKey) (TLS; clients pin it)") }
            print("operator address: \(operatorKey.publicKey.address)")
            print("config: \(dir)/config.yaml")
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the storage node until interrupted.")

        @Option(help: "The node's config file.") var config: String

        func run() async throws {
            walrus_malloc_for_large_buffers(128 << 20)
            let loaded: StorageConfig
            do { loaded = try StorageConfig.load(config) } catch { fail(error.message) }
            if let problem = ProcessLifecycle.bootstrap(logFormat: loaded.logFormat, logLevel: loaded.logLevel) { fail(problem) }
            let logger = Logger(label: "storage-node")
            let node: StorageNode
            do { node = try await StorageNode.start(loaded, logger: logger) } catch { fail(error.message, code: 5) }
            let configPath = config
            do {
                // SIGHUP: the log level and a renewed certificate; the rest needs a restart.
                try await ProcessLifecycle.serve(
                    logger: logger, adminListen: loaded.adminListen, isServing: { node.isServing },
                    logLevel: { (try? StorageConfig.load(configPath))?.logLevel },
                    reload: {
                        do { try node.reloadCertificate() } catch { logger.error("cannot reload the certificate; serving the previous one", metadata: ["reason": "\(error)"]) }
                    },
                    stopping: "draining requests in flight, then flushing", shutdown: { await node.shutdown() })
            } catch { fail("\(error)", code: 5) }
        }
    }
}
