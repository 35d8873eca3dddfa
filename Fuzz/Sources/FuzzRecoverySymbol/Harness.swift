import RedStuff
import WalrusCore

/// Answers of GET …/recoverySymbols as a recovering node reads them (a sequence of
/// GeneralRecoverySymbol), each symbol then verified against metadata; never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    var reader = BCSReader(bytes)
    guard let symbols = try? reader.readSequence(of: RecoverySymbol.self, max: Int(Limits.shardCountMax), minElementBytes: 8) else { return 0 }
    let (config, metadata) = (fixture.config, fixture.metadata)
    for symbol in symbols { _ = try? symbol.verify(against: metadata, config: config) }
    _ = try? SliverRecovery(config: config, metadata: metadata).recover(.primary, target: SliverIndex(0), from: symbols)
    _ = try? SliverRecovery(config: config, metadata: metadata).recover(.secondary, target: SliverIndex(3), from: symbols)
    return 0
}

/// Metadata of a small real blob at 10 shards, made once.
let fixture: (config: EncodingConfig, metadata: BlobMetadata) = {
    let config = try! EncodingConfig(shardCount: 10)
    return (config, try! BlobEncoder(config: config).computeMetadata(Array("fuzz".utf8)).metadata)
}()
