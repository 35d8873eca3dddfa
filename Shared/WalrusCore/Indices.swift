/// The index of a shard in `0..<n`. Shards are what the committee's storage nodes own.
public struct ShardIndex: RawRepresentable, Hashable, Comparable, Sendable, BCSCodable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ value: UInt16) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "shard \(rawValue)" }
    public func encode(to writer: inout BCSWriter) { writer.write(rawValue) }
    public init(from reader: inout BCSReader) throws(CoreError) { rawValue = try reader.readU16() }

    /// The sliver pair this shard stores for a blob with the given rotation offset (PROTOCOL.md §1.6).
    public func pairIndex(rotationOffset: UInt16, shardCount n: UInt16) -> SliverPairIndex {
        precondition(rawValue < n && rotationOffset < n, "shard and offset are below the shard count")
        return SliverPairIndex((UInt32(n) + UInt32(rawValue) - UInt32(rotationOffset)) % UInt32(n))
    }
}

/// The index of a sliver pair in `0..<n`: pair `p` holds primary sliver `p` and secondary sliver
/// `n-1-p`. REST paths name slivers by pair index.
public struct SliverPairIndex: RawRepresentable, Hashable, Comparable, Sendable, BCSCodable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ value: UInt16) { self.rawValue = value }
    init(_ value: UInt32) { self.rawValue = UInt16(value) }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "pair \(rawValue)" }
    public func encode(to writer: inout BCSWriter) { writer.write(rawValue) }
    public init(from reader: inout BCSReader) throws(CoreError) { rawValue = try reader.readU16() }

    /// The index of this pair's primary sliver: the pair index itself.
    public var primarySliverIndex: SliverIndex { SliverIndex(rawValue) }

    /// The index of this pair's secondary sliver: `n - 1 - p`.
    public func secondarySliverIndex(shardCount n: UInt16) -> SliverIndex {
        precondition(rawValue < n, "pair index is below the shard count")
        return SliverIndex(n - 1 - rawValue)
    }

    /// The shard that stores this pair for a blob with the given rotation offset.
    public func shardIndex(rotationOffset: UInt16, shardCount n: UInt16) -> ShardIndex {
        precondition(rawValue < n && rotationOffset < n, "pair and offset are below the shard count")
        return ShardIndex(UInt16((UInt32(rawValue) + UInt32(rotationOffset)) % UInt32(n)))
    }
}

/// The index of a sliver along one axis, `0..<n`: a row of the expanded matrix for a primary
/// sliver, a column for a secondary one.
public struct SliverIndex: RawRepresentable, Hashable, Comparable, Sendable, BCSCodable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ value: UInt16) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "sliver \(rawValue)" }
    public func encode(to writer: inout BCSWriter) { writer.write(rawValue) }
    public init(from reader: inout BCSReader) throws(CoreError) { rawValue = try reader.readU16() }

    /// The pair holding this sliver on the given axis: `i` for primary, `n-1-i` for secondary.
    public func pairIndex(axis: SliverAxis, shardCount n: UInt16) -> SliverPairIndex {
        precondition(rawValue < n, "sliver index is below the shard count")
        switch axis {
        case .primary: return SliverPairIndex(rawValue)
        case .secondary: return SliverPairIndex(n - 1 - rawValue)
        }
    }
}

/// The two axes of the Red Stuff expanded matrix. Primary slivers are rows, secondary are columns.
public enum SliverAxis: UInt8, Hashable, Sendable, CaseIterable, BCSCodable, CustomStringConvertible {
    case primary = 0
    case secondary = 1

    /// The other axis.
    public var orthogonal: SliverAxis { self == .primary ? .secondary : .primary }
    public var description: String { self == .primary ? "primary" : "secondary" }

    public func encode(to writer: inout BCSWriter) { writer.writeVariant(UInt32(rawValue)) }
    public init(from reader: inout BCSReader) throws(CoreError) {
        let variant = try reader.readVariant(count: 2)
        self = variant == 0 ? .primary : .secondary
    }
}

/// A storage epoch. Chain time is heights and rounds; storage time is epochs.
public struct Epoch: RawRepresentable, Hashable, Comparable, Sendable, BCSCodable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "epoch \(rawValue)" }
    public func encode(to writer: inout BCSWriter) { writer.write(rawValue) }
    public init(from reader: inout BCSReader) throws(CoreError) { rawValue = try reader.readU32() }

    /// The epoch `count` epochs later, or an error past the end of the 32-bit range.
    public func adding(_ count: UInt32) throws(CoreError) -> Epoch {
        let (sum, overflow) = rawValue.addingReportingOverflow(count)
        guard !overflow else { throw CoreError(.limitExceeded, "epoch \(rawValue) + \(count) is beyond the last epoch") }
        return Epoch(sum)
    }
}
