public import WalrusCore
import WalrusCrypto

/// A validator: its BIP340 key (32 bytes), voting power and network address.
public struct Validator: Hashable, Sendable, BCSCodable {
    public let publicKey: [UInt8]
    public let power: UInt64
    public let address: String

    public init(publicKey: [UInt8], power: UInt64, address: String) {
        self.publicKey = publicKey
        self.power = power
        self.address = address
    }

    public func encode(to writer: inout BCSWriter) {
        writer.writeFixed(publicKey)
        writer.write(power)
        writer.writeString(address)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        publicKey = try reader.readFixed(32)
        power = try reader.readU64()
        address = try reader.readString(max: Limits.networkAddressBytesMax)
    }
}

/// The validators of a height, in a fixed order (votes name validators by index), with Tendermint's
/// proposer priorities: each step every validator gains its power, the highest priority proposes
/// and pays the total power, so proposers rotate in proportion to power.
public struct ValidatorSet: Hashable, Sendable, BCSCodable, RandomAccessCollection {
    public let validators: [Validator]
    /// Proposer priorities, one per validator; they always sum to zero.
    public private(set) var priorities: [Int64]
    public let totalPower: UInt64

    public init(_ validators: [Validator]) {
        precondition(!validators.isEmpty && validators.allSatisfy { $0.power > 0 }, "validators have positive power")
        self.validators = validators
        priorities = [Int64](repeating: 0, count: validators.count)
        totalPower = validators.reduce(0) { $0 + $1.power }
        precondition(totalPower <= UInt64(Int64.max / 4), "total voting power is bounded")
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { validators.count }
    public subscript(index: Int) -> Validator { validators[index] }

    /// More than two thirds of the power.
    public func isQuorum(_ power: UInt64) -> Bool { 3 * power > 2 * totalPower }
    /// More than one third of the power: at least one honest validator.
    public func isValidity(_ power: UInt64) -> Bool { 3 * power > totalPower }

    /// The set after `steps` priority steps (one per height). O(steps × n): a validator keeps the
    /// set of its current height and steps it once per height instead.
    public func advanced(by steps: UInt64) -> ValidatorSet {
        var copy = self
        for _ in 0..<steps { _ = copy.step() }
        return copy
    }

    /// One priority step, O(n): every validator gains its power, the one with the highest
    /// priority (the lowest index on ties) is chosen and pays the total power. Returns the chosen.
    public mutating func step() -> UInt16 {
        for i in priorities.indices { priorities[i] += Int64(validators[i].power) }
        let chosen = proposerIndex
        priorities[chosen] -= Int64(totalPower)
        return UInt16(chosen)
    }

    /// The validator with the highest priority (the lowest index on ties).
    public var proposerIndex: Int {
        var best = 0
        for i in priorities.indices where priorities[i] > priorities[best] { best = i }
        return best
    }

    /// The proposer of round `round` at the height this set is for: the validator chosen by the
    /// `round + 1`-th priority step from the set's priorities. Each new height starts from the
    /// previous height's set advanced by one step, so round-0 proposers rotate too. This costs
    /// O(round × n); `ProposerSchedule` gives the rounds of one height in O(n) each.
    public func proposer(round: Round) -> UInt16 {
        var copy = self
        var proposer: UInt16 = 0
        for _ in 0...UInt64(round) { proposer = copy.step() }
        return proposer
    }

    /// The hash a header commits to: BLAKE2b-256 of the validators (keys, powers, addresses).
    public var hash: [UInt8] {
        var writer = BCSWriter()
        writer.writeSequence(validators)
        return Blake2b256.hash(writer.bytes)
    }

    /// What decoded validators must satisfy to form a set: at least one, each with positive power,
    /// at most 2^61 in all (so priorities cannot overflow).
    public static func checkPowers(_ validators: [Validator]) throws(CoreError) {
        guard !validators.isEmpty, validators.allSatisfy({ $0.power > 0 }) else {
            throw CoreError(.malformedBCS, "a validator set has validators with positive power")
        }
        var total: UInt64 = 0
        for validator in validators {
            let (sum, overflow) = total.addingReportingOverflow(validator.power)
            guard !overflow, sum <= UInt64(Int64.max / 4) else { throw CoreError(.malformedBCS, "a validator set's total power exceeds 2^61") }
            total = sum
        }
    }

    public func encode(to writer: inout BCSWriter) {
        writer.writeSequence(validators)
        writer.writeLength(priorities.count)
        for p in priorities { writer.write(UInt64(bitPattern: p)) }
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        let validators = try reader.readSequence(of: Validator.self, max: 1024, minElementBytes: 41)
        try ValidatorSet.checkPowers(validators)
        let count = try reader.readLength(max: validators.count, minElementBytes: 8)
        guard count == validators.count else { throw CoreError(.malformedBCS, "one priority per validator") }
        var priorities: [Int64] = []
        for _ in 0..<count { priorities.append(Int64(bitPattern: try reader.readU64())) }
        self.init(validators)
        self.priorities = priorities
    }
}

/// The proposers of one height's rounds, computed as far as asked and kept: round r costs O(n)
/// once it follows the rounds before it, instead of O(r × n) each time it is asked.
public struct ProposerSchedule: Hashable, Sendable {
    private var state: ValidatorSet
    private var proposers: [UInt16] = []

    public init(_ set: ValidatorSet) { state = set }

    public mutating func proposer(round: Round) -> UInt16 {
        while proposers.count <= Int(round) { proposers.append(state.step()) }
        return proposers[Int(round)]
    }
}
