import RedStuff
import WalrusCore

/// Metadata as a node receives it (PUT …/metadata) and as a client reads it (BlobMetadataWithID):
/// any bytes either decode to a value that encodes back to the same bytes, or are refused with an
/// error; never a crash. What decodes is checked against a blob ID and 4 and 1000 shards.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    if let metadata = try? BlobMetadata.decode(bcs: bytes) {
        precondition(metadata.bcsBytes == bytes, "metadata re-encodes to its bytes")
        let id = BlobID(unchecked: [UInt8](repeating: 7, count: 32))
        _ = try? metadata.verify(against: id, shardCount: 4)
        _ = try? metadata.verify(against: id, shardCount: 1000)
    }
    if let withID = try? BlobMetadataWithID.decode(bcs: bytes) {
        precondition(withID.bcsBytes == bytes, "metadata with ID re-encodes to its bytes")
    }
    return 0
}
