import WalrusAPI
import WalrusCore

/// The JSON a client reads from publishers and storage nodes (store results, error bodies, blob
/// statuses, health documents, signed messages): any bytes either decode to a value that encodes
/// and decodes back to the same value, or are refused with an error; never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    check(BlobStoreResult.self, bytes)
    check(APIErrorBody.self, bytes)
    check(BlobStatus.self, bytes)
    check(NodeSuccess<ServiceHealthInfo>.self, bytes)
    check(NodeSuccess<StorageConfirmation>.self, bytes)
    check(EventID.self, bytes)
    if let decoded = Base58.decode(String(decoding: bytes, as: UTF8.self)) {
        precondition(Base58.decode(Base58.encode(decoded)) == decoded, "base58 round trip")
    }
    return 0
}

func check<T: Codable & Equatable>(_ type: T.Type, _ bytes: [UInt8]) {
    guard let value = try? WalrusJSON.decode(T.self, from: bytes) else { return }
    let again = try? WalrusJSON.decode(T.self, from: WalrusJSON.encode(value))
    precondition(again == value, "\(T.self) re-encodes to the same value")
}
