import Foundation
import Testing

/// Hosts for tests that need separate machines: each host is a Linux network namespace with one
/// interface (`eth0`, an address on 10.77.0.0/24) joined by a veth pair to a switch namespace of
/// the lab's own. Nothing is added to the machine's own namespace, so no traffic can leave it.
///
/// The switch is `scripts/lab-switch`, a learning Ethernet switch in user space that adds what
/// `tc netem` would: delay with jitter (frames of one link stay in order), loss, and partitions
/// (the cut ports reach only each other). It stands in for the kernel bridge and netem because
/// the kernels the tests run on may lack sch_netem.
///
/// Needs root (namespaces, veth), iproute2, ethtool, curl and python3; `NetworkLab.unavailable`
/// says why a machine cannot.
final class NetworkLab: @unchecked Sendable {
    let id: String
    let hosts: [String]
    private var processes: [Process] = []
    private let lock = NSLock()
    private var switchProcess: Process?
    private var switchInput: FileHandle?
    private var switchOutput: FileHandle?

    static func tool(_ name: String) -> String? {
        ["/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/", "/usr/local/bin/"].map { $0 + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
    static let ipTool = tool("ip")
    static let ethtoolTool = tool("ethtool")
    static let curlTool = tool("curl")
    static let pythonTool = tool("python3")
    static let switchScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/lab-switch").standardizedFileURL.path

    /// Why namespace hosts cannot be made here, or nil when they can (probed once: a namespace
    /// with a veth pair whose offloads can be turned off).
    static let unavailable: String? = {
        guard getuid() == 0 else { return "network namespaces need root (uid \(getuid()))" }
        guard let ip = ipTool else { return "ip (iproute2) is not installed" }
        guard let ethtool = ethtoolTool else { return "ethtool is not installed" }
        guard curlTool != nil else { return "curl is not installed" }
        guard pythonTool != nil, FileManager.default.fileExists(atPath: switchScript) else { return "python3 or \(switchScript) is missing" }
        let ns = "wlprobe\(getpid())"
        defer { _ = try? ProcessRunner.run(executable: ip, ["netns", "del", ns]) }
        let steps: [[String]] = [
            [ip, "netns", "add", ns],
            [ip, "-n", ns, "link", "add", "pa", "type", "veth", "peer", "name", "pb"],
            [ip, "-n", ns, "link", "set", "pa", "up"],
            [ip, "netns", "exec", ns, ethtool, "-K", "pa", "tx", "off", "tso", "off", "gso", "off"],
        ]
        for step in steps {
            guard let result = try? ProcessRunner.run(executable: step[0], Array(step.dropFirst()), timeoutSeconds: 20) else { return "cannot run \(step[0])" }
            guard result.status == 0 else { return "`\(step.joined(separator: " "))` failed: \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))" }
        }
        return nil
    }()

    init(hosts: [String]) throws {
        precondition(hosts.count <= 200, "at most 200 hosts")
        id = String(UInt32.random(in: 0x1000..<0xFFFF), radix: 16)
        self.hosts = hosts
        do {
            try sh(["netns", "add", switchNS])
            try sh(["-n", switchNS, "link", "set", "lo", "up"])
            for (i, host) in hosts.enumerated() {
                let ns = namespace(host)
                try sh(["netns", "add", ns])
                try sh(["-n", ns, "link", "set", "lo", "up"])
                // Created in the switch namespace, one end moved into the host and renamed eth0.
                try sh(["-n", switchNS, "link", "add", port(i), "type", "veth", "peer", "name", "h\(id)x\(i)"])
                try sh(["-n", switchNS, "link", "set", "h\(id)x\(i)", "netns", ns])
                try sh(["-n", ns, "link", "set", "h\(id)x\(i)", "name", "eth0"])
                try sh(["-n", ns, "addr", "add", "\(address(host))/24", "dev", "eth0"])
                try sh(["-n", ns, "link", "set", "eth0", "up"])
                try sh(["-n", switchNS, "link", "set", port(i), "up"])
                // Whole, checksummed frames for the switch to read and write.
                try exec(ns, Self.ethtoolTool ?? "ethtool", ["-K", "eth0", "tx", "off", "tso", "off", "gso", "off", "gro", "off"])
                try exec(switchNS, Self.ethtoolTool ?? "ethtool", ["-K", port(i), "tx", "off", "tso", "off", "gso", "off", "gro", "off"])
            }
            try startSwitch()
        } catch {
            shutdown()
            throw error
        }
    }

    private func startSwitch() throws {
        guard let ip = Self.ipTool, let python = Self.pythonTool else { throw CommandFailed(description: "no ip or python3") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = ["netns", "exec", switchNS, python, Self.switchScript] + hosts.indices.map(port)
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        switchProcess = process
        switchInput = input.fileHandleForWriting
        switchOutput = output.fileHandleForReading
        guard readLine() == "ready" else { throw CommandFailed(description: "the lab switch did not start") }
    }

    /// One line from the switch's stdout.
    private func readLine() -> String? {
        guard let output = switchOutput else { return nil }
        var line = Data()
        while true {
            let byte = output.readData(ofLength: 1)
            guard let first = byte.first else { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if first == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(first)
        }
    }

    /// Sends a command to the switch and checks its answer.
    private func control(_ command: String) throws {
        try lock.withLock {
            guard let input = switchInput else { throw CommandFailed(description: "the lab switch is not running") }
            input.write(Data((command + "\n").utf8))
            let answer = readLine()
            guard answer == "ok" else { throw CommandFailed(description: "lab switch: \(command): \(answer ?? "no answer")") }
        }
    }

    var switchNS: String { "wl\(id)-switch" }
    func namespace(_ host: String) -> String { "wl\(id)-\(host)" }
    private func port(_ index: Int) -> String { "s\(id)x\(index)" }
    private func index(_ host: String) -> Int {
        guard let i = hosts.firstIndex(of: host) else { preconditionFailure("no host \(host) in this lab") }
        return i
    }
    /// The host's address: 10.77.0.(index + 1).
    func address(_ host: String) -> String { "10.77.0.\(index(host) + 1)" }

    struct CommandFailed: Error, CustomStringConvertible {
        let description: String
    }

    private func sh(_ arguments: [String]) throws {
        guard let ip = Self.ipTool else { throw CommandFailed(description: "no ip tool") }
        let result = try ProcessRunner.run(executable: ip, arguments, timeoutSeconds: 20)
        guard result.status == 0 else { throw CommandFailed(description: "ip \(arguments.joined(separator: " ")): \(result.stderr)") }
    }

    private func exec(_ ns: String, _ tool: String, _ arguments: [String]) throws {
        guard let ip = Self.ipTool else { throw CommandFailed(description: "no ip tool") }
        let result = try ProcessRunner.run(executable: ip, ["netns", "exec", ns, tool] + arguments, timeoutSeconds: 20)
        guard result.status == 0 else { throw CommandFailed(description: "\(tool) \(arguments.joined(separator: " ")) in \(ns): \(result.stderr)") }
    }

    /// Latency between hosts: every frame waits `delayMs` ± `jitterMs` (uniform) on its way from
    /// one host to another, without reordering; and `lossPercent` of frames are dropped.
    func setLink(delayMs: Int, jitterMs: Int, lossPercent: Double = 0) throws {
        try control("delay \(delayMs) \(jitterMs)")
        try control("loss \(lossPercent)")
    }

    /// Cuts `group` off from the other hosts: the group reaches only itself.
    func partition(_ group: [String]) throws {
        try control("partition " + group.map { port(index($0)) }.joined(separator: ","))
    }

    /// Joins every host to one switch again.
    func heal() throws { try control("heal") }

    /// Runs a product of this package on `host` and waits for it.
    func run(_ host: String, _ product: String, _ arguments: [String], stdin: Data? = nil, timeoutSeconds: Double = 60) throws -> ProcessRunner.Result {
        guard let ip = Self.ipTool else { throw CommandFailed(description: "no ip tool") }
        let binary = ProcessRunner.productsDirectory.appendingPathComponent(product).path
        return try ProcessRunner.run(executable: ip, ["netns", "exec", namespace(host), binary] + arguments, stdin: stdin, timeoutSeconds: timeoutSeconds)
    }

    /// Starts a product of this package on `host`, its stderr and stdout into `log`; stopped by
    /// `stop` or `shutdown`. `ip netns exec` execs the product, so the process is the product.
    @discardableResult
    func start(_ host: String, _ product: String, _ arguments: [String], log: String) throws -> Process {
        guard let ip = Self.ipTool else { throw CommandFailed(description: "no ip tool") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = ["netns", "exec", namespace(host), ProcessRunner.productsDirectory.appendingPathComponent(product).path] + arguments
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        lock.withLock { processes.append(process) }
        return process
    }

    func stop(_ process: Process, signal: Int32 = SIGTERM) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// GET `url` from `host` (with curl, 5 s at most); the body when the status is 2xx.
    func get(_ host: String, _ url: String) -> Data? {
        guard let ip = Self.ipTool, let curl = Self.curlTool,
            let result = try? ProcessRunner.run(executable: ip, ["netns", "exec", namespace(host), curl, "-sfk", "-m", "5", url], timeoutSeconds: 10),
            result.status == 0
        else { return nil }
        return Data(result.stdout.utf8)
    }

    func getJSON(_ host: String, _ url: String) -> [String: Any]? {
        get(host, url).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }

    /// Stops every process and removes every namespace (which removes the links).
    func shutdown() {
        for process in lock.withLock({ processes }) { stop(process, signal: SIGKILL) }
        if let process = switchProcess {
            try? switchInput?.close()
            stop(process, signal: SIGKILL)
            switchProcess = nil
            switchInput = nil
        }
        guard let ip = Self.ipTool else { return }
        for ns in hosts.map(namespace) + [switchNS] { _ = try? ProcessRunner.run(executable: ip, ["netns", "del", ns], timeoutSeconds: 20) }
    }

    deinit { shutdown() }
}
