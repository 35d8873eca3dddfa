import ChainTypes
import WalrusCore
import WalrusCrypto

/// What validators and RPC clients send a validator: signed transactions, blocks, votes, commits
/// and evidence, each decoded and re-encoded (canonical BCS gives the same bytes back), and the
/// checks that run on them before any execution (signature, body against header, evidence against
/// a key); never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    if let tx = try? SignedTransaction.decode(bcs: bytes) {
        precondition(tx.bcsBytes == bytes, "a signed transaction re-encodes to its bytes")
        _ = tx.hasValidSignature
        _ = tx.digest
    }
    if let block = try? Block.decode(bcs: bytes) {
        precondition(block.bcsBytes == bytes, "a block re-encodes to its bytes")
        _ = block.transactionsMatchHeader
        if let last = block.lastCommit { _ = last.medianTimeMs(in: fuzzValidators) }
    }
    if let vote = try? Vote.decode(bcs: bytes) {
        precondition(vote.bcsBytes == bytes, "a vote re-encodes to its bytes")
    }
    if let commit = try? Commit.decode(bcs: bytes) {
        _ = commit.bcsBytes
        // The checks a block's last commit gets: quorum and the median time, on a set of four.
        _ = commit.hasQuorum(in: fuzzValidators)
        _ = commit.medianTimeMs(in: fuzzValidators)
    }
    if let evidence = try? Evidence.decode(bcs: bytes) {
        precondition(evidence.bcsBytes == bytes, "evidence re-encodes to its bytes")
        if let key = try? Schnorr.PrivateKey(secretBytes: [UInt8](repeating: 1, count: 32)).publicKey {
            _ = try? evidence.verify(chainID: "fuzz", key: key)
        }
    }
    return 0
}

/// Four validators of unequal power, for the commit checks.
let fuzzValidators = ValidatorSet((0..<4).map { Validator(publicKey: [UInt8](repeating: UInt8($0 + 1), count: 32), power: UInt64($0 + 1) * 10, address: "127.0.0.1:1") })
