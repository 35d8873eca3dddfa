import FuzzSupport

/// SwiftPM links an executable's entry point as `FuzzSliver_main`: libFuzzer's driver with this target.
@_cdecl("FuzzSliver_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { runFuzzer(argc, argv) { fuzz($0, $1) } }
