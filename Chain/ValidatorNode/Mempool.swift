public import ChainTypes
public import Ledger
import Dispatch
import Synchronization
import WalrusCore
import WalrusCrypto

/// Pending transactions, admitted after signature, chain, nonce, size and fee checks (the sender
/// must be able to pay this fee on top of its pending ones), in arrival order per sender.
/// Bounded in count, bytes and per sender. When full, a transaction paying more per byte displaces
/// the pending one paying least per byte (the last of its sender's, so no nonce gap opens);
/// transactions pending longer than `limits.ageMaxMs` are dropped with their sender's later ones.
public final class Mempool: Sendable {
    public struct Limits: Sendable {
        public var transactionsMax = 50_000
        /// The most bytes of pending transactions held (about 4,000 of the largest).
        public var bytesMax = 256 << 20
        /// Pending transactions one sender may have: one account cannot fill the pool for everyone.
        public var perSenderMax: UInt64 = 10_000
        /// How long a transaction may wait for a block before it is dropped.
        public var ageMaxMs: UInt64 = 10 * 60_000
        public init() {}
    }

    public let limits: Limits

    private struct Entry {
        let tx: SignedTransaction
        let sender: Address
        /// Encoded bytes, measured once.
        let size: Int
        let fee: UInt64
        let arrivedMs: UInt64

        /// Fee per byte, scaled to compare without division (fees fit in 64 bits, sizes in 17).
        func paysMorePerByte(than other: Entry) -> Bool {
            fee.multipliedFullWidth(by: UInt64(other.size)) > other.fee.multipliedFullWidth(by: UInt64(size))
        }
    }

    private struct State {
        var entries: [[UInt8]: Entry] = [:]
        var order: [[UInt8]] = []
        /// The next nonce each sender's pending transactions lead to.
        var nextNonce: [Address: UInt64] = [:]
        /// The fees of each sender's pending transactions.
        var pendingFees: [Address: UInt64] = [:]
        var bytes = 0

        mutating func remove(_ digest: [UInt8]) {
            guard let entry = entries.removeValue(forKey: digest) else { return }
            bytes -= entry.size
            let left = (pendingFees[entry.sender] ?? 0) &- entry.fee
            pendingFees[entry.sender] = left == 0 ? nil : left
        }

        /// The pending transaction paying least per byte among those that are last of their
        /// sender's (removing one of those leaves no nonce gap); the newest on ties.
        func cheapestTail() -> [UInt8]? {
            var best: (digest: [UInt8], entry: Entry)?
            for digest in order.reversed() {
                guard let entry = entries[digest], entry.tx.transaction.nonce &+ 1 == nextNonce[entry.sender] else { continue }
                if best.map({ $0.entry.paysMorePerByte(than: entry) }) ?? true { best = (digest, entry) }
            }
            return best?.digest
        }
    }

    private let state = Mutex(State())
    /// Digests of transactions whose signatures this node verified (bounded; oldest dropped).
    private let verified = Mutex<(set: Set<[UInt8]>, order: [[UInt8]])>(([], []))
    static let verifiedMax = 200_000
    let clock: @Sendable () -> UInt64

    /// A pool on the wall clock, or on `clock` (milliseconds) for tests.
    public init(limits: Limits = Limits(), clock: (@Sendable () -> UInt64)? = nil) {
        self.limits = limits
        self.clock = clock ?? { UInt64(DispatchTime.now().uptimeNanoseconds / 1_000_000) }
    }

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

    public var count: Int { state.withLock { $0.entries.count } }
    /// Bytes of the pending transactions.
    public var byteCount: Int { state.withLock { $0.bytes } }

    /// Admits a transaction whose nonce follows the sender's committed and pending ones, whose
    /// encoding fits in a block (`SignedTransaction.bytesMax`, the bound peers decode blocks with:
    /// a larger one admitted would make every block that includes it undecodable), and whose
    /// sender can pay its fee on top of the fees of its pending transactions.
    public func add(_ tx: SignedTransaction, ledger: Ledger) throws(LedgerError) {
        let size = tx.bcsBytes.count
        guard size <= SignedTransaction.bytesMax else {
            throw LedgerError(.tooLarge, "the transaction has \(size) bytes; at most \(SignedTransaction.bytesMax) fit in a block")
        }
        let sender = tx.transaction.senderAddress
        let committed = try ledger.account(sender).nonce
        let digest = tx.digest
        let (expected, pendingFees, known) = state.withLock { s in
            (max(s.nextNonce[sender] ?? committed, committed), s.pendingFees[sender] ?? 0, s.entries[digest] != nil)
        }
        if known { return }
        guard expected - committed < limits.perSenderMax else {
            throw LedgerError(.mempoolFull, "\(limits.perSenderMax) transactions of this sender are pending already; retry once some commit")
        }
        let fee = try ledger.admissionCheck(tx, pendingNonce: expected, pendingFees: FROST(pendingFees), signatureChecked: isVerified(digest))
        markVerified(digest)
        let entry = Entry(tx: tx, sender: sender, size: size, fee: fee.rawValue, arrivedMs: clock())
        try state.withLock { (s) throws(LedgerError) in
            // Another submission of this sender may have come in between: the nonce must still follow.
            guard max(s.nextNonce[sender] ?? committed, committed) == expected, s.entries[digest] == nil else {
                throw LedgerError(.badNonce, "another transaction of this sender took nonce \(expected) meanwhile")
            }
            while s.entries.count >= limits.transactionsMax || s.bytes + size > limits.bytesMax {
                guard let victim = s.cheapestTail(), let cheapest = s.entries[victim], entry.paysMorePerByte(than: cheapest), cheapest.sender != sender else {
                    throw LedgerError(.mempoolFull, "the mempool is full and this transaction pays no more per byte than those pending; retry shortly")
                }
                s.remove(victim)
                s.nextNonce[cheapest.sender] = cheapest.tx.transaction.nonce
                s.order.removeAll { $0 == victim }
            }
            s.entries[digest] = entry
            s.order.append(digest)
            s.bytes += size
            s.pendingFees[sender, default: 0] &+= entry.fee
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
                guard taken.count < limit, let entry = s.entries[digest] else { break }
                guard bytes + entry.size <= bytesMax else { break }
                bytes += entry.size
                taken.append(entry.tx)
            }
            return taken
        }
    }

    /// Forgets transactions that a block included, those made stale by committed nonces, and
    /// those pending longer than `limits.ageMaxMs` (with their sender's later ones, which could no longer
    /// commit), then re-bases nonces and pending fees on what is left.
    public func removeIncluded(_ digests: Set<[UInt8]>, ledger: Ledger) {
        let now = clock()
        state.withLock { s in
            for digest in digests { s.remove(digest) }
            var expired: Set<Address> = []
            var committedNonces: [Address: UInt64] = [:]
            for digest in s.order {
                guard let entry = s.entries[digest] else { continue }
                let committed = committedNonces[entry.sender] ?? ((try? ledger.account(entry.sender).nonce) ?? 0)
                committedNonces[entry.sender] = committed
                let old = now > entry.arrivedMs && now - entry.arrivedMs > limits.ageMaxMs
                if old { expired.insert(entry.sender) }
                if entry.tx.transaction.nonce < committed || expired.contains(entry.sender) { s.remove(digest) }
            }
            s.order.removeAll { s.entries[$0] == nil }
            s.nextNonce = [:]
            for digest in s.order {
                guard let entry = s.entries[digest] else { continue }
                s.nextNonce[entry.sender] = max(s.nextNonce[entry.sender] ?? 0, entry.tx.transaction.nonce + 1)
            }
        }
    }
}
