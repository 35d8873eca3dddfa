public import ChainTypes
import LightClient
import WalrusCore
import WalrusCrypto

/// Follows ledger events from a cursor and hands them out only after checking them like a light
/// client: each block's commit must hold precommits of more than two thirds of the validator set's
/// power, every precommit signed by its validator over the chain's vote bytes, for the block's
/// hash; the block's validators hash must be the known set's (the set is fixed at genesis and a
/// hand-over would have to be committed by the current set); and the events the RPC returned for
/// the block must rebuild the header's events root.
public actor VerifiedEventFollower {
    public let client: ChainClient
    public let chainID: String
    public let validators: ValidatorSet
    public private(set) var cursor: EventCursor?
    private var verifiedHeights: [UInt64: [[UInt8]]] = [:]
    /// Events of the chain before the verified block (from its header's `eventCount`).
    private var eventsBefore: [UInt64: UInt64] = [:]
    /// The highest block whose events this follower has verified, with the events of blocks 1 to
    /// it in total (its header's `eventCount`): the count the next block with events must start
    /// from, or events were left out. Nil until known (read from the cursor's block).
    private var countThrough: (height: UInt64, count: UInt64)?

    /// The highest block verified so far, and the chain's events through it (for metrics).
    public var verifiedProgress: (height: UInt64, events: UInt64)? { countThrough.map { ($0.height, $0.count) } }

    public init(client: ChainClient, chainID: String, validators: ValidatorSet, cursor: EventCursor? = nil) {
        self.client = client
        self.chainID = chainID
        self.validators = validators
        self.cursor = cursor
    }

    /// The next verified events after the cursor (waiting up to `waitMs`). The cursor does not
    /// move until the caller has applied them and calls `acknowledge(through:)`: until then the
    /// same events come again.
    public func next(limit: Int = 100, waitMs: UInt64 = 1000) async throws(ChainClientError) -> [ChainEvent] {
        if countThrough == nil { try await startCount() }
        let (events, _) = try await client.events(after: cursor, limit: limit, waitMs: waitMs)
        for event in events { try await verify(event) }
        if events.isEmpty { try await checkNothingWithheld() }
        return events
    }

    /// The event count through the cursor's block, from that block's verified header.
    private func startCount() async throws(ChainClientError) {
        guard let cursor, cursor.height > 0 else {
            countThrough = (0, 0)
            return
        }
        let header = try await verifiedHeader(cursor.height)
        countThrough = (cursor.height, header.eventCount)
    }

    /// After an empty page: a verified recent block whose event count is past what this follower
    /// has seen means events exist after the cursor; asked again, the RPC must now serve them (they
    /// were committed before that block), or it is withholding them.
    private func checkNothingWithheld() async throws(ChainClientError) {
        emptyPages += 1
        guard emptyPages % 10 == 0, let known = countThrough else { return }
        let height = try await client.health().height
        guard height > known.height else { return }
        let header = try await verifiedHeader(height)
        guard header.eventCount > known.count else { return }
        let (events, _) = try await client.events(after: cursor, limit: 1, waitMs: 0)
        guard !events.isEmpty else {
            throw ChainClientError(
                .verification, "block \(height) counts \(header.eventCount - known.count) events after \(cursor?.description ?? "the start") that the RPC does not serve")
        }
    }

    private var emptyPages = 0

    /// A block's header, checked against its commit.
    private func verifiedHeader(_ height: UInt64) async throws(ChainClientError) -> BlockHeader {
        try await client.verifiedBlock(height, chainID: chainID, validators: validators).header
    }

    /// The position of the event at `cursor` among all the chain's events (0 for the first), as
    /// the verified header of its block counts them; nil for a block this follower has not just
    /// verified.
    public func eventIndex(_ cursor: EventCursor) -> UInt64? {
        eventsBefore[cursor.height].map { $0 + UInt64(cursor.index) }
    }

    /// Moves the cursor past `cursor`: the events up to it are durably applied.
    public func acknowledge(through cursor: EventCursor) {
        if self.cursor.map({ $0 < cursor }) ?? true { self.cursor = cursor }
    }

    private func verify(_ event: ChainEvent) async throws(ChainClientError) {
        let height = event.cursor.height
        if verifiedHeights[height] == nil {
            let block = try await client.verifiedBlock(height, chainID: chainID, validators: validators)
            // All events of the block, in order, must rebuild its events root.
            var all: [[UInt8]] = []
            var page: EventCursor? = height > 0 ? EventCursor(height: height - 1, index: UInt32.max) : nil
            while true {
                let (batch, next) = try await client.events(after: page, limit: 500)
                let inBlock = batch.filter { $0.cursor.height == height }
                all += inBlock.map(\.bytes)
                if inBlock.count < batch.count || batch.isEmpty { break }
                page = next
            }
            guard ChainMerkle.root(all) == block.header.eventsRoot, block.header.eventCount >= UInt64(all.count) else {
                throw ChainClientError(.verification, "the events served for block \(height) do not match its events root")
            }
            // The blocks between the last one seen and this one must hold no events.
            if let known = countThrough, height > known.height {
                let before = block.header.eventCount - UInt64(all.count)
                guard before == known.count else {
                    throw ChainClientError(
                        .verification,
                        "the RPC left out \(before > known.count ? before - known.count : 0) events between blocks \(known.height) and \(height)")
                }
                countThrough = (height, block.header.eventCount)
            }
            verifiedHeights = [height: all]
            eventsBefore = [height: block.header.eventCount - UInt64(all.count)]
        }
        guard verifiedHeights[height]!.indices.contains(Int(event.cursor.index)), verifiedHeights[height]![Int(event.cursor.index)] == event.bytes else {
            throw ChainClientError(.verification, "event \(event.cursor) is not in block \(height)")
        }
    }

    /// The light-client check of one block and its commit.
    public static func check(block: Block, commit: Commit, validators: ValidatorSet, chainID: String) throws(ChainClientError) {
        do { try LightClient(chainID: chainID, genesisValidators: validators).verify(block.header, commit: commit) } catch {
            throw ChainClientError(.verification, error.message)
        }
    }
}
