public import ChainTypes
public import WalrusCore
import WalrusCrypto

/// The consensus validator candidates, in registration order (genesis validators first).
struct ValidatorRecords: BCSCodable {
    var validators: [ValidatorRecord]

    static let candidatesMax = 1024

    init(_ validators: [ValidatorRecord]) { self.validators = validators }
    func encode(to w: inout BCSWriter) { w.writeSequence(validators) }
    init(from r: inout BCSReader) throws(CoreError) {
        validators = try r.readSequence(of: ValidatorRecord.self, max: ValidatorRecords.candidatesMax, minElementBytes: 91)
    }

    func index(of key: [UInt8]) -> Int? { validators.firstIndex { $0.publicKey == key } }
}

/// The consensus sets in force from a height on, the latest last: the current one and a few before
/// it, so that evidence of misbehaviour shortly before a set change still names its validator.
public struct ConsensusSets: Hashable, Sendable, BCSCodable {
    public struct Entry: Hashable, Sendable, BCSCodable {
        public let fromHeight: UInt64
        public let validators: [Validator]

        public init(fromHeight: UInt64, validators: [Validator]) {
            self.fromHeight = fromHeight
            self.validators = validators
        }

        public func encode(to w: inout BCSWriter) {
            w.write(fromHeight)
            w.writeSequence(validators)
        }

        public init(from r: inout BCSReader) throws(CoreError) {
            fromHeight = try r.readU64()
            validators = try r.readSequence(of: Validator.self, max: 1024, minElementBytes: 41)
        }
    }

    public private(set) var entries: [Entry]
    static let kept = 4

    init(_ entries: [Entry]) { self.entries = entries }

    /// The set that commits block `height`, if still kept.
    public func validators(atHeight height: UInt64) -> [Validator]? {
        entries.last { $0.fromHeight <= height }?.validators
    }

    var current: [Validator] { entries.last?.validators ?? [] }

    mutating func append(_ entry: Entry) {
        entries.append(entry)
        if entries.count > ConsensusSets.kept { entries.removeFirst(entries.count - ConsensusSets.kept) }
    }

    public func encode(to w: inout BCSWriter) { w.writeSequence(entries) }
    public init(from r: inout BCSReader) throws(CoreError) { entries = try r.readSequence(of: Entry.self, max: ConsensusSets.kept + 1) }
}

extension Executor {
    /// The share of a bond, and of each delegation to the validator, that slashing takes, in basis
    /// points.
    static let slashBasisPoints: UInt64 = 5000
    /// Evidence older than this many blocks is refused.
    static let evidenceAgeMax: UInt64 = 100_000

    /// Checks evidence against the validator set of its height and slashes the validator it proves
    /// misbehaved: half its bond and half of every stake delegated to it are burned, and it is
    /// jailed (out of every later set). Evidence that proves nothing, names an unknown validator,
    /// is too old (beyond the age limit or the sets kept) or from the future, or is against a
    /// validator already jailed, is an error (a block carrying it is invalid).
    mutating func applyEvidence(_ evidence: Evidence) throws(LedgerError) -> LedgerEvent {
        guard evidence.height <= context.height, context.height - evidence.height <= Self.evidenceAgeMax else {
            throw LedgerError(.invalidEvidence, "evidence of height \(evidence.height) is outside the \(Self.evidenceAgeMax) blocks before \(context.height)")
        }
        guard let set = try consensusSets().validators(atHeight: evidence.height) else {
            throw LedgerError(.invalidEvidence, "evidence of height \(evidence.height) is older than the validator sets kept")
        }
        let index = Int(evidence.validator)
        guard index < set.count else {
            throw LedgerError(.invalidEvidence, "the evidence names validator \(index); the set of height \(evidence.height) has \(set.count)")
        }
        guard let key = try? Schnorr.PublicKey(bytes: set[index].publicKey) else {
            throw LedgerError(.invalidEvidence, "validator \(index) has no valid key")
        }
        do { try evidence.verify(chainID: parameters.chainID, key: key) } catch { throw LedgerError(.invalidEvidence, error.message) }
        var records = try validatorRecords()
        guard let position = records.index(of: key.bytes) else { throw LedgerError(.invalidEvidence, "validator \(index) is not a candidate") }
        var record = records.validators[position]
        guard !record.jailed else { throw LedgerError(.duplicate, "validator \(index) was slashed already") }
        var taken = Self.slashShare(record.bond)
        record.bond = FROST(record.bond.rawValue - taken)
        // The stakers' share: each delegation loses the same fraction.
        for entry in try view.scan(prefix: Keys.validatorStakePrefix) {
            var stake = try decodeRecord(StakeRecord.self, entry.value)
            guard stake.nodeID.bytes == key.bytes else { continue }
            let cut = Self.slashShare(stake.amount)
            stake.amount = FROST(stake.amount.rawValue - cut)
            view.put(Keys.validatorStake(stake.id), stake)
            taken &+= cut
        }
        record.slashed = FROST(record.slashed.rawValue &+ taken)
        record.jailed = true
        records.validators[position] = record
        view.put(Keys.validators, records)
        system.burned = FROST(system.burned.rawValue &+ taken)
        return .validatorSlashed(epoch: epoch, validator: record.publicKey, amount: FROST(taken), misbehaviourHeight: evidence.height)
    }

    private static func slashShare(_ amount: FROST) -> UInt64 {
        let product = amount.rawValue.multipliedFullWidth(by: slashBasisPoints)
        return UInt64(10_000).dividingFullWidth((product.high, product.low)).quotient
    }

    func validatorRecords() throws(LedgerError) -> ValidatorRecords {
        try view.get(ValidatorRecords.self, Keys.validators) ?? ValidatorRecords([])
    }

    func consensusSets() throws(LedgerError) -> ConsensusSets {
        try view.get(ConsensusSets.self, Keys.consensusSets) ?? ConsensusSets([])
    }

    // MARK: - Candidates and delegations

    mutating func registerValidator(publicKey: Schnorr.PublicKey, p2pAddress: String, bond: FROST, proof: Schnorr.Signature) throws(LedgerError) {
        do { _ = try NetworkAddress(parsing: p2pAddress) } catch {
            throw LedgerError(.invalidArgument, "invalid p2p address: \(error.message)")
        }
        guard bond.rawValue >= FROST.perWAL else { throw LedgerError(.invalidArgument, "a validator bonds at least 1 WAL") }
        guard publicKey.isValidSignature(proof, for: ValidatorRegistration.signBytes(chainID: parameters.chainID, publicKey: publicKey, operator: sender)) else {
            throw LedgerError(.badSignature, "the validator key did not sign its registration by \(sender)")
        }
        var records = try validatorRecords()
        guard records.index(of: publicKey.bytes) == nil else {
            throw LedgerError(.duplicate, "validator \(Hex.encode(publicKey.bytes)) is registered already (a key registers once, even after it left or was jailed)")
        }
        guard records.validators.count < ValidatorRecords.candidatesMax else {
            throw LedgerError(.invalidArgument, "the chain has \(ValidatorRecords.candidatesMax) validator candidates, the most it keeps")
        }
        try debit(sender, bond)
        records.validators.append(ValidatorRecord(publicKey: publicKey.bytes, power: 0, bond: bond, p2pAddress: p2pAddress, operatorAddress: sender))
        view.put(Keys.validators, records)
    }

    mutating func stakeWithValidator(_ validator: Schnorr.PublicKey, amount: FROST) throws(LedgerError) {
        let records = try validatorRecords()
        guard let position = records.index(of: validator.bytes) else { throw LedgerError(.notFound, "no validator \(Hex.encode(validator.bytes))") }
        guard !records.validators[position].jailed, !records.validators[position].leaving else {
            throw LedgerError(.invalidArgument, "validator \(Hex.encode(validator.bytes)) was jailed or is leaving; stake with another")
        }
        guard amount > .zero else { throw LedgerError(.invalidArgument, "stake a positive amount") }
        try debit(sender, amount)
        let record = StakeRecord(
            id: newObjectID(), owner: sender, nodeID: NodeID(unchecked: validator.bytes), amount: amount, activationEpoch: nextEffectiveEpoch, withdrawEpoch: nil)
        view.put(Keys.validatorStake(record.id), record)
        setOwned(sender, Keys.ownedValidatorStake, record.id)
    }

    mutating func leaveValidatorSet(_ validator: Schnorr.PublicKey) throws(LedgerError) {
        var records = try validatorRecords()
        guard let position = records.index(of: validator.bytes) else { throw LedgerError(.notFound, "no validator \(Hex.encode(validator.bytes))") }
        guard records.validators[position].operatorAddress == sender else {
            throw LedgerError(.notOwner, "only the operator \(records.validators[position].operatorAddress) takes its validator out")
        }
        guard !records.validators[position].leaving else { throw LedgerError(.duplicate, "the validator is leaving already") }
        records.validators[position].leaving = true
        view.put(Keys.validators, records)
    }

    // MARK: - The set at epoch changes

    /// Chooses the consensus set for the epoch starting now: candidates neither jailed nor leaving,
    /// by stake (bond plus delegations counting in the new epoch), the most first, at most
    /// `validatorCountMax`; power is the stake in whole WAL. Leaving validators outside the new
    /// set get their bond back. A change takes effect at the next height; without any eligible
    /// candidate the set stays as it is.
    mutating func selectValidatorSet(for next: Epoch) throws(LedgerError) {
        var records = try validatorRecords()
        var delegated: [[UInt8]: UInt64] = [:]
        for entry in try view.scan(prefix: Keys.validatorStakePrefix) {
            let stake = try decodeRecord(StakeRecord.self, entry.value)
            if stake.counts(in: next) { delegated[stake.nodeID.bytes, default: 0] &+= stake.amount.rawValue }
        }
        var ranked: [(record: Int, power: UInt64)] = []
        for (i, record) in records.validators.enumerated() where !record.jailed && !record.leaving {
            let (stake, overflow) = record.bond.rawValue.addingReportingOverflow(delegated[record.publicKey] ?? 0)
            let power = (overflow ? UInt64.max : stake) / FROST.perWAL
            if power > 0 { ranked.append((i, power)) }
        }
        ranked.sort { $0.power != $1.power ? $0.power > $1.power : records.validators[$0.record].publicKey.lexicographicallyPrecedes(records.validators[$1.record].publicKey) }
        ranked = Array(ranked.prefix(max(1, parameters.validatorCountMax)))
        guard !ranked.isEmpty else { return }
        let chosen = ranked.map { Validator(publicKey: records.validators[$0.record].publicKey, power: $0.power, address: records.validators[$0.record].p2pAddress) }
        var sets = try consensusSets()
        for i in records.validators.indices { records.validators[i].power = 0 }
        for entry in ranked { records.validators[entry.record].power = entry.power }
        // Leaving validators outside the new set: their bond goes back.
        for i in records.validators.indices where records.validators[i].leaving && records.validators[i].power == 0 && records.validators[i].bond > .zero {
            try credit(records.validators[i].operatorAddress, records.validators[i].bond)
            records.validators[i].bond = .zero
        }
        view.put(Keys.validators, records)
        guard chosen != sets.current else { return }
        let fromHeight = context.height + 1
        sets.append(.init(fromHeight: fromHeight, validators: chosen))
        view.put(Keys.consensusSets, sets)
        events.append(.validatorSetChanged(epoch: next, fromHeight: fromHeight, validatorsHash: ValidatorSet(chosen).hash, count: UInt16(chosen.count)))
        nextValidators = chosen
    }
}
