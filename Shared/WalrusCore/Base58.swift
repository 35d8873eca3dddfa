/// Base58 with the Bitcoin alphabet, as Sui writes transaction digests (a Walrus `EventID`'s
/// `txDigest`).
public enum Base58 {
    static let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)
    static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    public static func encode(_ bytes: [UInt8]) -> String {
        let zeros = bytes.prefix { $0 == 0 }.count
        // Base-58 digits, least significant first; 138/100 > log(256)/log(58).
        var digits = [UInt8](repeating: 0, count: (bytes.count - zeros) * 138 / 100 + 1)
        var length = 0
        for byte in bytes[zeros...] {
            var carry = Int(byte)
            var i = 0
            while i < length || carry != 0 {
                carry += 256 * Int(digits[i])
                digits[i] = UInt8(carry % 58)
                carry /= 58
                i += 1
            }
            length = i
        }
        var text = [UInt8](repeating: alphabet[0], count: zeros)
        text += digits[..<length].reversed().map { alphabet[Int($0)] }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes `text` encodes; nil for a character outside the alphabet or text longer than
    /// `bytesMax` bytes' worth.
    public static func decode(_ text: String, bytesMax: Int = 64) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count <= bytesMax * 138 / 100 + 1 else { return nil }
        let zeros = chars.prefix { $0 == alphabet[0] }.count
        var bytes = [UInt8](repeating: 0, count: chars.count)
        var length = 0
        for c in chars[zeros...] {
            guard c < 128, values[Int(c)] >= 0 else { return nil }
            var carry = Int(values[Int(c)])
            var i = 0
            while i < length || carry != 0 {
                carry += 58 * Int(bytes[i])
                bytes[i] = UInt8(carry & 0xff)
                carry >>= 8
                i += 1
            }
            length = i
        }
        return [UInt8](repeating: 0, count: zeros) + bytes[..<length].reversed()
    }
}
