public import WalrusCore

/// Deletable registrations of a blob ID: all live ones, and the certified ones among them. The
/// inner names stay snake_case, as Walrus writes them.
public struct DeletableCounts: Codable, Hashable, Sendable {
    public let countDeletableTotal: UInt32
    public let countDeletableCertified: UInt32

    public init(total: UInt32, certified: UInt32) {
        countDeletableTotal = total
        countDeletableCertified = certified
    }

    enum CodingKeys: String, CodingKey {
        case countDeletableTotal = "count_deletable_total"
        case countDeletableCertified = "count_deletable_certified"
    }
}

/// A blob ID's status as a storage node reports it (`GET /v1/blobs/{id}/status`) and
/// `walrus blob-status` prints it: Walrus's `BlobStatus`, externally tagged, fields camelCase.
public enum BlobStatus: Hashable, Sendable {
    case nonexistent
    /// Found inconsistently encoded; `event` is the invalidation (nil where it was not kept).
    case invalid(event: EventID?)
    /// At least one permanent registration: the latest end epoch, whether one is certified, and
    /// the event of that status (nil where it was not kept).
    case permanent(endEpoch: UInt32, isCertified: Bool, statusEvent: EventID?, deletableCounts: DeletableCounts, initialCertifiedEpoch: UInt32?)
    /// Only deletable registrations.
    case deletable(initialCertifiedEpoch: UInt32?, deletableCounts: DeletableCounts)
}

extension BlobStatus: Codable {
    private enum Variant: String, CodingKey { case invalid, permanent, deletable }
    private enum Fields: String, CodingKey { case event, endEpoch, isCertified, statusEvent, deletableCounts, initialCertifiedEpoch }

    public init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            guard text == "nonexistent" else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown blob status '\(text)'"))
            }
            self = .nonexistent
            return
        }
        let outer = try decoder.container(keyedBy: Variant.self)
        guard outer.allKeys.count == 1, let variant = outer.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a blob status has exactly one variant key"))
        }
        let c = try outer.nestedContainer(keyedBy: Fields.self, forKey: variant)
        switch variant {
        case .invalid: self = .invalid(event: try c.decodeIfPresent(EventID.self, forKey: .event))
        case .permanent:
            self = .permanent(
                endEpoch: try c.decode(UInt32.self, forKey: .endEpoch), isCertified: try c.decode(Bool.self, forKey: .isCertified),
                statusEvent: try c.decodeIfPresent(EventID.self, forKey: .statusEvent), deletableCounts: try c.decode(DeletableCounts.self, forKey: .deletableCounts),
                initialCertifiedEpoch: try c.decodeIfPresent(UInt32.self, forKey: .initialCertifiedEpoch))
        case .deletable:
            self = .deletable(
                initialCertifiedEpoch: try c.decodeIfPresent(UInt32.self, forKey: .initialCertifiedEpoch),
                deletableCounts: try c.decode(DeletableCounts.self, forKey: .deletableCounts))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .nonexistent:
            var c = encoder.singleValueContainer()
            try c.encode("nonexistent")
        case .invalid(let event):
            var outer = encoder.container(keyedBy: Variant.self)
            var c = outer.nestedContainer(keyedBy: Fields.self, forKey: .invalid)
            try c.encode(event, forKey: .event)
        case let .permanent(endEpoch, isCertified, statusEvent, counts, initial):
            var outer = encoder.container(keyedBy: Variant.self)
            var c = outer.nestedContainer(keyedBy: Fields.self, forKey: .permanent)
            try c.encode(endEpoch, forKey: .endEpoch)
            try c.encode(isCertified, forKey: .isCertified)
            try c.encode(statusEvent, forKey: .statusEvent)
            try c.encode(counts, forKey: .deletableCounts)
            try c.encode(initial, forKey: .initialCertifiedEpoch)
        case let .deletable(initial, counts):
            var outer = encoder.container(keyedBy: Variant.self)
            var c = outer.nestedContainer(keyedBy: Fields.self, forKey: .deletable)
            try c.encode(initial, forKey: .initialCertifiedEpoch)
            try c.encode(counts, forKey: .deletableCounts)
        }
    }
}

extension EventID: BCSCodable {
    /// BCS: the 32-byte digest, then the sequence as a u64 (how nodes store it).
    public func encode(to w: inout BCSWriter) {
        w.writeFixed(transactionDigest ?? [UInt8](repeating: 0, count: 32))
        w.write(sequence ?? 0)
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        self.init(transactionDigest: try r.readFixed(32), sequence: try r.readU64())
    }
}

/// A storage node's success body: `{"success":{"code":<http>,"data":…}}`.
public struct NodeSuccess<T: Codable & Sendable>: Codable, Sendable {
    public let success: Body

    public struct Body: Codable, Sendable {
        public let code: Int
        public let data: T
    }

    public init(code: Int, data: T) { success = Body(code: code, data: data) }
}
