import FuzzSupport

/// SwiftPM links an executable's entry point as `FuzzWalrusJSON_main`: libFuzzer's driver with this target.
@_cdecl("FuzzWalrusJSON_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { runFuzzer(argc, argv) { fuzz($0, $1) } }
