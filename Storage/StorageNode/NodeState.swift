import Metrics
import Logging
import ChainClient
import ChainTypes
import Foundation
import WalrusAPI
import WalrusCore
import WalrusCrypto

/// What the storage node knows of the chain: the current committee and its own shards, and the
/// blob infos built from verified events, which it follows from a persisted cursor.
actor NodeState {
    let client: ChainClient
    let follower: VerifiedEventFollower
    let store: SliverStore
    let key: Schnorr.PrivateKey
    private(set) var committee: CommitteeInfo
    private(set) var eventsApplied: UInt64 = 0
    private(set) var lastCursor: EventCursor?
    /// The chain-wide index of the last event applied (Walrus's `highestFinishedEventIndex`).
    private(set) var lastEventIndex: UInt64?
    private var running = true
    let started = Date()
    /// Told about every newly certified blob (set once at start).
    var onCertified: (@Sendable (BlobID) async -> Void)?
    /// Told about every committee change: the new committee and the one before.
    var onEpochChange: (@Sendable (CommitteeInfo, CommitteeInfo) async -> Void)?
    /// Shards this node owned in the previous committee: read-only, still served.
    private(set) var previousShards: [ShardIndex] = []

    func setOnCertified(_ handler: @escaping @Sendable (BlobID) async -> Void) { onCertified = handler }
    func setOnEpochChange(_ handler: @escaping @Sendable (CommitteeInfo, CommitteeInfo) async -> Void) { onEpochChange = handler }

    /// Shards this node serves reads for: owned now, or owned in the previous epoch.
    var readableShards: [ShardIndex] { Array(Set(ownShards).union(previousShards)) }

    let chainID: String
    let validators: ChainTypesValidatorSet
    let logger: Logger
    /// An epoch event was applied and the new committee is not verified yet.
    private var committeeStale = false

    init(
        client: ChainClient, follower: VerifiedEventFollower, store: SliverStore, key: Schnorr.PrivateKey, committee: CommitteeInfo, chainID: String,
        validators: ChainTypesValidatorSet, logger: Logger
    ) {
        self.client = client
        self.follower = follower
        self.store = store
        self.key = key
        self.committee = committee
        self.chainID = chainID
        self.validators = validators
        self.logger = logger
        lastCursor = store.cursor()
    }

    var epoch: Epoch { committee.epoch }
    var shardCount: UInt16 { committee.shardCount }
    var me: CommitteeMember? { committee.members.first { $0.publicKey == key.publicKey } }
    var ownShards: [ShardIndex] { me?.shards ?? [] }

    static let eventsCounter = Counter(label: "walrus_storage_events_applied_total")

    func stop() { running = false }

    /// The chain height the node has verified, and how many of the chain's events through it the
    /// node has not applied yet.
    func chainProgress() async -> (height: UInt64, lag: UInt64)? {
        guard let progress = await follower.verifiedProgress else { return nil }
        let applied = lastEventIndex.map { $0 + 1 } ?? 0
        return (progress.height, progress.events > applied ? progress.events - applied : 0)
    }

    /// Follows verified events until stopped; applies each page atomically with its cursor, and
    /// moves the follower's cursor only once the page is durably applied (a failed write leaves
    /// the page to be fetched again, not lost).
    func followLoop() async {
        while running {
            do {
                if committeeStale { await refreshCommittee() }
                let events = try await follower.next(limit: 200, waitMs: 500)
                guard let last = events.last else { continue }
                var changed: [BlobID: BlobInfo] = [:]
                var refresh = false
                for event in events { apply(event.event, id: event.id, to: &changed, refresh: &refresh) }
                let certified = events.compactMap { event -> BlobID? in
                    if case .blobCertified(_, let blobID, _, _, _, false) = event.event { return blobID }
                    return nil
                }
                try store.apply(changed, cursor: last.cursor, recover: certified)
                await follower.acknowledge(through: last.cursor)
                lastEventIndex = await follower.eventIndex(last.cursor) ?? lastEventIndex
                for blobID in certified { await onCertified?(blobID) }
                eventsApplied += UInt64(events.count)
                NodeState.eventsCounter.increment(by: events.count)
                lastCursor = last.cursor
                if refresh {
                    committeeStale = true
                    await refreshCommittee()
                }
            } catch {
                // The chain is unreachable, a write failed, or the RPC's answers do not verify
                // (said in the log, once per kind of failure a minute): nothing was applied; retry.
                if let chainError = error as? ChainClientError, chainError.code == .verification { logThrottled("refusing chain events: \(chainError.message)") }
                try? await Task.sleep(nanoseconds: 500_000_000)
            }
        }
    }

    private var lastLogged: (message: String, at: Date)?

    private func logThrottled(_ message: String) {
        if let last = lastLogged, last.message == message, Date().timeIntervalSince(last.at) < 60 { return }
        lastLogged = (message, Date())
        logger.warning("\(message)")
    }

    /// Takes the chain's current committee, only once a block signed by the validators commits to
    /// it; an answer that does not verify is refused (and logged) and asked for again later, so
    /// the node keeps acting on the committee it last verified.
    private func refreshCommittee() async {
        let next: CommitteeInfo
        do { next = try await client.verifiedCommittee(chainID: chainID, validators: validators) } catch {
            if error.code == .verification { logger.warning("refusing the committee the chain RPC served", metadata: ["reason": "\(error.message)"]) }
            return
        }
        committeeStale = false
        guard next.epoch > committee.epoch else { return }
        let previous = committee
        previousShards = previous.members.first { $0.publicKey == key.publicKey }?.shards ?? []
        committee = next
        if let onEpochChange {
            Task { await onEpochChange(next, previous) }
        }
    }

    private func apply(_ event: LedgerEvent, id eventID: EventID?, to changed: inout [BlobID: BlobInfo], refresh: inout Bool) {
        func update(_ id: BlobID, _ body: (inout BlobInfo) -> Void) {
            var info = changed[id] ?? store.blobInfo(id) ?? BlobInfo()
            body(&info)
            changed[id] = info
        }
        switch event {
        case let .blobRegistered(_, blobID, _, _, endEpoch, deletable, objectID):
            update(blobID) { info in
                if deletable { info.deletableObjects.append(objectID) } else {
                    info.permanentRegistered += 1
                    // The status event is that of the registration reaching furthest.
                    if endEpoch >= info.endEpoch || info.permanentRegisteredEvent == nil { info.permanentRegisteredEvent = eventID ?? info.permanentRegisteredEvent }
                }
                info.endEpoch = max(info.endEpoch, endEpoch)
            }
        case let .blobCertified(epoch, blobID, endEpoch, deletable, objectID, isExtension):
            update(blobID) { info in
                if !isExtension {
                    if deletable { info.deletableCertified.append(objectID) } else { info.permanentCertified += 1 }
                    info.initialCertifiedEpoch = min(info.initialCertifiedEpoch ?? epoch, epoch)
                }
                if !deletable, endEpoch >= info.endEpoch || info.permanentCertifiedEvent == nil {
                    info.permanentCertifiedEvent = eventID ?? info.permanentCertifiedEvent
                }
                info.endEpoch = max(info.endEpoch, endEpoch)
            }
        case let .blobDeleted(_, blobID, _, objectID, _):
            update(blobID) { info in
                info.deletableObjects.removeAll { $0 == objectID }
                info.deletableCertified.removeAll { $0 == objectID }
            }
        case let .invalidBlobID(_, blobID):
            update(blobID) { info in
                info.invalid = true
                info.invalidEvent = eventID ?? info.invalidEvent
            }
        case .epochChangeStart, .epochChangeDone:
            refresh = true
        default:
            break
        }
    }

    /// Waits (bounded) until the blob is registered at the current epoch.
    func waitForRegistration(_ blobID: BlobID, persistence: BlobPersistence, millis: UInt64) async -> Bool {
        let deadline = Date().addingTimeInterval(Double(min(millis, 10_000)) / 1000)
        repeat {
            if isRegistered(blobID, persistence) { return true }
            try? await Task.sleep(nanoseconds: 50_000_000)
        } while Date() < deadline
        return isRegistered(blobID, persistence)
    }

    func isRegistered(_ blobID: BlobID, _ persistence: BlobPersistence?) -> Bool {
        guard let info = store.blobInfo(blobID), info.isRegistered(at: epoch) else { return false }
        switch persistence {
        case nil: return true
        case .permanent?: return info.permanentRegistered > 0
        case .deletable(let object)?: return info.deletableObjects.contains(object)
        }
    }
}
