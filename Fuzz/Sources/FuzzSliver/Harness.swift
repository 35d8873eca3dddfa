import RedStuff
import WalrusCore

/// Sliver bodies as a node receives them (PUT …/slivers/…) and a client reads them: parsed in
/// place, decoded, and verified against metadata for 4 and 10 shards; never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    for axis in [SliverAxis.primary, .secondary] {
        _ = bytes.withUnsafeBytes { raw in try? SliverData.parseWire(raw, maxBytes: SliverData.symbolBytesMax) }
        guard let sliver = try? SliverData(bcs: bytes, axis: axis) else { continue }
        precondition(sliver.bcsBytes() == bytes, "a sliver re-encodes to its bytes")
        for (config, metadata) in Fixtures.shapes {
            _ = try? sliver.verify(against: metadata, config: config)
            _ = bytes.withUnsafeBytes { raw in try? SliverData.verifyWire(raw, axis: axis, against: metadata, config: config) }
        }
    }
    return 0
}

enum Fixtures {
    /// Metadata of a small real blob at 4 and 10 shards, made once, to verify decoded values against.
    static let shapes: [(EncodingConfig, BlobMetadata)] = [UInt16(4), 10].map { n in
        let config = try! EncodingConfig(shardCount: n)
        return (config, try! BlobEncoder(config: config).computeMetadata(Array("fuzz".utf8)).metadata)
    }
}
