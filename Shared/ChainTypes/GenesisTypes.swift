public import WalrusCore
public import WalrusCrypto

/// Network parameters fixed at genesis.
public struct ChainParameters: Hashable, Sendable, BCSCodable {
    public let chainID: String
    public let shardCount: UInt16
    public let epochDurationMs: UInt64
    public let maxEpochsAhead: UInt32
    public let activeSetMax: Int
    /// The most consensus validators a set has: the candidates with the most stake.
    public let validatorCountMax: Int
    /// What transactions pay (`FeeSchedule.none` on chains whose genesis names no fees).
    public let fees: FeeSchedule

    public init(
        chainID: String, shardCount: UInt16, epochDurationMs: UInt64, maxEpochsAhead: UInt32, activeSetMax: Int = 150, fees: FeeSchedule = .none,
        validatorCountMax: Int = 100
    ) {
        self.validatorCountMax = validatorCountMax
        self.chainID = chainID
        self.shardCount = shardCount
        self.epochDurationMs = epochDurationMs
        self.maxEpochsAhead = maxEpochsAhead
        self.activeSetMax = activeSetMax
        self.fees = fees
    }

    public func encode(to writer: inout BCSWriter) {
        writer.writeString(chainID)
        writer.write(shardCount)
        writer.write(epochDurationMs)
        writer.write(maxEpochsAhead)
        writer.write(UInt32(activeSetMax))
        writer.write(fees)
        writer.write(UInt16(clamping: validatorCountMax))
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        chainID = try reader.readString(max: 64)
        shardCount = try reader.readU16()
        epochDurationMs = try reader.readU64()
        maxEpochsAhead = try reader.readU32()
        activeSetMax = Int(try reader.readU32())
        fees = try reader.read(FeeSchedule.self)
        validatorCountMax = Int(try reader.readU16())
    }
}

/// A consensus validator candidate as the ledger knows it: its key and network address, its
/// operator (who bonded for it and gets the bond back), the WAL bonded (what slashing takes from,
/// with its stakers' delegations), its voting power in the current set (zero outside it), and
/// whether it was slashed or is leaving.
public struct ValidatorRecord: Hashable, Sendable, BCSCodable {
    public let publicKey: [UInt8]
    /// Voting power in the current consensus set; zero when not in it.
    public var power: UInt64
    public var bond: FROST
    /// WAL taken from the bond by slashing, in all.
    public var slashed: FROST
    /// Set when evidence of misbehaviour was committed; a jailed validator is not slashed twice
    /// and is left out of every later set.
    public var jailed: Bool
    public let p2pAddress: String
    public let operatorAddress: Address
    /// The operator asked to leave: out of the set, bond returned, at the next epoch change.
    public var leaving: Bool

    public init(publicKey: [UInt8], power: UInt64, bond: FROST, p2pAddress: String = "", operatorAddress: Address? = nil) {
        self.publicKey = publicKey
        self.power = power
        self.bond = bond
        slashed = .zero
        jailed = false
        self.p2pAddress = p2pAddress
        self.operatorAddress = operatorAddress ?? ((try? Schnorr.PublicKey(bytes: publicKey))?.address ?? Address(unchecked: [UInt8](repeating: 0, count: 32)))
        leaving = false
    }

    public func encode(to w: inout BCSWriter) {
        w.writeFixed(publicKey)
        w.write(power)
        w.write(bond)
        w.write(slashed)
        w.write(jailed)
        w.writeString(p2pAddress)
        w.write(operatorAddress)
        w.write(leaving)
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        publicKey = try r.readFixed(32)
        power = try r.readU64()
        bond = try r.read(FROST.self)
        slashed = try r.read(FROST.self)
        jailed = try r.readBool()
        p2pAddress = try r.readString(max: Limits.networkAddressBytesMax)
        operatorAddress = try r.read(Address.self)
        leaving = try r.readBool()
    }
}

/// The ledger's initial state: parameters, balances and the storage nodes with their stake.
public struct LedgerGenesis: Hashable, Sendable {
    public struct Node: Hashable, Sendable {
        public let name: String
        public let networkAddress: String
        public let publicKey: Schnorr.PublicKey
        public let operatorAddress: Address
        public let commissionBasisPoints: UInt16
        public let storagePrice: FROST
        public let writePrice: FROST
        public let capacity: UInt64
        /// Stake the operator holds in the node from the first epoch.
        public let stake: FROST
        /// The compressed P-256 key of the node's TLS certificate; empty: plain HTTP.
        public let networkPublicKey: [UInt8]

        public init(
            name: String, networkAddress: String, publicKey: Schnorr.PublicKey, operatorAddress: Address,
            commissionBasisPoints: UInt16, storagePrice: FROST, writePrice: FROST, capacity: UInt64, stake: FROST, networkPublicKey: [UInt8] = []
        ) {
            self.networkPublicKey = networkPublicKey
            self.name = name
            self.networkAddress = networkAddress
            self.publicKey = publicKey
            self.operatorAddress = operatorAddress
            self.commissionBasisPoints = commissionBasisPoints
            self.storagePrice = storagePrice
            self.writePrice = writePrice
            self.capacity = capacity
            self.stake = stake
        }
    }

    public let parameters: ChainParameters
    /// Block time of genesis: epoch 1 starts then.
    public let timeMs: UInt64
    public let balances: [(address: Address, amount: FROST)]
    public let nodes: [Node]
    /// The consensus validators in index order, with the WAL each bonds (what slashing takes from).
    public let validators: [ValidatorRecord]

    public init(
        parameters: ChainParameters, timeMs: UInt64, balances: [(address: Address, amount: FROST)], nodes: [Node], validators: [ValidatorRecord] = []
    ) {
        self.parameters = parameters
        self.timeMs = timeMs
        self.balances = balances
        self.nodes = nodes
        self.validators = validators
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.parameters == b.parameters && a.timeMs == b.timeMs && a.nodes == b.nodes && a.validators == b.validators
            && a.balances.map(\.address) == b.balances.map(\.address) && a.balances.map(\.amount) == b.balances.map(\.amount)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(parameters)
        hasher.combine(timeMs)
        hasher.combine(nodes)
    }
}

