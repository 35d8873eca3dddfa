import FuzzSupport

/// SwiftPM links an executable's entry point as `FuzzChainMessages_main`: libFuzzer's driver with this target.
@_cdecl("FuzzChainMessages_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { runFuzzer(argc, argv) { fuzz($0, $1) } }
