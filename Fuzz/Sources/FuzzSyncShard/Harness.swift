import WalrusCore
import WalrusCrypto

/// Bodies of POST /v1/migrate/sync_shard: the signed request, its intent message and the
/// SyncShardRequest inside, each decoded and re-encoded; never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    if let signed = try? SignedRequest.decode(bcs: bytes) {
        precondition(signed.bcsBytes == bytes, "a signed request re-encodes to its bytes")
        guard let key = try? Schnorr.PrivateKey(secretBytes: [UInt8](repeating: 1, count: 32)).publicKey else { return 0 }
        _ = try? key.verify(signed.signature, serializedMessage: signed.serializedMessage, expecting: .syncShard)
    }
    if let request = try? SyncShardRequest.decode(bcs: bytes) {
        precondition(request.bcsBytes == bytes, "a sync-shard request re-encodes to its bytes")
    }
    return 0
}
