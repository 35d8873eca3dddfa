/// BCS (Binary Canonical Serialization): little-endian integers, ULEB128 lengths and variant
/// indices, `0x00`/`0x01` options, fixed arrays without a length. Every value has exactly one
/// encoding, so decoders reject anything that is not that encoding.
public protocol BCSEncodable {
    func encode(to writer: inout BCSWriter)
}

/// A type that decodes from BCS. Decoders bound every length they read.
public protocol BCSDecodable {
    init(from reader: inout BCSReader) throws(CoreError)
}

public typealias BCSCodable = BCSEncodable & BCSDecodable

extension BCSEncodable {
    /// The BCS bytes of this value.
    public var bcsBytes: [UInt8] {
        var writer = BCSWriter()
        encode(to: &writer)
        return writer.bytes
    }
}

extension BCSDecodable {
    /// Decodes a value that must use all of `bytes`: trailing bytes are an error.
    public static func decode(bcs bytes: [UInt8]) throws(CoreError) -> Self {
        var reader = BCSReader(bytes)
        let value = try Self(from: &reader)
        try reader.finish()
        return value
    }
}

/// The largest length BCS allows for a sequence (Sui's `MAX_SEQUENCE_LENGTH`).
public let bcsMaxSequenceLength: UInt32 = (1 << 31) - 1

/// Appends BCS encodings to a byte buffer.
public struct BCSWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ value: UInt8) { bytes.append(value) }
    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }
    public mutating func write(_ value: UInt16) { appendLittleEndian(value) }
    public mutating func write(_ value: UInt32) { appendLittleEndian(value) }
    public mutating func write(_ value: UInt64) { appendLittleEndian(value) }

    private mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A ULEB128 length or variant index.
    public mutating func writeULEB128(_ value: UInt32) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// An enum variant index.
    public mutating func writeVariant(_ index: UInt32) { writeULEB128(index) }

    /// A sequence length.
    public mutating func writeLength(_ count: Int) {
        precondition(count >= 0 && count <= Int(bcsMaxSequenceLength), "BCS sequence length \(count) out of range")
        writeULEB128(UInt32(count))
    }

    /// Bytes as they are, without a length (a fixed-size array).
    public mutating func writeFixed<Bytes: Collection>(_ raw: Bytes) where Bytes.Element == UInt8 {
        bytes.append(contentsOf: raw)
    }

    /// `Vec<u8>`: a length and the bytes.
    public mutating func writeBytes<Bytes: Collection>(_ raw: Bytes) where Bytes.Element == UInt8 {
        writeLength(raw.count)
        bytes.append(contentsOf: raw)
    }

    /// A UTF-8 string: its bytes as `Vec<u8>`.
    public mutating func writeString(_ string: String) { writeBytes(Array(string.utf8)) }

    /// `Vec<T>`.
    public mutating func writeSequence<S: Collection>(_ elements: S) where S.Element: BCSEncodable {
        writeLength(elements.count)
        for element in elements { element.encode(to: &self) }
    }

    /// `Option<T>`.
    public mutating func writeOption<T: BCSEncodable>(_ value: T?) {
        if let value {
            bytes.append(1)
            value.encode(to: &self)
        } else {
            bytes.append(0)
        }
    }

    public mutating func write<T: BCSEncodable>(_ value: T) { value.encode(to: &self) }
}

/// Reads BCS from a byte buffer, rejecting anything non-canonical or out of bounds. A length read
/// from the input is checked against the caller's bound and against the bytes left before any
/// allocation, so a hostile length cannot make the reader allocate.
public struct BCSReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
    }

    /// Bytes not yet read.
    public var remaining: Int { bytes.count - offset }

    /// Ends decoding: any byte left over is an error.
    public func finish() throws(CoreError) {
        guard remaining == 0 else {
            throw CoreError(.malformedBCS, "\(remaining) trailing byte(s) after the value at offset \(offset)")
        }
    }

    private mutating func need(_ count: Int, _ what: String) throws(CoreError) {
        guard count <= remaining else {
            throw CoreError(.malformedBCS, "truncated: \(what) needs \(count) byte(s) at offset \(offset), \(remaining) left")
        }
    }

    public mutating func readU8() throws(CoreError) -> UInt8 {
        try need(1, "u8")
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func readBool() throws(CoreError) -> Bool {
        let at = offset
        switch try readU8() {
        case 0: return false
        case 1: return true
        case let other: throw CoreError(.malformedBCS, "bool byte \(other) at offset \(at) is not 0 or 1")
        }
    }

    public mutating func readU16() throws(CoreError) -> UInt16 { try readLittleEndian(UInt16.self) }
    public mutating func readU32() throws(CoreError) -> UInt32 { try readLittleEndian(UInt32.self) }
    public mutating func readU64() throws(CoreError) -> UInt64 { try readLittleEndian(UInt64.self) }

    private mutating func readLittleEndian<T: FixedWidthInteger>(_ type: T.Type) throws(CoreError) -> T {
        let size = MemoryLayout<T>.size
        try need(size, "\(T.self)")
        var value: T = 0
        for i in 0..<size { value |= T(bytes[offset + i]) << (8 * i) }
        offset += size
        return value
    }

    /// A canonical ULEB128 value that fits in 32 bits: no redundant trailing zero groups.
    public mutating func readULEB128() throws(CoreError) -> UInt32 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readU8()
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 {
                if byte == 0 && shift > 0 {
                    throw CoreError(.malformedBCS, "non-canonical ULEB128 at offset \(start) (redundant zero byte)")
                }
                break
            }
            shift += 7
            if shift > 28 {
                throw CoreError(.malformedBCS, "ULEB128 at offset \(start) is longer than 5 bytes")
            }
        }
        guard value <= UInt64(UInt32.max) else {
            throw CoreError(.malformedBCS, "ULEB128 at offset \(start) exceeds 32 bits")
        }
        return UInt32(value)
    }

    /// A sequence length, at most `max` and at most `bcsMaxSequenceLength`. `minElementBytes` is the
    /// smallest encoding of one element: a length that the remaining bytes cannot hold is rejected
    /// before anything is allocated.
    public mutating func readLength(max: Int, minElementBytes: Int = 1) throws(CoreError) -> Int {
        let start = offset
        let raw = try readULEB128()
        let length = Int(raw)
        guard raw <= bcsMaxSequenceLength else {
            throw CoreError(.malformedBCS, "length \(length) at offset \(start) exceeds the BCS maximum")
        }
        guard length <= max else {
            throw CoreError(.malformedBCS, "length \(length) at offset \(start) exceeds the limit of \(max)")
        }
        guard minElementBytes == 0 || length <= remaining / minElementBytes else {
            throw CoreError(.malformedBCS, "length \(length) at offset \(start) is more than the \(remaining) byte(s) left can hold")
        }
        return length
    }

    /// An enum variant index below `count`.
    public mutating func readVariant(count: UInt32) throws(CoreError) -> UInt32 {
        let start = offset
        let index = try readULEB128()
        guard index < count else {
            throw CoreError(.malformedBCS, "variant index \(index) at offset \(start) is not one of the \(count) variant(s)")
        }
        return index
    }

    /// `count` bytes without a length prefix.
    public mutating func readFixed(_ count: Int) throws(CoreError) -> [UInt8] {
        try need(count, "\(count)-byte array")
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// `Vec<u8>` of at most `max` bytes.
    public mutating func readBytes(max: Int) throws(CoreError) -> [UInt8] {
        let count = try readLength(max: max)
        return try readFixed(count)
    }

    /// A UTF-8 string of at most `max` bytes.
    public mutating func readString(max: Int) throws(CoreError) -> String {
        let start = offset
        let raw = try readBytes(max: max)
        guard let string = String(validating: raw, as: UTF8.self) else {
            throw CoreError(.malformedBCS, "string at offset \(start) is not valid UTF-8")
        }
        return string
    }

    /// `Vec<T>` of at most `max` elements, each at least `minElementBytes` bytes on the wire.
    public mutating func readSequence<T: BCSDecodable>(
        of type: T.Type, max: Int, minElementBytes: Int = 1
    ) throws(CoreError) -> [T] {
        let count = try readLength(max: max, minElementBytes: minElementBytes)
        var elements: [T] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try T(from: &self)) }
        return elements
    }

    /// `Option<T>`.
    public mutating func readOption<T: BCSDecodable>(of type: T.Type) throws(CoreError) -> T? {
        let start = offset
        switch try readU8() {
        case 0: return nil
        case 1: return try T(from: &self)
        case let tag: throw CoreError(.malformedBCS, "option tag \(tag) at offset \(start) is not 0 or 1")
        }
    }

    public mutating func read<T: BCSDecodable>(_ type: T.Type) throws(CoreError) -> T { try T(from: &self) }
}

extension UInt8: BCSCodable {
    public func encode(to writer: inout BCSWriter) { writer.write(self) }
    public init(from reader: inout BCSReader) throws(CoreError) { self = try reader.readU8() }
}

extension UInt16: BCSCodable {
    public func encode(to writer: inout BCSWriter) { writer.write(self) }
    public init(from reader: inout BCSReader) throws(CoreError) { self = try reader.readU16() }
}

extension UInt32: BCSCodable {
    public func encode(to writer: inout BCSWriter) { writer.write(self) }
    public init(from reader: inout BCSReader) throws(CoreError) { self = try reader.readU32() }
}

extension UInt64: BCSCodable {
    public func encode(to writer: inout BCSWriter) { writer.write(self) }
    public init(from reader: inout BCSReader) throws(CoreError) { self = try reader.readU64() }
}

extension Bool: BCSCodable {
    public func encode(to writer: inout BCSWriter) { writer.write(self) }
    public init(from reader: inout BCSReader) throws(CoreError) { self = try reader.readBool() }
}
