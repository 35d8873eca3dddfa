public import WalrusCore
public import WalrusCrypto

/// What a proposer signs of a proposal: everything but the value itself, whose ID stands in for it.
/// Two of these from one proposer for one height and round with different values are evidence.
public struct SignedProposalHead: Hashable, Sendable, BCSCodable {
    public let height: Height
    public let round: Round
    public let valueID: ValueID
    public let validRound: Round?
    public let proposer: UInt16
    public let signature: [UInt8]

    public init(height: Height, round: Round, valueID: ValueID, validRound: Round?, proposer: UInt16, signature: [UInt8]) {
        self.height = height
        self.round = round
        self.valueID = valueID
        self.validRound = validRound
        self.proposer = proposer
        self.signature = signature
    }

    public init<Value>(_ proposal: Proposal<Value>) {
        self.init(
            height: proposal.height, round: proposal.round, valueID: proposal.value.valueID, validRound: proposal.validRound, proposer: proposal.proposer,
            signature: proposal.signature)
    }

    /// The bytes the proposer signed (`Proposal.signBytes`).
    public func signBytes(chainID: String) -> [UInt8] {
        Self.signBytes(chainID: chainID, height: height, round: round, valueID: valueID, validRound: validRound, proposer: proposer)
    }

    static func signBytes(chainID: String, height: Height, round: Round, valueID: ValueID, validRound: Round?, proposer: UInt16) -> [UInt8] {
        var writer = ConsensusMessage.writer(chainID: chainID, type: ConsensusMessage.proposal)
        writer.write(height)
        writer.write(round)
        writer.write(valueID)
        writer.writeOption(validRound)
        writer.write(proposer)
        return writer.bytes
    }

    public func encode(to w: inout BCSWriter) {
        w.write(height)
        w.write(round)
        w.write(valueID)
        w.writeOption(validRound)
        w.write(proposer)
        w.writeBytes(signature)
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        height = try r.readU64()
        round = try r.readU32()
        valueID = try r.read(ValueID.self)
        validRound = try r.readOption(of: Round.self)
        proposer = try r.readU16()
        signature = try r.readBytes(max: 64)
    }
}

/// Proof that a validator signed two conflicting consensus messages: two votes of one kind for one
/// height and round for different values (or one for a value and one for nil), or two proposals
/// for one height and round with different values. Anyone can check it with the validator's key;
/// the ledger slashes the validator once it is in a block. The pair is kept in a canonical order
/// (by signed bytes), so the same misbehaviour always gives the same evidence.
public enum Evidence: Hashable, Sendable, BCSCodable {
    case duplicateVote(Vote, Vote)
    case duplicateProposal(SignedProposalHead, SignedProposalHead)

    /// Evidence of two votes, in canonical order.
    public static func votes(_ a: Vote, _ b: Vote) -> Evidence {
        let key = { (v: Vote) in v.signBytes(chainID: "") + v.signature }
        return key(a).lexicographicallyPrecedes(key(b)) ? .duplicateVote(a, b) : .duplicateVote(b, a)
    }

    /// Evidence of two proposals, in canonical order.
    public static func proposals(_ a: SignedProposalHead, _ b: SignedProposalHead) -> Evidence {
        let key = { (p: SignedProposalHead) in p.signBytes(chainID: "") + p.signature }
        return key(a).lexicographicallyPrecedes(key(b)) ? .duplicateProposal(a, b) : .duplicateProposal(b, a)
    }

    /// The validator (index in the set of `height`) the evidence is against.
    public var validator: UInt16 {
        switch self {
        case .duplicateVote(let a, _): a.validator
        case .duplicateProposal(let a, _): a.proposer
        }
    }

    /// The height at which the validator misbehaved.
    public var height: Height {
        switch self {
        case .duplicateVote(let a, _): a.height
        case .duplicateProposal(let a, _): a.height
        }
    }

    /// The evidence's identity (BLAKE2b-256 of its encoding).
    public var digest: [UInt8] { Blake2b256.hash(bcsBytes) }

    /// Checks that the two messages conflict, come from one validator, are in canonical order, and
    /// are both validly signed by `key` on `chainID`.
    public func verify(chainID: String, key: Schnorr.PublicKey) throws(CoreError) {
        let first: [UInt8], second: [UInt8], signatures: ([UInt8], [UInt8])
        switch self {
        case let .duplicateVote(a, b):
            guard a.kind == b.kind, a.height == b.height, a.round == b.round, a.validator == b.validator, a.valueID != b.valueID else {
                throw CoreError(.invalidEvidence, "the two votes do not conflict (another kind, height, round or validator, or the same value)")
            }
            (first, second, signatures) = (a.signBytes(chainID: chainID), b.signBytes(chainID: chainID), (a.signature, b.signature))
        case let .duplicateProposal(a, b):
            guard a.height == b.height, a.round == b.round, a.proposer == b.proposer, a.valueID != b.valueID else {
                throw CoreError(.invalidEvidence, "the two proposals do not conflict (another height, round or proposer, or the same value)")
            }
            (first, second, signatures) = (a.signBytes(chainID: chainID), b.signBytes(chainID: chainID), (a.signature, b.signature))
        }
        guard self == canonical else { throw CoreError(.invalidEvidence, "the evidence is not in canonical order") }
        for (bytes, signature) in [(first, signatures.0), (second, signatures.1)] {
            guard let signature = try? Schnorr.Signature(bytes: signature), key.isValidSignature(signature, for: bytes) else {
                throw CoreError(.invalidEvidence, "a message of the evidence is not signed by validator \(validator)'s key")
            }
        }
    }

    private var canonical: Evidence {
        switch self {
        case let .duplicateVote(a, b): .votes(a, b)
        case let .duplicateProposal(a, b): .proposals(a, b)
        }
    }

    public func encode(to w: inout BCSWriter) {
        switch self {
        case let .duplicateVote(a, b): w.writeVariant(0); w.write(a); w.write(b)
        case let .duplicateProposal(a, b): w.writeVariant(1); w.write(a); w.write(b)
        }
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        switch try r.readVariant(count: 2) {
        case 0: self = .duplicateVote(try r.read(Vote.self), try r.read(Vote.self))
        default: self = .duplicateProposal(try r.read(SignedProposalHead.self), try r.read(SignedProposalHead.self))
        }
    }
}
