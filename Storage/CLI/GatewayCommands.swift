import ArgumentParser
import Foundation
import Gateway
import HTTPKit
import NIOCore
import NIOPosix
import Operations
import Transport
import UnixSignals
import WalrusAPI

/// The options `daemon`, `publisher` and `aggregator` share.
struct GatewayOptions: ParsableArguments {
    @Option(name: .customLong("bind-address"), help: "Where to listen (host:port).") var bindAddress = "127.0.0.1:31415"
    @Option(name: .customLong("max-body-size"), help: "The largest blob the publisher takes, in KiB.") var maxBodyKiB = 10_240
    @Option(name: .customLong("max-quilt-body-size"), help: "The largest multipart body PUT /v1/quilts takes, in KiB.") var maxQuiltBodyKiB = 102_400
    @Option(name: .customLong("default-epochs"), help: "Epochs when a store names none.") var defaultEpochs: UInt32 = 1
    @Option(name: .customLong("read-window-size"), help: "Blob bytes a read assembles at once, in KiB; a read holds two windows (the one being sent and the next).")
    var readWindowKiB = 32 * 1024
    @Option(name: .customLong("allowed-headers"), parsing: .upToNextOption,
            help: "Blob-object attribute keys served as response headers of /v1/blobs/by-object-id (default: content-disposition content-encoding content-language content-location content-type link).")
    var allowedHeaders: [String] = []
    @Option(name: .customLong("auth-token-file"), help: "A file holding the bearer token PUT requests must carry (also $WALRUS_PUBLISHER_TOKEN); required when the publisher listens beyond loopback.")
    var authTokenFile: String?
    @Option(name: .customLong("tls-cert"), help: "Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key. SIGHUP rereads both.")
    var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: "The private key (PEM) of --tls-cert.") var tlsKey: String?
    @Option(name: .customLong("metrics-address"), help: "host:port of an admin endpoint with Prometheus /metrics and /v1/health; keep it private (default: none).")
    var metricsAddress: String?
}

enum GatewayRunner {
    static func run(aggregator: Bool, publisher: Bool, _ options: GatewayOptions, _ global: GlobalOptions) async throws {
        let parts = options.bindAddress.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]), (0...65_535).contains(port) else {
            throw CLIError.usage("--bind-address is host:port, not '\(options.bindAddress)'")
        }
        let host = String(parts[0])
        var token = ProcessInfo.processInfo.environment["WALRUS_PUBLISHER_TOKEN"]
        if let given = token, given.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw CLIError.usage("$WALRUS_PUBLISHER_TOKEN is set but empty; set a token, or unset it to run without one on loopback")
        }
        if let file = options.authTokenFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw CLIError.usage("cannot read a token from --auth-token-file \(file)")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let loopback = host == "127.0.0.1" || host == "localhost" || host == "::1"
        if publisher && !loopback && token == nil {
            throw CLIError.usage("a publisher on \(host) is open to anyone who can reach it and spends this wallet's WAL; give --auth-token-file (or $WALRUS_PUBLISHER_TOKEN), or bind to 127.0.0.1")
        }
        guard options.maxBodyKiB > 0 else { throw CLIError.usage("--max-body-size must be positive") }
        guard (1...(8 << 20)).contains(options.maxQuiltBodyKiB) else { throw CLIError.usage("--max-quilt-body-size is from 1 KiB to 8 GiB (8388608), not \(options.maxQuiltBodyKiB)") }
        guard (64...(1 << 20)).contains(options.readWindowKiB) else { throw CLIError.usage("--read-window-size is from 64 KiB to 1 GiB (1048576), not \(options.readWindowKiB)") }
        let (client, _) = try await connect(global)
        var gatewayOptions = Gateway.Options()
        gatewayOptions.aggregator = aggregator
        gatewayOptions.publisher = publisher
        gatewayOptions.maxBodyBytes = options.maxBodyKiB * 1024
        gatewayOptions.maxQuiltBodyBytes = options.maxQuiltBodyKiB * 1024
        gatewayOptions.bearerToken = token
        gatewayOptions.defaultEpochs = options.defaultEpochs
        gatewayOptions.readWindowBytes = options.readWindowKiB * 1024
        if !options.allowedHeaders.isEmpty { gatewayOptions.allowedHeaders = Set(options.allowedHeaders.map { $0.lowercased() }) }
        let gateway = Gateway(client: client, options: gatewayOptions)
        guard (options.tlsCertificate == nil) == (options.tlsKey == nil) else { throw CLIError.usage("--tls-cert and --tls-key go together") }
        func loadTLS() throws -> (String, String)? {
            guard let certificate = options.tlsCertificate, let key = options.tlsKey else { return nil }
            guard let chain = try? String(contentsOfFile: certificate, encoding: .utf8), let keyPEM = try? String(contentsOfFile: key, encoding: .utf8) else {
                throw CLIError.usage("cannot read --tls-cert \(certificate) or --tls-key \(key)")
            }
            return (chain, keyPEM)
        }
        var tls: TLSServer?
        if let (chain, keyPEM) = try loadTLS() {
            do { tls = try TLSServer(certificatePEM: chain, keyPEM: keyPEM) } catch { throw CLIError.usage("--tls-cert/--tls-key: \(error.message)") }
        }
        var admin: AdminServer?
        if let metricsAddress = options.metricsAddress {
            ProcessMetrics.bootstrap()
            do { admin = try await AdminServer.start(listen: metricsAddress) { true } } catch {
                throw CLIError(code: "UNAVAILABLE", "\(error)", exit: .unavailable)
            }
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let server = HTTPServer(
            group: group, bodyBytesMax: publisher ? gatewayOptions.maxBodyBytes : 0,
            tooLarge: { HTTPResponse(status: .payloadTooLarge, contentType: "text/plain; charset=utf-8", body: Array("the body exceeds \($0) bytes (--max-body-size, or --max-quilt-body-size for /v1/quilts)".utf8)) },
            errors: HTTPResponse.walrusErrors(domain: APIErrorDomain.daemon),
            admit: { gateway.admission($0) },
            security: tls,
            observer: options.metricsAddress == nil ? nil : HTTPMetrics(server: "gateway") { _, path in HTTPMetrics.template(path) },
            router: { await gateway.handle($0) })
        let channel: any Channel
        do { channel = try await server.listen(host: host, port: port) } catch {
            try? await group.shutdownGracefully()
            throw CLIError(code: "UNAVAILABLE", "cannot listen on \(options.bindAddress): \(error)", exit: .unavailable)
        }
        let roles = [aggregator ? "aggregator" : nil, publisher ? "publisher" : nil].compactMap { $0 }.joined(separator: " and ")
        if !global.quiet { Output.log("\(roles) on \(tls == nil ? "http" : "https")://\(options.bindAddress) (OpenAPI at /v1/api); Ctrl-C stops it") }
        // SIGHUP rereads a renewed certificate; SIGTERM or SIGINT stops.
        let reloader = Task {
            guard let tls else { return }
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                do {
                    if let (chain, keyPEM) = try loadTLS() { try tls.reload(certificatePEM: chain, keyPEM: keyPEM) }
                    if !global.quiet { Output.log("SIGHUP: certificate reloaded") }
                } catch { Output.log("SIGHUP: cannot reload the certificate (\(error)); serving the previous one") }
            }
        }
        let signal = await waitForTerminationSignal()
        if !global.quiet { Output.log("signal \(signal): stopping") }
        reloader.cancel()
        await server.stop()  // Finishes the stores and reads in flight (bounded), then closes.
        await admin?.stop()
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "daemon", abstract: "Run an HTTP aggregator and publisher (GET and PUT /v1/blobs).")
    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var global: GlobalOptions
    func run() async throws { try await GatewayRunner.run(aggregator: true, publisher: true, gateway, global) }
}

struct PublisherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "publisher", abstract: "Run an HTTP publisher (PUT /v1/blobs stores the body).")
    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var global: GlobalOptions
    func run() async throws { try await GatewayRunner.run(aggregator: false, publisher: true, gateway, global) }
}

struct AggregatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "aggregator", abstract: "Run an HTTP aggregator (GET /v1/blobs/{id} serves blobs).")
    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var global: GlobalOptions
    func run() async throws { try await GatewayRunner.run(aggregator: true, publisher: false, gateway, global) }
}
