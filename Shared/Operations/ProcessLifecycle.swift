public import Logging
import ServiceLifecycle
import UnixSignals

/// swift-service-lifecycle for a daemon: runs until SIGTERM or SIGINT, then `shutdown` (which
/// drains requests in flight, flushes and closes); SIGHUP calls `reload` (the log level, a
/// renewed certificate) as often as it comes, without a restart.
public enum ProcessLifecycle {
    public static func run(
        logger: Logger, reload: @escaping @Sendable () async -> Void, shutdown: @escaping @Sendable () async -> Void
    ) async throws {
        let main = ClosureService {
            // Returns when SIGTERM or SIGINT starts the graceful shutdown.
            try? await gracefulShutdown()
            await shutdown()
        }
        let hangUp = ClosureService {
            for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
                logger.notice("SIGHUP: reloading")
                await reload()
            }
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: main, successTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: hangUp, successTerminationBehavior: .ignore),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger))
        try await group.run()
    }
}

extension ProcessLifecycle {
    /// Sets up a daemon's logging (`logFormat` text or json, at `logLevel`) and metrics; returns
    /// why not when the settings are not valid.
    public static func bootstrap(logFormat: String, logLevel: String) -> String? {
        guard let format = LogFormat(rawValue: logFormat), let level = ProcessLogging.parseLevel(logLevel) else {
            return "log_format is text or json, and log_level one of trace, debug, info, notice, warning, error, critical"
        }
        ProcessLogging.bootstrap(format: format, level: level)
        ProcessMetrics.bootstrap()
        return nil
    }

    /// Serves a started daemon until SIGTERM or SIGINT: its admin endpoint on `adminListen` (when
    /// set); SIGHUP sets the log level `logLevel()` rereads from the config and calls `reload`;
    /// the shutdown logs `stopping`, runs `shutdown`, then stops the admin endpoint. When the
    /// admin endpoint cannot listen, the daemon is shut down and the error thrown.
    public static func serve(
        logger: Logger, adminListen: String?, isServing: @escaping @Sendable () -> Bool, logLevel: @escaping @Sendable () -> String?,
        reload: @escaping @Sendable () async -> Void, stopping: String, shutdown: @escaping @Sendable () async -> Void
    ) async throws {
        var admin: AdminServer?
        if let adminListen {
            do { admin = try await AdminServer.start(listen: adminListen) { isServing() } } catch {
                await shutdown()
                throw error
            }
            logger.info("admin endpoint serving /metrics and /v1/health", metadata: ["url": "http://\(adminListen)"])
        }
        let adminServer = admin
        try await run(
            logger: logger,
            reload: {
                if let text = logLevel(), let level = ProcessLogging.parseLevel(text) {
                    ProcessLogging.setLevel(level)
                    logger.notice("log level set", metadata: ["level": "\(level)"])
                }
                await reload()
            },
            shutdown: {
                logger.notice("stopping: \(stopping)")
                await shutdown()
                await adminServer?.stop()
                logger.notice("stopped")
            })
    }
}
