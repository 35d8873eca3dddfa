import Foundation
public import WalrusCore

/// One page of a state snapshot as validators serve it (`GET /v1/snapshots/{height}/state`): entries
/// of the ledger's state in key order (the state hash's own entry left out), and the key to ask
/// after for the next page (none on the last).
public struct StatePage: Hashable, Sendable, BCSCodable {
    public let entries: [Entry]
    public let next: [UInt8]?

    public struct Entry: Hashable, Sendable, BCSCodable {
        public let key: [UInt8]
        public let value: [UInt8]

        public init(key: [UInt8], value: [UInt8]) {
            self.key = key
            self.value = value
        }

        public func encode(to w: inout BCSWriter) {
            w.writeBytes(key)
            w.writeBytes(value)
        }

        public init(from r: inout BCSReader) throws(CoreError) {
            key = try r.readBytes(max: StatePage.keyBytesMax)
            value = try r.readBytes(max: StatePage.valueBytesMax)
        }
    }

    public static let keyBytesMax = 1024
    public static let valueBytesMax = 8 << 20
    /// A page holds at most this many bytes of entries (and always at least one entry).
    public static let bytesMax = 4 << 20
    public static let entriesMax = 100_000

    public init(entries: [Entry], next: [UInt8]?) {
        self.entries = entries
        self.next = next
    }

    public func encode(to w: inout BCSWriter) {
        w.writeSequence(entries)
        w.writeLength(next == nil ? 0 : 1)
        if let next { w.writeBytes(next) }
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        entries = try r.readSequence(of: Entry.self, max: StatePage.entriesMax, minElementBytes: 2)
        next = try r.readLength(max: 1) == 1 ? try r.readBytes(max: StatePage.keyBytesMax) : nil
    }
}

extension ChainClient {
    /// The heights of the state snapshots the RPC offers, newest first.
    public func snapshotHeights() async throws(ChainClientError) -> [UInt64] {
        let object = try await json("/v1/snapshots")
        let list = object["snapshots"] as? [[String: Any]] ?? []
        return list.compactMap { ($0["height"] as? NSNumber)?.uint64Value }.sorted(by: >)
    }

    /// A page of the snapshot at `height`, after key `after` (unverified: the caller checks the
    /// whole state against a verified header's state hash).
    public func statePage(height: UInt64, after: [UInt8]?) async throws(ChainClientError) -> StatePage {
        try await bcs(StatePage.self, "/v1/snapshots/\(height)/state" + (after.map { "?after=\(Hex.encode($0))" } ?? ""))
    }
}
