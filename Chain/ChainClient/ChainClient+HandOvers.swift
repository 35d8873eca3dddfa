public import ChainTypes
public import LightClient
import WalrusCore

/// A page of hand-overs as `GET /v1/handovers` serves it.
struct HandOverPage: BCSDecodable {
    let items: [HandOver]
    init(from r: inout BCSReader) throws(CoreError) { items = try r.readSequence(of: HandOver.self, max: 100) }
}

extension ChainClient {
    /// The validator sets trusted for blocks up to `height`, starting from the genesis set and
    /// following every hand-over before `height`: each new set is trusted only when the block
    /// handing over to it is committed by the set before it and names it as its next validators.
    /// What was verified once is kept for the next call. An RPC that leaves out a hand-over, or
    /// serves a set the block does not name, gets a `.verification` error.
    public func validatorHistory(chainID: String, genesisValidators: ValidatorSet, through height: UInt64) async throws(ChainClientError) -> ValidatorHistory {
        let cacheKey = chainID + ":" + Hex.encode(genesisValidators.hash)
        var history = trustedSets.withLock { $0[cacheKey] } ?? ValidatorHistory(chainID: chainID, genesisValidators: genesisValidators)
        while true {
            let page = try await bcs(HandOverPage.self, "/v1/handovers?after=\(history.latestFrom - 1)")
            var progressed = false
            for handOver in page.items where handOver.height >= history.latestFrom && handOver.height < height {
                let header = try await block(handOver.height).header
                let commit = try await commit(handOver.height)
                do { try history.apply(handOver, header: header, commit: commit) } catch {
                    throw ChainClientError(.verification, "the hand-over at block \(handOver.height): \(error.message)")
                }
                progressed = true
            }
            if progressed { trustedSets.withLock { $0[cacheKey] = history } }
            guard progressed, page.items.count == 100 else { break }
        }
        return history
    }
}
