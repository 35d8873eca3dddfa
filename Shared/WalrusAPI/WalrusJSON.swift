import Foundation

/// The one JSON writer and reader of the wire types: keys sorted (byte-stable output for tests and
/// caches), slashes unescaped.
public enum WalrusJSON {
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        // Every wire type encodes without failing: strings, integers, booleans and containers.
        return (try? encoder.encode(value)).map { Array($0) } ?? Array("null".utf8)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}
