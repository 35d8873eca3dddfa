import Foundation

/// An amount of WAL in FROST, its smallest unit (1 WAL = 10^9 FROST).
///
/// Arithmetic is checked: overflow or a negative result throws `amountOutOfRange` instead of
/// wrapping, so a balance can never silently become huge or negative.
public struct FROST: RawRepresentable, Hashable, Comparable, Sendable, BCSCodable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }

    /// FROST per WAL.
    public static let perWAL: UInt64 = 1_000_000_000
    public static let zero = FROST(0)

    /// `wal` whole WAL, or an error when that does not fit in 64 bits.
    public static func wal(_ wal: UInt64) throws(CoreError) -> FROST {
        try FROST(wal).multiplied(by: perWAL)
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// Parses an amount as people write it: `1.5WAL` or `2 WAL` in WAL (up to nine decimals), or
    /// a whole number of FROST.
    public init(parsing text: String) throws(CoreError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let invalid = CoreError(.amountOutOfRange, "'\(text)' is not an amount: write 1.5WAL, or a whole number of FROST")
        guard trimmed.uppercased().hasSuffix("WAL") else {
            guard let frost = UInt64(trimmed) else { throw invalid }
            self.init(frost)
            return
        }
        let number = trimmed.dropLast(3).trimmingCharacters(in: .whitespaces)
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard !number.isEmpty, number != ".", (1...2).contains(parts.count), let whole = UInt64(parts[0].isEmpty ? "0" : parts[0]),
            parts.count == 1 || (parts[1].count <= 9 && parts[1].allSatisfy(\.isASCII) && parts[1].allSatisfy(\.isNumber))
        else { throw invalid }
        let fraction = parts.count == 2 ? UInt64(parts[1].padding(toLength: 9, withPad: "0", startingAt: 0)) ?? 0 : 0
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: FROST.perWAL)
        guard !overflow, scaled <= UInt64.max - fraction else { throw CoreError(.amountOutOfRange, "'\(text)' is more WAL than exists") }
        self.init(scaled + fraction)
    }

    public func adding(_ other: FROST) throws(CoreError) -> FROST {
        let (sum, overflow) = rawValue.addingReportingOverflow(other.rawValue)
        guard !overflow else { throw CoreError(.amountOutOfRange, "\(self) + \(other) overflows 64 bits") }
        return FROST(sum)
    }

    public func subtracting(_ other: FROST) throws(CoreError) -> FROST {
        guard other.rawValue <= rawValue else {
            throw CoreError(.amountOutOfRange, "\(self) - \(other) would be negative")
        }
        return FROST(rawValue - other.rawValue)
    }

    public func multiplied(by factor: UInt64) throws(CoreError) -> FROST {
        let (product, overflow) = rawValue.multipliedReportingOverflow(by: factor)
        guard !overflow else { throw CoreError(.amountOutOfRange, "\(self) × \(factor) overflows 64 bits") }
        return FROST(product)
    }

    /// The text form, e.g. `1500000000 FROST (1.5 WAL)`.
    public var description: String { "\(rawValue) FROST (\(walString) WAL)" }

    /// The amount in WAL with up to nine decimals and no trailing zeros.
    public var walString: String {
        let whole = rawValue / FROST.perWAL
        var fraction = String(rawValue % FROST.perWAL)
        guard fraction != "0" else { return String(whole) }
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(whole).\(fraction)"
    }

    public func encode(to writer: inout BCSWriter) { writer.write(rawValue) }
    public init(from reader: inout BCSReader) throws(CoreError) { rawValue = try reader.readU64() }
}
