import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Waits until the process receives SIGINT or SIGTERM (which are then no longer fatal) and returns
/// the signal: how the project's services stop cleanly.
public func waitForTerminationSignal() async -> Int32 {
    let signals = AsyncStream<Int32> { continuation in
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig)
            source.setEventHandler { continuation.yield(sig) }
            source.resume()
            nonisolated(unsafe) let keep = source
            continuation.onTermination = { _ in keep.cancel() }
        }
    }
    for await sig in signals { return sig }
    return SIGTERM
}
