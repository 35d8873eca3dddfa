public import WalrusCore

/// What a transaction pays to be included, in FROST: `base + perByte × encoded bytes +
/// perOperation × operations`. It is charged when the transaction is admitted into a block, before
/// its operations run, and kept even when they fail; a sender that cannot pay it is rejected (the
/// transaction never enters a block, and its nonce is not used). Fees are burned: they leave
/// circulation, so spam costs its sender and pays no one to produce it.
public struct FeeSchedule: Hashable, Sendable, BCSCodable {
    public let baseFrost: UInt64
    public let perByteFrost: UInt64
    public let perOperationFrost: UInt64

    public init(baseFrost: UInt64, perByteFrost: UInt64, perOperationFrost: UInt64) {
        self.baseFrost = baseFrost
        self.perByteFrost = perByteFrost
        self.perOperationFrost = perOperationFrost
    }

    /// No fees (chains whose genesis names none).
    public static let none = FeeSchedule(baseFrost: 0, perByteFrost: 0, perOperationFrost: 0)
    /// What `walrus-validator genesis` writes: a one-operation transfer of about 200 bytes costs
    /// 12,000 FROST (0.000012 WAL); the largest transaction about 0.0007 WAL.
    public static let standard = FeeSchedule(baseFrost: 5_000, perByteFrost: 10, perOperationFrost: 5_000)

    /// The fee of a transaction of `bytes` encoded bytes and `operations` operations; nil when it
    /// does not fit in 64 bits (no account can pay it).
    public func fee(bytes: Int, operations: Int) -> FROST? {
        let byBytes = perByteFrost.multipliedReportingOverflow(by: UInt64(max(0, bytes)))
        let byOperations = perOperationFrost.multipliedReportingOverflow(by: UInt64(max(0, operations)))
        let sum = baseFrost.addingReportingOverflow(byBytes.partialValue)
        let total = sum.partialValue.addingReportingOverflow(byOperations.partialValue)
        guard !byBytes.overflow, !byOperations.overflow, !sum.overflow, !total.overflow else { return nil }
        return FROST(total.partialValue)
    }

    /// The fee of `transaction`, whose encoding has `encodedCount` bytes (measured by the caller
    /// when it has the bytes already).
    public func fee(for transaction: SignedTransaction, encodedCount: Int? = nil) -> FROST? {
        fee(bytes: encodedCount ?? transaction.bcsBytes.count, operations: transaction.transaction.operations.count)
    }

    public func encode(to writer: inout BCSWriter) {
        writer.write(baseFrost)
        writer.write(perByteFrost)
        writer.write(perOperationFrost)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        baseFrost = try reader.readU64()
        perByteFrost = try reader.readU64()
        perOperationFrost = try reader.readU64()
    }
}
