import Foundation
public import LightClient
public import WalrusCore

extension ChainClient {
    /// The network's genesis, checked against the hash the caller pins (hex): only then may a light
    /// client start from its validator set.
    public func genesis(pinnedHash: String) async throws(ChainClientError) -> GenesisFile {
        let response = try await send("/v1/genesis")
        guard response.status == 200 else { throw ChainClientError(.notFound, "/v1/genesis: status \(response.status)") }
        let genesis: GenesisFile
        do { genesis = try JSONDecoder().decode(GenesisFile.self, from: response.body) } catch {
            throw ChainClientError(.malformed, "the served genesis does not parse: \(error)")
        }
        guard Hex.encode(genesis.hash) == pinnedHash.lowercased() else {
            throw ChainClientError(.verification, "the served genesis hashes to \(Hex.encode(genesis.hash).prefix(16))…, not the pinned \(pinnedHash.prefix(16))…")
        }
        return genesis
    }

    /// The validator's proof that registration `objectID` was certified; unverified until a
    /// `LightClient` checks it.
    public func certificationProof(_ objectID: ObjectID) async throws(ChainClientError) -> CertificationProof {
        try await bcs(CertificationProof.self, "/v1/proofs/certification/\(objectID)")
    }
}
