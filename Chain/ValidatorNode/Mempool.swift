public import ChainTypes
public import Ledger
import Synchronization
import WalrusCore
import WalrusCrypto

/// Pending transactions, admitted after signature, chain and nonce checks, in arrival order per
/// sender. Bounded: a full pool refuses new transactions until blocks drain it.
public final class Mempool: Sendable {
    public static let transactionsMax = 50_000
    /// The most bytes of pending transactions held (about 4,000 of the largest).
    public static let bytesMax = 256 << 20
    /// Pending transactions one sender may have: one account cannot fill the pool for everyone.
    public static let perSenderMax: UInt64 = 10_000

    private struct State {
        var byDigest: [[UInt8]: SignedTransaction] = [:]
        var order: [[UInt8]] = []
        /// The next nonce each sender's pending transactions lead to.
        var nextNonce: [Address: UInt64] = [:]
        /// Encoded bytes of the pending transactions, in all and each (by digest), measured once.
        var bytes = 0
        var sizes: [[UInt8]: Int] = [:]
    }

    private let state = Mutex(State())
    /// Digests of transactions whose signatures this node verified (bounded; oldest dropped).
    private let verified = Mutex<(set: Set<[UInt8]>, order: [[UInt8]])>(([], []))
    static let verifiedMax = 200_000

    public init() {}

    /// Whether this node already verified the signature of the transaction with `digest`.
    public func isVerified(_ digest: [UInt8]) -> Bool { verified.withLock { $0.set.contains(digest) } }

    private func markVerified(_ digest: [UInt8]) {
        verified.withLock { v in
            guard v.set.insert(digest).inserted else { return }
            v.order.append(digest)
            if v.order.count > Mempool.verifiedMax {
                let drop = v.order.prefix(v.order.count / 2)
                for d in drop { v.set.remove(d) }
                v.order.removeFirst(drop.count)
            }
        }
    }

    public var count: Int { state.withLock { $0.byDigest.count } }

    /// Admits a transaction whose nonce follows the sender's committed and pending ones, and whose
    /// encoding fits in a block (`SignedTransaction.bytesMax`, the bound peers decode blocks with:
    /// a larger one admitted would make every block that includes it undecodable).
    public func add(_ tx: SignedTransaction, ledger: Ledger) throws(LedgerError) {
        let size = tx.bcsBytes.count
        guard size <= SignedTransaction.bytesMax else {
            throw LedgerError(.tooLarge, "the transaction has \(size) bytes; at most \(SignedTransaction.bytesMax) fit in a block")
        }
        let sender = tx.transaction.senderAddress
        let committed = try ledger.account(sender).nonce
        let digest = tx.digest
        let expected: UInt64 = state.withLock { s in max(s.nextNonce[sender] ?? committed, committed) }
        if state.withLock({ $0.byDigest[digest] != nil }) { return }
        guard expected - committed < Mempool.perSenderMax else {
            throw LedgerError(.invalidArgument, "\(Mempool.perSenderMax) transactions of this sender are pending already; retry once some commit")
        }
        try ledger.admissionCheck(tx, pendingNonce: expected, signatureChecked: isVerified(digest))
        markVerified(digest)
        try state.withLock { (s) throws(LedgerError) in
            guard s.byDigest.count < Mempool.transactionsMax, s.bytes + size <= Mempool.bytesMax else {
                throw LedgerError(.invalidArgument, "the mempool is full; retry shortly")
            }
            s.byDigest[digest] = tx
            s.order.append(digest)
            s.bytes += size
            s.sizes[digest] = size
            s.nextNonce[sender] = expected + 1
        }
    }

    /// Checks a transaction's signature on the caller's thread (an RPC request's, not the
    /// consensus actor's) and remembers it, so that admission does not check it again; false when
    /// it does not verify.
    public func preverify(_ tx: SignedTransaction) -> Bool {
        let digest = tx.digest
        if isVerified(digest) { return true }
        guard tx.hasValidSignature else { return false }
        markVerified(digest)
        return true
    }

    /// Up to `limit` transactions in arrival order whose encodings add up to at most `bytesMax`,
    /// for a block proposal.
    public func take(limit: Int, bytesMax: Int = Block.transactionsBytesMax) -> [SignedTransaction] {
        state.withLock { s in
            var taken: [SignedTransaction] = []
            var bytes = 0
            for digest in s.order {
                guard taken.count < limit, let tx = s.byDigest[digest] else { break }
                let size = s.sizes[digest] ?? tx.bcsBytes.count
                guard bytes + size <= bytesMax else { break }
                bytes += size
                taken.append(tx)
            }
            return taken
        }
    }

    /// Forgets transactions that a block included, and re-bases nonces on the committed state.
    public func removeIncluded(_ digests: Set<[UInt8]>, ledger: Ledger) {
        state.withLock { s in
            for digest in digests where s.byDigest.removeValue(forKey: digest) != nil { s.bytes -= s.sizes.removeValue(forKey: digest) ?? 0 }
            s.order.removeAll { !s.byDigest.keys.contains($0) }
            // Drop transactions made stale by the committed nonces.
            for digest in s.order {
                guard let tx = s.byDigest[digest] else { continue }
                let committed = (try? ledger.account(tx.transaction.senderAddress).nonce) ?? 0
                if tx.transaction.nonce < committed, s.byDigest.removeValue(forKey: digest) != nil { s.bytes -= s.sizes.removeValue(forKey: digest) ?? 0 }
            }
            s.order.removeAll { s.byDigest[$0] == nil }
            s.nextNonce = [:]
            for digest in s.order {
                guard let tx = s.byDigest[digest] else { continue }
                let sender = tx.transaction.senderAddress
                s.nextNonce[sender] = max(s.nextNonce[sender] ?? 0, tx.transaction.nonce + 1)
            }
        }
    }
}
