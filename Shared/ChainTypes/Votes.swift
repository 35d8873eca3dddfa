public import WalrusCore
import WalrusCrypto

/// A block height: chain time is heights and rounds, storage time is epochs.
public typealias Height = UInt64
/// A consensus round within a height.
public typealias Round = UInt32

/// What every signed consensus message starts with: the consensus intent, the chain ID and the
/// message type, so that no signature of one kind or chain can pass for another.
enum ConsensusMessage {
    static let vote: UInt8 = 1
    static let proposal: UInt8 = 2

    static func writer(chainID: String, type: UInt8) -> BCSWriter {
        var writer = BCSWriter(capacity: 96)
        writer.write(IntentHeader(type: .consensus, epoch: Epoch(0)))
        writer.writeString(chainID)
        writer.write(type)
        return writer
    }
}

/// The identity of a proposed value (a block hash): 32 bytes.
public struct ValueID: Hashable, Comparable, Sendable, BCSCodable, CustomStringConvertible {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) {
        precondition(bytes.count == 32, "a value ID has 32 bytes")
        self.bytes = bytes
    }
    public static func < (a: Self, b: Self) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
    public var description: String { String(Hex.encode(bytes).prefix(12)) }
    public func encode(to writer: inout BCSWriter) { writer.writeFixed(bytes) }
    public init(from reader: inout BCSReader) throws(CoreError) { bytes = try reader.readFixed(32) }
}

/// What consensus agrees on: any value with an ID (the chain's blocks; simple values in tests).
public protocol ConsensusValue: Hashable, Sendable {
    var valueID: ValueID { get }
}

/// The two kinds of votes.
public enum VoteKind: UInt8, Hashable, Sendable, Comparable, BCSCodable {
    case prevote = 1
    case precommit = 2

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public func encode(to writer: inout BCSWriter) { writer.write(rawValue) }
    public init(from reader: inout BCSReader) throws(CoreError) {
        let raw = try reader.readU8()
        guard let kind = VoteKind(rawValue: raw) else { throw CoreError(.malformedBCS, "vote kind \(raw) is not 1 or 2") }
        self = kind
    }
}

/// A prevote or precommit for a value (or for nil) at a height and round, by the validator at
/// `validator` in the height's validator set, stamped with the signer's clock (`timeMs`): the
/// precommits of a commit set the next block's time (`Commit.medianTimeMs`). `signature` is BIP340
/// over `signBytes`; the core does not check it (the shell verifies every message before handing it
/// in). Two votes differing only in time are not conflicting: equivocation is about values.
public struct Vote: Hashable, Sendable, BCSCodable {
    public let kind: VoteKind
    public let height: Height
    public let round: Round
    public let valueID: ValueID?
    public let validator: UInt16
    /// Milliseconds since the Unix epoch on the signer's clock; set by the shell before signing.
    public var timeMs: UInt64
    public var signature: [UInt8]

    public init(
        kind: VoteKind, height: Height, round: Round, valueID: ValueID?, validator: UInt16, timeMs: UInt64 = 0, signature: [UInt8] = []
    ) {
        self.kind = kind
        self.height = height
        self.round = round
        self.valueID = valueID
        self.validator = validator
        self.timeMs = timeMs
        self.signature = signature
    }

    /// The bytes a validator signs: the consensus intent, the chain ID, and the vote without its
    /// signature. The time comes last: `timeFromSignBytes` reads it back, so a restarted validator
    /// re-sends the vote it signed before, time included, instead of signing a second one.
    public func signBytes(chainID: String) -> [UInt8] {
        var writer = ConsensusMessage.writer(chainID: chainID, type: ConsensusMessage.vote)
        writer.write(kind)
        writer.write(height)
        writer.write(round)
        writer.writeOption(valueID)
        writer.write(validator)
        writer.write(timeMs)
        return writer.bytes
    }

    /// The time in a vote's sign bytes (their last eight bytes, little-endian).
    public static func timeFromSignBytes(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count >= 8 else { return nil }
        return bytes.suffix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    public func encode(to writer: inout BCSWriter) {
        writer.write(kind)
        writer.write(height)
        writer.write(round)
        writer.writeOption(valueID)
        writer.write(validator)
        writer.write(timeMs)
        writer.writeBytes(signature)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        kind = try reader.read(VoteKind.self)
        height = try reader.readU64()
        round = try reader.readU32()
        valueID = try reader.readOption(of: ValueID.self)
        validator = try reader.readU16()
        timeMs = try reader.readU64()
        signature = try reader.readBytes(max: 64)
    }
}

/// A proposal of `value` for a height and round by that round's proposer, with the round in which
/// the proposer saw the value become valid (`validRound`, nil for none).
public struct Proposal<Value: ConsensusValue>: Hashable, Sendable {
    public let height: Height
    public let round: Round
    public let value: Value
    public let validRound: Round?
    public let proposer: UInt16
    public var signature: [UInt8]

    public init(height: Height, round: Round, value: Value, validRound: Round?, proposer: UInt16, signature: [UInt8] = []) {
        self.height = height
        self.round = round
        self.value = value
        self.validRound = validRound
        self.proposer = proposer
        self.signature = signature
    }

    /// The bytes the proposer signs: the consensus intent, the chain ID and the proposal fields
    /// with the value's ID in place of the value.
    public func signBytes(chainID: String) -> [UInt8] {
        SignedProposalHead.signBytes(chainID: chainID, height: height, round: round, valueID: value.valueID, validRound: validRound, proposer: proposer)
    }
}

/// The proof that a value was decided at a height: precommits for it in one round from validators
/// holding more than two thirds of the voting power. Stored with the block; the light client's
/// certificate.
public struct Commit: Hashable, Sendable, BCSCodable {
    public let height: Height
    public let round: Round
    public let valueID: ValueID
    /// The precommits, ordered by validator index.
    public let precommits: [Vote]

    public init(height: Height, round: Round, valueID: ValueID, precommits: [Vote]) {
        self.height = height
        self.round = round
        self.valueID = valueID
        self.precommits = precommits.sorted { $0.validator < $1.validator }
    }

    /// Checks the structure and power of the commit against `validators` (signatures are checked
    /// by the caller, which has the keys and the chain ID).
    public func hasQuorum(in validators: ValidatorSet) -> Bool {
        var seen = Set<UInt16>()
        var power: UInt64 = 0
        for vote in precommits {
            guard vote.kind == .precommit, vote.height == height, vote.round == round, vote.valueID == valueID,
                Int(vote.validator) < validators.count, seen.insert(vote.validator).inserted
            else { return false }
            power += validators[Int(vote.validator)].power
        }
        return validators.isQuorum(power)
    }

    /// The block time this commit gives the next block: the power-weighted median of its
    /// precommits' times (the earliest time by which more than half of the commit's power has
    /// voted). A commit holds more than two thirds of the power and faulty validators less than a
    /// third, so faulty validators hold less than half of it: the median lies between the times of
    /// two correct validators, whatever the faulty ones write. Nil when the commit names a
    /// validator outside `validators`.
    public func medianTimeMs(in validators: ValidatorSet) -> UInt64? {
        var stamped: [(time: UInt64, power: UInt64)] = []
        var total: UInt64 = 0
        for vote in precommits {
            guard Int(vote.validator) < validators.count else { return nil }
            let power = validators[Int(vote.validator)].power
            stamped.append((vote.timeMs, power))
            total += power
        }
        guard total > 0 else { return nil }
        stamped.sort { $0.time < $1.time }
        var cumulative: UInt64 = 0
        for entry in stamped {
            cumulative += entry.power
            if 2 * cumulative > total { return entry.time }
        }
        return stamped.last?.time
    }

    /// BLAKE2b-256 of the commit's BCS form (a header's `lastCommitHash`).
    public var hash: [UInt8] { Blake2b256.hash(bcsBytes) }

    public func encode(to writer: inout BCSWriter) {
        writer.write(height)
        writer.write(round)
        writer.write(valueID)
        writer.writeSequence(precommits)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        height = try reader.readU64()
        round = try reader.readU32()
        valueID = try reader.read(ValueID.self)
        precommits = try reader.readSequence(of: Vote.self, max: Int(UInt16.max), minElementBytes: 16)
    }
}

extension Proposal: BCSEncodable, BCSDecodable where Value: BCSCodable {
    public func encode(to w: inout BCSWriter) {
        w.write(height)
        w.write(round)
        w.write(value)
        w.writeOption(validRound)
        w.write(proposer)
        w.writeBytes(signature)
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        self.init(
            height: try r.readU64(), round: try r.readU32(), value: try r.read(Value.self), validRound: try r.readOption(of: Round.self),
            proposer: try r.readU16(), signature: try r.readBytes(max: 64))
    }
}
