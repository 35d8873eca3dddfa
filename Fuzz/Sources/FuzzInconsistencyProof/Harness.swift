import RedStuff
import WalrusCore

/// Bodies of POST …/inconsistencyProof/{axis}: decoded for either axis and verified against
/// metadata; never a crash, and never accepted for a consistently encoded blob.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    let (config, metadata) = (fixture.config, fixture.metadata)
    for axis in [SliverAxis.primary, .secondary] {
        guard let proof = try? InconsistencyProof(bcs: bytes, axis: axis) else { continue }
        precondition((try? proof.verify(against: metadata, config: config)) == nil, "a consistent blob is never proven inconsistent")
    }
    return 0
}

/// Metadata of a small real blob at 10 shards, made once.
let fixture: (config: EncodingConfig, metadata: BlobMetadata) = {
    let config = try! EncodingConfig(shardCount: 10)
    return (config, try! BlobEncoder(config: config).computeMetadata(Array("fuzz".utf8)).metadata)
}()
