import ChainTypes
import Consensus
public import WalrusCore

/// A write-ahead-log record: one consensus input.
struct WALRecord: BCSCodable {
    let input: ConsensusInput<Block>

    init(_ input: ConsensusInput<Block>) { self.input = input }

    func encode(to w: inout BCSWriter) {
        switch input {
        case .start: w.writeVariant(0)
        case .proposal(let p): w.writeVariant(1); w.write(p)
        case .vote(let v): w.writeVariant(2); w.write(v)
        case let .timeout(step, height, round): w.writeVariant(3); w.write(step.rawValue); w.write(height); w.write(round)
        case let .proposalValue(block, height, round): w.writeVariant(4); w.write(block); w.write(height); w.write(round)
        }
    }

    init(from r: inout BCSReader) throws(CoreError) {
        switch try r.readVariant(count: 5) {
        case 0: input = .start
        case 1: input = .proposal(try r.read(Proposal<Block>.self))
        case 2: input = .vote(try r.read(Vote.self))
        case 3:
            let raw = try r.readU8()
            guard let step = Step(rawValue: raw) else { throw CoreError(.malformedBCS, "step \(raw)") }
            input = .timeout(step, height: try r.readU64(), round: try r.readU32())
        default: input = .proposalValue(try r.read(Block.self), height: try r.readU64(), round: try r.readU32())
        }
    }
}

/// The signing guard as stored.
struct StoredGuard: BCSCodable {
    let state: SigningGuard

    init(_ state: SigningGuard) { self.state = state }

    func encode(to w: inout BCSWriter) {
        w.write(state.height)
        w.write(state.round)
        w.write(state.step?.rawValue ?? 0)
        w.writeBytes(state.signBytes)
        w.writeBytes(state.signature)
        let entries = state.signedAtHeight.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        w.writeLength(entries.count)
        for (bytes, signature) in entries {
            w.writeBytes(bytes)
            w.writeBytes(signature)
        }
    }

    init(from r: inout BCSReader) throws(CoreError) {
        let height = try r.readU64()
        let round = try r.readU32()
        let step = SigningGuard.SignStep(rawValue: try r.readU8())
        let signBytes = try r.readBytes(max: 4096)
        let signature = try r.readBytes(max: 64)
        let count = try r.readLength(max: 10_000)
        var signed: [[UInt8]: [UInt8]] = [:]
        for _ in 0..<count { signed[try r.readBytes(max: 4096)] = try r.readBytes(max: 64) }
        state = SigningGuard(height: height, round: round, step: step, signBytes: signBytes, signature: signature, signedAtHeight: signed)
    }
}

/// An event as stored and served: where it happened and what it was.
public struct EventRecord: Hashable, Sendable, BCSCodable {
    public let height: UInt64
    public let index: UInt32
    /// The transaction that emitted it, or nil for the block's own epoch logic.
    public let transaction: [UInt8]?
    public let event: LedgerEventBytes

    public init(height: UInt64, index: UInt32, transaction: [UInt8]?, event: LedgerEventBytes) {
        self.height = height
        self.index = index
        self.transaction = transaction
        self.event = event
    }

    public func encode(to w: inout BCSWriter) {
        w.write(height)
        w.write(index)
        w.writeOption(transaction.map(Digest32.init))
        w.writeBytes(event.bytes)
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        height = try r.readU64()
        index = try r.readU32()
        transaction = try r.readOption(of: Digest32.self)?.bytes
        event = LedgerEventBytes(bytes: try r.readBytes(max: 1 << 20))
    }
}

/// An event's BCS bytes (decoded with `LedgerEvent.decode`).
public struct LedgerEventBytes: Hashable, Sendable {
    public let bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }
}

struct Digest32: BCSCodable {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    func encode(to w: inout BCSWriter) { w.writeFixed(bytes) }
    init(from r: inout BCSReader) throws(CoreError) { bytes = try r.readFixed(32) }
}
