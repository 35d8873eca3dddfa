/// A 32-byte identifier. Each conforming type is a distinct newtype so that a blob ID can never be
/// passed where an object ID is expected, although both are 32 bytes on the wire.
public protocol FixedBytes32: Hashable, Comparable, Sendable, BCSCodable, CustomStringConvertible {
    /// The 32 bytes, in wire order.
    var bytes: [UInt8] { get }
    /// Wraps exactly 32 bytes; callers check the count (see `init(bytes:)`).
    init(unchecked bytes: [UInt8])
    /// What the identifier is called in error messages ("blob ID", "address", ...).
    static var kindName: String { get }
}

extension FixedBytes32 {
    /// Wraps 32 bytes, or throws `invalidIdentifier` for any other count.
    public init(bytes: [UInt8]) throws(CoreError) {
        guard bytes.count == 32 else {
            throw CoreError(.invalidIdentifier, "a \(Self.kindName) has 32 bytes, got \(bytes.count)")
        }
        self.init(unchecked: bytes)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    public func encode(to writer: inout BCSWriter) { writer.writeFixed(bytes) }

    public init(from reader: inout BCSReader) throws(CoreError) {
        self.init(unchecked: try reader.readFixed(32))
    }

    /// The identifier as `0x` followed by 64 lower-case hex digits.
    public var hexString: String { "0x" + Hex.encode(bytes) }
}

/// Identifiers whose text form is `0x` + 64 hex digits (addresses, object and node IDs).
public protocol HexIdentifier: FixedBytes32, LosslessStringConvertible {}

extension HexIdentifier {
    public var description: String { hexString }

    /// Parses `0x` + 64 hex digits (the prefix is optional).
    public init(parsing text: String) throws(CoreError) {
        let bytes: [UInt8]
        do { bytes = try Hex.decode(text) } catch {
            throw CoreError(.invalidIdentifier, "not a valid \(Self.kindName) '\(text)': \(error.message)")
        }
        guard bytes.count == 32 else {
            throw CoreError(.invalidIdentifier, "a \(Self.kindName) is 0x and 64 hex digits, got \(bytes.count * 2) digits in '\(text)'")
        }
        self.init(unchecked: bytes)
    }

    public init?(_ description: String) { try? self.init(parsing: description) }
}

/// The content-derived identity of a blob: BLAKE2b-256 over its encoding type, length and the
/// Merkle root of its sliver-pair hashes (PROTOCOL.md §2.4). Shown as 43 characters of URL-safe
/// base64 without padding.
public struct BlobID: FixedBytes32, LosslessStringConvertible {
    public let bytes: [UInt8]
    public static let kindName = "blob ID"
    public init(unchecked bytes: [UInt8]) {
        precondition(bytes.count == 32, "a blob ID has 32 bytes")
        self.bytes = bytes
    }

    /// Parses the 43-character URL-safe base64 form, saying what is wrong when it does not parse.
    public init(parsing text: String) throws(CoreError) {
        let count = text.utf8.count
        guard count == 43 else {
            var hint = ""
            if count == 44, text.hasSuffix("=") { hint = " (remove the trailing '=' padding)" }
            if count == 66 || count == 64 { hint = " (that looks like a hex object ID; blob IDs are base64url)" }
            throw CoreError(.invalidIdentifier, "a blob ID has 43 base64url characters, got \(count)\(hint)")
        }
        let bytes: [UInt8]
        do { bytes = try Base64URL.decode(text) } catch {
            throw CoreError(.invalidIdentifier, "not a valid blob ID '\(text)': \(error.message)")
        }
        self.init(unchecked: bytes)
    }

    public init?(_ description: String) { try? self.init(parsing: description) }

    public var description: String { Base64URL.encode(bytes) }

    /// The blob ID as the big-endian 256-bit integer reduced modulo `n`: the rotation offset that
    /// maps sliver pairs to shards (PROTOCOL.md §1.6).
    public func rotationOffset(shardCount n: UInt16) -> UInt16 {
        precondition(n > 0, "the shard count is positive")
        var acc: UInt32 = 0
        for byte in bytes { acc = (acc << 8 | UInt32(byte)) % UInt32(n) }
        return UInt16(acc)
    }
}

/// An account address: BLAKE2b-256 of the account's x-only secp256k1 public key.
public struct Address: HexIdentifier {
    public let bytes: [UInt8]
    public static let kindName = "address"
    public init(unchecked bytes: [UInt8]) {
        precondition(bytes.count == 32, "an address has 32 bytes")
        self.bytes = bytes
    }
}

/// The ID of a ledger object (a storage resource, a blob registration, a staking pool, ...).
public struct ObjectID: HexIdentifier {
    public let bytes: [UInt8]
    public static let kindName = "object ID"
    public init(unchecked bytes: [UInt8]) {
        precondition(bytes.count == 32, "an object ID has 32 bytes")
        self.bytes = bytes
    }
}

/// The ID of a storage node (its staking pool's object ID).
public struct NodeID: HexIdentifier {
    public let bytes: [UInt8]
    public static let kindName = "node ID"
    public init(unchecked bytes: [UInt8]) {
        precondition(bytes.count == 32, "a node ID has 32 bytes")
        self.bytes = bytes
    }
}

// MARK: - JSON

/// An identifier written as text (`0x…` hex, or URL-safe base64 for a blob ID).
public protocol TextIdentifier: FixedBytes32 {
    init(parsing text: String) throws(CoreError)
}

/// Identifiers in JSON are their text form, as the reference's serde types write them; anything
/// else is refused when decoding.
extension TextIdentifier {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension BlobID: TextIdentifier, Codable {}
extension Address: TextIdentifier, Codable {}
extension ObjectID: TextIdentifier, Codable {}
extension NodeID: TextIdentifier, Codable {}
