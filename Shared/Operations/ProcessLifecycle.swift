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
