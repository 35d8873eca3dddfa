public import ChainTypes
public import WalrusCore
public import WalrusCrypto

/// Builds and signs transactions for one account, keeping its nonce.
public actor TransactionBuilder {
    public let key: Schnorr.PrivateKey
    public let chainID: String
    private let client: ChainClient
    private var nextNonce: UInt64?

    public init(key: Schnorr.PrivateKey, chainID: String, client: ChainClient) {
        self.key = key
        self.chainID = chainID
        self.client = client
    }

    public nonisolated var address: Address { key.publicKey.address }

    /// A signed transaction of `operations` at the account's next nonce.
    public func build(_ operations: [Operation]) async throws(ChainClientError) -> SignedTransaction {
        let nonce: UInt64
        if let next = nextNonce { nonce = next } else { nonce = try await client.account(address).nonce }
        nextNonce = nonce + 1
        return SignedTransaction(Transaction(chainID: chainID, sender: key.publicKey, nonce: nonce, operations: operations), signedBy: key)
    }

    /// Builds, submits and waits for the transaction; refetches the nonce if it was refused.
    /// A transaction refused for its nonce (the nonce was read from a validator that lagged) is
    /// built again once with a fresh nonce; nothing of it executed, so that cannot run it twice.
    public func execute(_ operations: [Operation], timeoutSeconds: Double = 30) async throws(ChainClientError) -> ChainClient.Outcome {
        for attempt in 0..<2 {
            let tx = try await build(operations)
            do { return try await client.submitAndWait(tx, timeoutSeconds: timeoutSeconds) } catch {
                if error.code == .rejected { nextNonce = nil }
                if error.code == .rejected && error.ledgerCode == .badNonce && attempt == 0 { continue }
                throw error
            }
        }
        preconditionFailure("the loop returns or throws")
    }
}
