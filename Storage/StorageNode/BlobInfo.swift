public import WalrusAPI
public import WalrusCore

/// What a storage node knows about a blob ID from the chain's events: how many registrations and
/// certifications of each kind are live, the latest end epoch, and whether it was found invalid.
public struct BlobInfo: Hashable, Sendable, BCSCodable {
    public var permanentRegistered: UInt32 = 0
    public var permanentCertified: UInt32 = 0
    public var deletableObjects: [ObjectID] = []
    public var deletableCertified: [ObjectID] = []
    public var endEpoch: Epoch = Epoch(0)
    public var initialCertifiedEpoch: Epoch?
    public var invalid = false
    /// The events behind the status Walrus reports (nil for what was applied before nodes kept
    /// them): the permanent registration and the permanent certification (or extension) that
    /// reach furthest, and the invalidation.
    public var permanentRegisteredEvent: EventID?
    public var permanentCertifiedEvent: EventID?
    public var invalidEvent: EventID?

    public init() {}

    /// Whether any registration of the blob ID remains (expired or not).
    public var isLive: Bool { permanentRegistered > 0 || !deletableObjects.isEmpty }

    /// Registered and not expired at `epoch`.
    public func isRegistered(at epoch: Epoch) -> Bool {
        !invalid && epoch < endEpoch && (permanentRegistered > 0 || !deletableObjects.isEmpty)
    }

    public func isCertified(at epoch: Epoch) -> Bool {
        !invalid && epoch < endEpoch && (permanentCertified > 0 || !deletableCertified.isEmpty)
    }

    public func encode(to w: inout BCSWriter) {
        w.write(permanentRegistered)
        w.write(permanentCertified)
        w.writeSequence(deletableObjects)
        w.writeSequence(deletableCertified)
        w.write(endEpoch)
        w.writeOption(initialCertifiedEpoch)
        w.write(invalid)
        w.writeOption(permanentRegisteredEvent)
        w.writeOption(permanentCertifiedEvent)
        w.writeOption(invalidEvent)
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        permanentRegistered = try r.readU32()
        permanentCertified = try r.readU32()
        deletableObjects = try r.readSequence(of: ObjectID.self, max: 100_000, minElementBytes: 32)
        deletableCertified = try r.readSequence(of: ObjectID.self, max: 100_000, minElementBytes: 32)
        endEpoch = try r.read(Epoch.self)
        initialCertifiedEpoch = try r.readOption(of: Epoch.self)
        invalid = try r.readBool()
        // Records written before the events were kept end here.
        guard r.remaining > 0 else { return }
        permanentRegisteredEvent = try r.readOption(of: EventID.self)
        permanentCertifiedEvent = try r.readOption(of: EventID.self)
        invalidEvent = try r.readOption(of: EventID.self)
    }

    /// The status Walrus's storage nodes report for this blob ID.
    public var status: BlobStatus {
        if invalid { return .invalid(event: invalidEvent) }
        let counts = DeletableCounts(total: UInt32(clamping: deletableObjects.count), certified: UInt32(clamping: deletableCertified.count))
        if permanentRegistered > 0 {
            return .permanent(
                endEpoch: endEpoch.rawValue, isCertified: permanentCertified > 0,
                statusEvent: permanentCertified > 0 ? permanentCertifiedEvent : permanentRegisteredEvent, deletableCounts: counts,
                initialCertifiedEpoch: initialCertifiedEpoch?.rawValue)
        }
        if !deletableObjects.isEmpty { return .deletable(initialCertifiedEpoch: initialCertifiedEpoch?.rawValue, deletableCounts: counts) }
        return .nonexistent
    }
}
