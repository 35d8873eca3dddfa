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
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        permanentRegistered = try r.readU32()
        permanentCertified = try r.readU32()
        deletableObjects = try r.readSequence(of: ObjectID.self, max: 100_000, minElementBytes: 32)
        deletableCertified = try r.readSequence(of: ObjectID.self, max: 100_000, minElementBytes: 32)
        endEpoch = try r.read(Epoch.self)
        initialCertifiedEpoch = try r.readOption(of: Epoch.self)
        invalid = try r.readBool()
    }
}
