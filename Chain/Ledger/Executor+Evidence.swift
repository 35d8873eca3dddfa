import ChainTypes
import WalrusCore
import WalrusCrypto

/// The consensus validators, in the order votes index them.
struct ValidatorRecords: BCSCodable {
    var validators: [ValidatorRecord]

    init(_ validators: [ValidatorRecord]) { self.validators = validators }
    func encode(to w: inout BCSWriter) { w.writeSequence(validators) }
    init(from r: inout BCSReader) throws(CoreError) { validators = try r.readSequence(of: ValidatorRecord.self, max: 1024, minElementBytes: 57) }
}

extension Executor {
    /// The share of a bond that slashing takes, in basis points.
    static let slashBasisPoints: UInt64 = 5000
    /// Evidence older than this many blocks is refused (its validator may have left meanwhile).
    static let evidenceAgeMax: UInt64 = 100_000

    /// Checks evidence against the committed validators and slashes the validator it proves
    /// misbehaved: half its bond is burned and it is jailed. Evidence that proves nothing, names an
    /// unknown validator, is too old or from the future, or is against a validator already
    /// jailed, is an error (a block carrying it is invalid).
    mutating func applyEvidence(_ evidence: Evidence) throws(LedgerError) -> LedgerEvent {
        var records = try view.get(ValidatorRecords.self, Keys.validators) ?? ValidatorRecords([])
        let index = Int(evidence.validator)
        guard index < records.validators.count else {
            throw LedgerError(.invalidEvidence, "the evidence names validator \(index); there are \(records.validators.count)")
        }
        guard evidence.height <= context.height, context.height - evidence.height <= Self.evidenceAgeMax else {
            throw LedgerError(.invalidEvidence, "evidence of height \(evidence.height) is outside the \(Self.evidenceAgeMax) blocks before \(context.height)")
        }
        var record = records.validators[index]
        guard let key = try? Schnorr.PublicKey(bytes: record.publicKey) else {
            throw LedgerError(.invalidEvidence, "validator \(index) has no valid key")
        }
        do { try evidence.verify(chainID: parameters.chainID, key: key) } catch { throw LedgerError(.invalidEvidence, error.message) }
        guard !record.jailed else { throw LedgerError(.duplicate, "validator \(index) was slashed already") }
        let product = record.bond.rawValue.multipliedFullWidth(by: Self.slashBasisPoints)
        let taken = FROST(UInt64(10_000).dividingFullWidth((product.high, product.low)).quotient)
        record.bond = FROST(record.bond.rawValue - taken.rawValue)
        record.slashed = FROST(record.slashed.rawValue &+ taken.rawValue)
        record.jailed = true
        records.validators[index] = record
        view.put(Keys.validators, records)
        system.burned = FROST(system.burned.rawValue &+ taken.rawValue)
        return .validatorSlashed(epoch: epoch, validator: record.publicKey, amount: taken, misbehaviourHeight: evidence.height)
    }
}
