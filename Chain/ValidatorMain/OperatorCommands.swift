import ArgumentParser
import ChainClient
import ChainTypes
import Foundation
import ValidatorNode
import WalrusCore
import WalrusCrypto

/// What the operator commands share: the validator's config and key, the chain's RPC endpoints
/// (the genesis validators' unless given) and the operator's wallet.
struct OperatorOptions: ParsableArguments {
    @Option(help: "The validator's config file (its key and genesis come from it).") var config: String
    @Option(help: "The operator's wallet key file: it pays the bond and the fees, and gets the bond back.") var wallet: String
    @Option(name: .customLong("rpc"), help: "A chain RPC URL (repeatable); the genesis validators' by default.") var rpc: [String] = []
    @Flag(help: "Print the result as JSON.") var json = false

    func load() -> (config: NodeConfig, key: Schnorr.PrivateKey, operatorKey: Schnorr.PrivateKey, genesis: GenesisFile, client: ChainClient) {
        let loaded: NodeConfig
        do { loaded = try NodeConfig.load(config) } catch { fail(error.message) }
        let key: Schnorr.PrivateKey, operatorKey: Schnorr.PrivateKey
        do {
            key = try KeyFile.load(from: loaded.keyFile)
            operatorKey = try KeyFile.load(from: wallet)
        } catch { fail(error.message) }
        let genesis: GenesisFile
        do { genesis = try GenesisFile.load(loaded.genesisFile) } catch { fail(error.message) }
        let urls = (rpc.isEmpty ? genesis.validators.map { "http://\($0.rpcAddress)" } : rpc).compactMap(URL.init(string:))
        guard !urls.isEmpty else { fail("no RPC endpoint: pass --rpc http://HOST:PORT") }
        return (loaded, key, operatorKey, genesis, ChainClient(endpoints: urls))
    }

    func report(_ fields: [(String, String)], _ text: String) {
        if json {
            let object = Dictionary(fields, uniquingKeysWith: { a, _ in a })
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) { print(String(decoding: data, as: UTF8.self)) }
        } else {
            print(text)
        }
    }
}

extension WalrusValidator {
    /// `join`: registers this validator as a candidate; it enters the set at an epoch change if
    /// its stake is among the largest.
    struct Join: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register this validator as a candidate for the consensus set, bonding WAL from the operator's wallet.",
            discussion: """
                The validator key signs its consent; the wallet pays the bond and the fee. At each epoch change the candidates \
                with the most stake (bond and delegations) form the set, from the next block on. Run the validator (`run`) \
                before or after: it follows the chain until it is in the set.
                """)

        @OptionGroup var options: OperatorOptions
        @Option(help: "WAL to bond (whole WAL).") var bond: UInt64 = 1_000
        @Option(name: .customLong("p2p-address"), help: "host:port other validators reach this one at (default: the config's p2p_listen).")
        var p2pAddress: String?

        func run() async throws {
            let (config, key, operatorKey, genesis, client) = options.load()
            let address = p2pAddress ?? config.p2pListen
            let (amount, overflow) = bond.multipliedReportingOverflow(by: FROST.perWAL)
            guard !overflow, bond > 0 else { fail("--bond is 1 to \(UInt64.max / FROST.perWAL) WAL") }
            let proof = key.sign(ValidatorRegistration.signBytes(chainID: genesis.chainID, publicKey: key.publicKey, operator: operatorKey.publicKey.address))
            let builder = TransactionBuilder(key: operatorKey, chainID: genesis.chainID, client: client)
            log("registering validator \(Hex.encode(key.publicKey.bytes).prefix(16))… at \(address), bonding \(bond) WAL")
            do {
                let outcome = try await builder.execute([.registerValidator(publicKey: key.publicKey, p2pAddress: address, bond: FROST(amount), proof: proof)])
                options.report(
                    [("validator", Hex.encode(key.publicKey.bytes)), ("p2pAddress", address), ("bondFrost", String(amount)), ("height", String(outcome.height))],
                    "registered validator \(Hex.encode(key.publicKey.bytes)) at block \(outcome.height); it joins the set at an epoch change if its stake ranks")
            } catch { fail("\(error.message)", code: 1) }
        }
    }

    /// `leave`: takes this validator out of the set at the next epoch change; the bond returns then.
    struct Leave: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take this validator out of the consensus set at the next epoch change; the bond goes back to the operator then.")

        @OptionGroup var options: OperatorOptions

        func run() async throws {
            let (_, key, operatorKey, genesis, client) = options.load()
            let builder = TransactionBuilder(key: operatorKey, chainID: genesis.chainID, client: client)
            do {
                let outcome = try await builder.execute([.leaveValidatorSet(validator: key.publicKey)])
                options.report(
                    [("validator", Hex.encode(key.publicKey.bytes)), ("height", String(outcome.height))],
                    "validator \(Hex.encode(key.publicKey.bytes)) leaves the set at the next epoch change (requested at block \(outcome.height))")
            } catch { fail("\(error.message)", code: 1) }
        }
    }

    /// `delegate`: stakes WAL with a validator.
    struct Delegate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stake WAL with a validator; withdraw it with `walrus stake withdraw` like any stake (a stake takes effect at an epoch change).")

        @Option(help: "The validator's public key (hex).") var validator: String
        @Option(help: "WAL to stake (whole WAL).") var amount: UInt64
        @Option(help: "The staker's wallet key file.") var wallet: String
        @Option(name: .customLong("rpc"), help: "A chain RPC URL (repeatable).") var rpc: [String]
        @Option(name: .customLong("chain-id"), help: "The chain ID.") var chainID: String
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            let key: Schnorr.PublicKey, staker: Schnorr.PrivateKey
            do {
                key = try Schnorr.PublicKey(hex: validator)
                staker = try KeyFile.load(from: wallet)
            } catch { fail(error.message) }
            let urls = rpc.compactMap(URL.init(string:))
            guard !urls.isEmpty else { fail("pass --rpc http://HOST:PORT") }
            let (frost, overflow) = amount.multipliedReportingOverflow(by: FROST.perWAL)
            guard !overflow, amount > 0 else { fail("--amount is 1 to \(UInt64.max / FROST.perWAL) WAL") }
            let builder = TransactionBuilder(key: staker, chainID: chainID, client: ChainClient(endpoints: urls))
            do {
                let outcome = try await builder.execute([.stakeWithValidator(validator: key, amount: FROST(frost))])
                if json {
                    print("{\"validator\":\"\(validator.lowercased())\",\"amountFrost\":\(frost),\"height\":\(outcome.height)}")
                } else {
                    print("staked \(amount) WAL with validator \(validator.lowercased()) at block \(outcome.height)")
                }
            } catch { fail("\(error.message)", code: 1) }
        }
    }
}
