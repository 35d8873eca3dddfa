import ArgumentParser
import Foundation
import HTTPKit
import WalrusClient
import WalrusCore

/// `walrus devnet up|status|down`: a local network of validators and storage nodes on 127.0.0.1,
/// run as background processes from the binaries next to `walrus`.
struct DevnetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devnet", abstract: "Run a local network (validators and storage nodes on 127.0.0.1).",
        subcommands: [Up.self, Status.self, Down.self, Kill.self, Restart.self])

    struct Process: Codable {
        var name: String
        var kind: String
        var pid: Int32
        var address: String
        /// The admin endpoint (`/metrics`, `/v1/health`, plain HTTP on loopback), when it has one.
        var admin: String?
        /// Whether the public address serves TLS (storage nodes with a network key).
        var tls: Bool?

        /// The URL its health is probed at: the admin endpoint when there is one.
        var healthURL: String {
            if let admin, kind != "gateway" { return "http://\(admin)/v1/health" }
            return "http://\(address)" + (kind == "gateway" ? "/status" : "/v1/health")
        }
        var publicURL: String { "\(tls == true ? "https" : "http")://\(address)" }
    }

    /// A binary next to this one (found through /proc/self/exe, so `walrus` may come from PATH).
    static func binary(_ name: String) -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent(name).path
    }

    static func launch(_ binary: String, _ arguments: [String], log: String) throws -> Int32 {
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process.processIdentifier
    }

    /// Seconds from `90`, `90s`, `10m` or `1h`.
    static func parseDuration(_ text: String) throws -> Int {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600]
        let (number, unit) = text.last.flatMap { units[$0] }.map { (String(text.dropLast()), $0) } ?? (text, 1)
        guard let value = Int(number), value > 0, value <= 365 * 86_400 / unit else {
            throw ValidationError("--epoch-duration is a positive length like 90s, 10m or 1h, not '\(text)'")
        }
        return value * unit
    }

    /// Whether the process runs: it exists and is not a zombie waiting for a parent to reap it.
    static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    /// How `up` starts a process of the devnet in `dir`: its binary, arguments and log.
    static func launchSpec(_ p: Process, dir: String) -> (binary: String, arguments: [String], log: String) {
        switch p.kind {
        case "validator": (binary("walrus-validator"), ["run", "--config", "\(dir)/\(p.name)/config.yaml"], "\(dir)/logs/\(p.name).log")
        case "storage-node": (binary("walrus-node"), ["run", "--config", "\(dir)/\(p.name)/config.yaml"], "\(dir)/logs/\(p.name).log")
        default:
            (binary("walrus"), ["daemon", "--bind-address", p.address, "--config", "\(dir)/client_config.yaml", "-q"] + (p.admin.map { ["--metrics-address", $0] } ?? []),
             "\(dir)/logs/\(p.name).log")
        }
    }

    static func loadState(_ dir: String) throws -> [Process] {
        guard let data = FileManager.default.contents(atPath: "\(dir)/devnet.json"), let processes = try? JSONDecoder().decode([Process].self, from: data) else {
            throw CLIError(code: "NOT_FOUND", "no devnet in \(dir); start one with `walrus devnet up --dir \(dir)`", exit: .notFound)
        }
        return processes
    }

    static func find(_ name: String, in processes: [Process], dir: String) throws -> Int {
        guard let index = processes.firstIndex(where: { $0.name == name }) else {
            throw CLIError(code: "NOT_FOUND", "no process \(name) in \(dir); `walrus devnet status --dir \(dir)` lists them: \(processes.map(\.name).joined(separator: ", "))", exit: .notFound)
        }
        return index
    }

    /// A process as `status --json` and `up --json` show it.
    static func row(_ p: Process, state: String) -> [String: Any] {
        var row: [String: Any] = ["name": p.name, "kind": p.kind, "pid": Int(p.pid), "address": p.address, "url": p.publicURL, "state": state]
        if let admin = p.admin { row["admin"] = admin }
        return row
    }

    static func healthy(_ url: String) async -> Bool {
        (try? await HTTPClient().request(.GET, url, timeoutSeconds: 2))?.status == 200
    }

    /// Waits until `condition` holds. When one of the `watching` processes (started just before)
    /// exits meanwhile, it fails at once with the last line of that process's log instead of
    /// waiting out the timeout.
    static func waitUntil(
        _ what: String, seconds: Double, watching: [Process] = [], dir: String = "", _ condition: () async -> Bool
    ) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await condition() { return }
            if let dead = watching.first(where: { !isAlive($0.pid) }) {
                let log = launchSpec(dead, dir: dir).log
                let last = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").last.map(String.init) ?? "(empty log)"
                throw CLIError(
                    code: "UNAVAILABLE",
                    "\(dead.name) exited while starting: \(last) (log: \(log)); `walrus devnet down --dir \(dir)` stops the processes that did start",
                    exit: .unavailable)
            }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        throw CLIError(code: "UNAVAILABLE", "\(what) did not come up within \(Int(seconds)) s; see the logs in \(dir)/logs", exit: .unavailable)
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the local network (creating it on first use).")
        @Option(help: "The network's directory.") var dir = "devnet"
        @Option(help: "Number of validators.") var validators = 4
        @Option(help: "Number of storage nodes.") var nodes = 5
        @Option(help: "Number of shards.") var shards = 100
        @Option(name: .customLong("epoch-duration"), help: "Epoch length: 90s, 10m, 1h, or seconds (default: 60s).", transform: DevnetCommand.parseDuration) var epochDuration = 60
        @Option(name: .customLong("base-port"), help: "First port: validators at +i (p2p) and +100+i (rpc), storage nodes at +200+i, the gateway at +300, admin endpoints at +400+i (storage nodes) and +500+i (validators) (default: 26600, or what the network was created with).") var basePortOption: Int?
        @Flag(name: .customLong("plain-http"), help: "Storage nodes serve plain HTTP without network keys, instead of TLS pinned to them (for comparisons; only when the devnet is created).") var plainHTTP = false
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let state = "\(dir)/devnet.json"
            if let data = FileManager.default.contents(atPath: state), let running = try? JSONDecoder().decode([Process].self, from: data),
                running.contains(where: { DevnetCommand.isAlive($0.pid) }) {
                throw CLIError.usage("a devnet is already running in \(dir); `walrus devnet status --dir \(dir)` shows it, `walrus devnet down --dir \(dir)` stops it")
            }
            let fresh = !FileManager.default.fileExists(atPath: "\(dir)/genesis.yaml")
            // The ports are part of the genesis and the node configs, so an existing network keeps its own.
            let portFile = "\(dir)/base-port"
            let saved = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if !fresh, let saved, let basePortOption, basePortOption != saved {
                throw CLIError.usage("the devnet in \(dir) was created with --base-port \(saved); drop --base-port, or use another --dir")
            }
            let basePort = fresh ? (basePortOption ?? 26600) : (saved ?? basePortOption ?? 26600)
            if fresh {
                let genesis = Foundation.Process()
                genesis.executableURL = URL(fileURLWithPath: DevnetCommand.binary("walrus-validator"))
                genesis.arguments = ["genesis", "--dir", dir, "--validators", "\(validators)", "--storage-nodes", "\(nodes)", "--shards", "\(shards)",
                                     "--epoch-duration-ms", "\(epochDuration * 1000)", "--base-port", "\(basePort)"] + (plainHTTP ? ["--plain-http"] : [])
                genesis.standardOutput = FileHandle.nullDevice
                try genesis.run()
                genesis.waitUntilExit()
                guard genesis.terminationStatus == 0 else { throw CLIError(code: "INTERNAL", "walrus-validator genesis failed", exit: .internalError) }
                try Data("\(basePort)\n".utf8).write(to: URL(fileURLWithPath: portFile))
            }
            try FileManager.default.createDirectory(atPath: "\(dir)/logs", withIntermediateDirectories: true)
            let validatorCount = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.filter { $0.hasPrefix("validator-") }.count ?? validators
            let nodeCount = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.filter { $0.hasPrefix("storage-node-") }.count ?? nodes
            var processes: [Process] = []
            for i in 0..<validatorCount {
                var p = Process(name: "validator-\(i)", kind: "validator", pid: 0, address: "127.0.0.1:\(basePort + 100 + i)", admin: "127.0.0.1:\(basePort + 500 + i)")
                let spec = DevnetCommand.launchSpec(p, dir: dir)
                p.pid = try DevnetCommand.launch(spec.binary, spec.arguments, log: spec.log)
                processes.append(p)
            }
            try writeState(processes, state)
            let rpcs = (0..<validatorCount).map { "http://127.0.0.1:\(basePort + 100 + $0)" }
            if !global.quiet { Output.log("starting \(validatorCount) validators…") }
            try await DevnetCommand.waitUntil("the validators", seconds: 60, watching: processes, dir: dir) { await DevnetCommand.healthy(rpcs[0] + "/v1/health") }
            if !FileManager.default.fileExists(atPath: "\(dir)/validator-0/config.yaml") || !((try? String(contentsOfFile: "\(dir)/validator-0/config.yaml", encoding: .utf8))?.contains("admin_listen") ?? false) {
                for i in processes.indices { processes[i].admin = nil }  // A devnet made before admin endpoints existed.
            }
            for i in 0..<nodeCount {
                let home = "\(dir)/storage-node-\(i)"
                if !FileManager.default.fileExists(atPath: "\(home)/config.yaml") {
                    let initialize = Foundation.Process()
                    initialize.executableURL = URL(fileURLWithPath: DevnetCommand.binary("walrus-node"))
                    // A node serves TLS when the genesis gave it a network key.
                    let keyed = FileManager.default.fileExists(atPath: "\(home)/network.key")
                    initialize.arguments = ["init", "--dir", home, "--listen", "127.0.0.1:\(basePort + 200 + i)", "--admin-listen", "127.0.0.1:\(basePort + 400 + i)"]
                        + rpcs.flatMap { ["--chain-rpc", $0] } + (keyed ? [] : ["--plain-http"])
                    initialize.standardOutput = FileHandle.nullDevice
                    try initialize.run()
                    initialize.waitUntilExit()
                }
                let nodeConfig = (try? String(contentsOfFile: "\(home)/config.yaml", encoding: .utf8)) ?? ""
                var p = Process(
                    name: "storage-node-\(i)", kind: "storage-node", pid: 0, address: "127.0.0.1:\(basePort + 200 + i)",
                    admin: nodeConfig.contains("admin_listen") ? "127.0.0.1:\(basePort + 400 + i)" : nil, tls: nodeConfig.contains("network_key_file"))
                let spec = DevnetCommand.launchSpec(p, dir: dir)
                p.pid = try DevnetCommand.launch(spec.binary, spec.arguments, log: spec.log)
                processes.append(p)
            }
            try writeState(processes, state)
            if !global.quiet { Output.log("starting \(nodeCount) storage nodes…") }
            for i in 0..<nodeCount {
                let node = processes[validatorCount + i]
                try await DevnetCommand.waitUntil("storage node \(i)", seconds: 60, watching: processes, dir: dir) { await DevnetCommand.healthy(node.healthURL) }
            }
            // The client config, with the genesis hash pinned.
            guard let answer = try? await HTTPClient().request(.GET, rpcs[0] + "/v1/health", timeoutSeconds: 5), answer.status == 200,
                let health = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any], let hash = health["genesisHash"] as? String
            else { throw CLIError(code: "UNAVAILABLE", "the chain did not report its genesis", exit: .unavailable) }
            let config = ClientConfig(defaultContext: "devnet", contexts: [
                "devnet": .init(chainRPC: rpcs, genesisHash: hash, walletKeyFile: "client/wallet.key", defaultEpochs: 5),
            ])
            do { try config.write(to: "\(dir)/client_config.yaml") } catch { throw CLIError(error) }
            // The gateway (aggregator and publisher) of the devnet, on loopback.
            let gatewayAddress = "127.0.0.1:\(basePort + 300)"
            var gateway = Process(name: "gateway", kind: "gateway", pid: 0, address: gatewayAddress, admin: "127.0.0.1:\(basePort + 301)")
            let gatewaySpec = DevnetCommand.launchSpec(gateway, dir: dir)
            gateway.pid = try DevnetCommand.launch(gatewaySpec.binary, gatewaySpec.arguments, log: gatewaySpec.log)
            processes.append(gateway)
            try writeState(processes, state)
            try await DevnetCommand.waitUntil("the gateway", seconds: 60, watching: processes, dir: dir) { await DevnetCommand.healthy("http://\(gatewayAddress)/status") }
            let absolute = URL(fileURLWithPath: dir).standardizedFileURL.path
            if global.json {
                let rows: [[String: Any]] = processes.map { DevnetCommand.row($0, state: "running") }
                let object: [String: Any] = ["processes": rows, "config": "\(absolute)/client_config.yaml"]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                Output.result(String(decoding: data, as: UTF8.self))
            } else {
                Output.result("devnet \(fresh ? "created and " : "")started in \(absolute):")
                for p in processes {
                    Output.result("  \(p.name.padding(toLength: 16, withPad: " ", startingAt: 0)) pid \(p.pid)  \(p.publicURL)\(p.admin.map { "  (metrics http://\($0)/metrics)" } ?? "")")
                }
                Output.result("client config: \(absolute)/client_config.yaml (export WALRUS_CONFIG=\(absolute)/client_config.yaml)")
            }
        }

        private func writeState(_ processes: [Process], _ path: String) throws {
            try JSONEncoder().encode(processes).write(to: URL(fileURLWithPath: path))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the local network's processes.")
        @Option(help: "The network's directory.") var dir = "devnet"
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: "\(dir)/devnet.json"), let processes = try? JSONDecoder().decode([Process].self, from: data) else {
                throw CLIError(code: "NOT_FOUND", "no devnet in \(dir); start one with `walrus devnet up --dir \(dir)`", exit: .notFound)
            }
            var rows: [[String: Any]] = []
            for p in processes {
                let alive = DevnetCommand.isAlive(p.pid)
                let state = !alive ? "stopped" : (await DevnetCommand.healthy(p.healthURL) ? "running" : "starting")
                rows.append(DevnetCommand.row(p, state: state))
            }
            if global.json {
                let data = try JSONSerialization.data(withJSONObject: ["processes": rows], options: [.sortedKeys])
                Output.result(String(decoding: data, as: UTF8.self))
            } else {
                for row in rows { Output.result("\(row["name"]!)\t\(row["kind"]!)\tpid \(row["pid"]!)\t\(row["address"]!)\t\(row["state"]!)") }
            }
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the local network (its data stays; `up` starts it again).")
        @Option(help: "The network's directory.") var dir = "devnet"
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: "\(dir)/devnet.json"), let processes = try? JSONDecoder().decode([Process].self, from: data) else {
                throw CLIError(code: "NOT_FOUND", "no devnet in \(dir)", exit: .notFound)
            }
            // Storage nodes first, then validators; SIGTERM, then SIGKILL after ten seconds.
            for p in processes.reversed() where DevnetCommand.isAlive(p.pid) { kill(p.pid, SIGTERM) }
            let deadline = Date().addingTimeInterval(10)
            while processes.contains(where: { DevnetCommand.isAlive($0.pid) }) && Date() < deadline { try await Task.sleep(nanoseconds: 100_000_000) }
            for p in processes where DevnetCommand.isAlive(p.pid) { kill(p.pid, SIGKILL) }
            if !global.quiet { Output.log("stopped \(processes.count) processes") }
        }
    }

    struct Kill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Kill one process of the local network (SIGKILL), to see how the rest copes.")
        @Argument(help: "The process, as `status` names it (validator-0, storage-node-2, gateway).") var name: String
        @Option(help: "The network's directory.") var dir = "devnet"
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let processes = try DevnetCommand.loadState(dir)
            let p = processes[try DevnetCommand.find(name, in: processes, dir: dir)]
            guard DevnetCommand.isAlive(p.pid) else { throw CLIError.usage("\(name) is not running; `walrus devnet restart \(name) --dir \(dir)` starts it") }
            kill(p.pid, SIGKILL)
            if !global.quiet { Output.log("killed \(name) (pid \(p.pid)); `walrus devnet restart \(name) --dir \(dir)` starts it again") }
        }
    }

    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restart one process of the local network with its data.")
        @Argument(help: "The process, as `status` names it.") var name: String
        @Option(help: "The network's directory.") var dir = "devnet"
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            var processes = try DevnetCommand.loadState(dir)
            let index = try DevnetCommand.find(name, in: processes, dir: dir)
            let old = processes[index]
            if DevnetCommand.isAlive(old.pid) {
                kill(old.pid, SIGTERM)
                let deadline = Date().addingTimeInterval(10)
                while DevnetCommand.isAlive(old.pid) && Date() < deadline { try await Task.sleep(nanoseconds: 100_000_000) }
                if DevnetCommand.isAlive(old.pid) { kill(old.pid, SIGKILL) }
            }
            let spec = DevnetCommand.launchSpec(old, dir: dir)
            processes[index].pid = try DevnetCommand.launch(spec.binary, spec.arguments, log: spec.log)
            try JSONEncoder().encode(processes).write(to: URL(fileURLWithPath: "\(dir)/devnet.json"))
            try await DevnetCommand.waitUntil(name, seconds: 60, watching: [processes[index]], dir: dir) { await DevnetCommand.healthy(old.healthURL) }
            if !global.quiet { Output.log("restarted \(name) (pid \(processes[index].pid))") }
        }
    }
}
