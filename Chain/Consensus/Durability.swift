public import ChainTypes
/// An input of the consensus core, as the write-ahead log records it. Replaying the inputs of the
/// current height, in order, into a fresh core rebuilds its state, locks included.
public enum ConsensusInput<Value: ConsensusValue>: Hashable, Sendable {
    case start
    case proposal(Proposal<Value>)
    case vote(Vote)
    case timeout(Step, height: Height, round: Round)
    case proposalValue(Value, height: Height, round: Round)
}

/// What a validator last signed: the guard against double signing. It must be stored durably
/// before the signature it allows leaves the process.
///
/// Signing is allowed only moving forward in (height, round, step), with proposal < prevote <
/// precommit. Asked again for bytes it already signed at the latest height, it returns the earlier
/// signature (a restarted validator re-sends what it signed before, which others may have missed);
/// asked for different bytes at the same or an earlier position, it refuses. So after any crash the
/// validator never signs two different votes for one height, round and step.
public struct SigningGuard: Hashable, Sendable {
    public enum SignStep: UInt8, Comparable, Sendable {
        case proposal = 1, prevote = 2, precommit = 3
        public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
        public init(_ kind: VoteKind) { self = kind == .prevote ? .prevote : .precommit }
    }

    public enum Decision: Equatable, Sendable {
        /// Sign, then record.
        case sign
        /// Already signed exactly this: send the earlier signature.
        case reuse([UInt8])
        /// Signing would conflict with something signed before.
        case refuse(String)
    }

    public private(set) var height: Height = 0
    public private(set) var round: Round = 0
    public private(set) var step: SignStep?
    public private(set) var signBytes: [UInt8] = []
    public private(set) var signature: [UInt8] = []
    /// Every message signed at `height`, by its bytes.
    public private(set) var signedAtHeight: [[UInt8]: [UInt8]] = [:]

    public init() {}

    public init(
        height: Height, round: Round, step: SignStep?, signBytes: [UInt8], signature: [UInt8],
        signedAtHeight: [[UInt8]: [UInt8]] = [:]
    ) {
        self.height = height
        self.round = round
        self.step = step
        self.signBytes = signBytes
        self.signature = signature
        self.signedAtHeight = signedAtHeight
    }

    public func check(height: Height, round: Round, step: SignStep, signBytes: [UInt8]) -> Decision {
        guard let last = self.step else { return .sign }
        if height == self.height, let earlier = signedAtHeight[signBytes] { return .reuse(earlier) }
        if height != self.height { return height > self.height ? .sign : .refuse("height \(height) is below the last signed height \(self.height)") }
        if round != self.round { return round > self.round ? .sign : .refuse("round \(round) is below the last signed round \(self.round) at height \(height)") }
        if step != last { return step > last ? .sign : .refuse("step \(step) comes before the last signed step \(last) at \(height)/\(round)") }
        return signBytes == self.signBytes ? .reuse(signature) : .refuse("a different message was already signed at \(height)/\(round)/\(step)")
    }

    public mutating func record(height: Height, round: Round, step: SignStep, signBytes: [UInt8], signature: [UInt8]) {
        if case .refuse(let reason) = check(height: height, round: round, step: step, signBytes: signBytes) {
            preconditionFailure("recording a signature the guard refused: \(reason)")
        }
        if height != self.height { signedAtHeight = [:] }
        self.height = height
        self.round = round
        self.step = step
        self.signBytes = signBytes
        self.signature = signature
        signedAtHeight[signBytes] = signature
    }
}
