import FuzzSupport

/// SwiftPM links an executable's entry point as `FuzzSyncShard_main`: libFuzzer's driver with this target.
@_cdecl("FuzzSyncShard_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { runFuzzer(argc, argv) { fuzz($0, $1) } }
