public import WalrusCore

/// An account: a WAL balance and the nonce its next transaction must carry.
public struct Account: Hashable, Sendable, BCSCodable {
    public var balance: FROST
    public var nonce: UInt64

    public init(balance: FROST = .zero, nonce: UInt64 = 0) {
        self.balance = balance
        self.nonce = nonce
    }

    public func encode(to writer: inout BCSWriter) {
        writer.write(balance)
        writer.write(nonce)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        balance = try reader.read(FROST.self)
        nonce = try reader.readU64()
    }
}
